"""All memory reads and writes; one transaction per call, so a failure never half-writes.

Writes lock the user first (see aura.memory.statements), so for one user they happen one
after another: an erasure cannot be undone by a save racing it, and a conditional write
(``expected_version``) compares and writes with nothing in between.
"""

from __future__ import annotations

from collections.abc import Callable

from flask import current_app
from sqlalchemy import bindparam, delete, func, select, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import scoped_session

from aura import events
from aura.database import single_statement, transaction
from aura.extensions import db
from aura.memory import statements
from aura.memory.metrics import MEMORY_SAVES
from aura.memory.types import (
    FRONTEND,
    Actor,
    Memory,
    MemoryDisabled,
    Page,
    RevisionNotFound,
    RevisionSource,
    Unchanged,
    VersionConflict,
)
from aura.models import (
    AuditEvent,
    ConsolidationState,
    ConversationTurn,
    MemoryProposal,
    MemoryRevision,
    User,
    UserMemory,
    utcnow,
)


def audit(
    user_id: int, action: str, actor: Actor, detail: str | None = None, staff_only: bool = True
) -> None:
    """Record an action in the caller's transaction: staff actions, or with ``staff_only`` false,
    anyone's (frontend saves are not audited here: the revisions record them)."""
    if actor.staff_id is not None or not staff_only:
        db.session.add(
            AuditEvent(
                user_id=user_id, action=action, staff_id=actor.staff_id, actor=actor.label, detail=detail
            )
        )


def _new_write(
    user_id: int, content: str, source: RevisionSource, actor: Actor, details: dict | None = None
) -> statements.Write:
    return statements.Write(
        user_id=user_id,
        content=content,
        source=str(source),
        actor=actor.label,
        staff_id=actor.staff_id,
        now=utcnow(),
        max_revisions=current_app.config["AURA_MAX_REVISIONS"],
        details=details,
    )


def _memory(user_id: int, content: str, row) -> Memory:
    return Memory(user_id, content, version=row.version, created_at=row.created_at, updated_at=row.updated_at)


def memory_from_row(user_id: int, row) -> Memory | None:
    """A Memory from a (content, version, created_at, updated_at) row, or None for no row."""
    return None if row is None else _memory(user_id, row.content, row)


# Built once: constructing the expression per call cost more than compiling it (cached).
_MEMORY_COLUMNS = (UserMemory.content, UserMemory.version, UserMemory.created_at, UserMemory.updated_at)
GET_MEMORY = select(*_MEMORY_COLUMNS).where(UserMemory.user_id == bindparam("user_id"))
_GET_MEMORY_IF_ENABLED = (
    select(*_MEMORY_COLUMNS)
    .join(User, User.id == UserMemory.user_id)
    .where(UserMemory.user_id == bindparam("user_id"), User.memory_enabled)
)


def _current_in_session(user_id: int) -> Memory | None:
    return memory_from_row(user_id, db.session.execute(GET_MEMORY, {"user_id": user_id}).one_or_none())


def _lock_for_write(user_id: int, expected_version: int | None, new_content: str | None = None):
    """Lock the user, check the switch and the precondition (0: no memory), and with
    ``new_content`` whether the memory already holds it (Unchanged);
    the (version, revision number) to write."""
    state = statements.lock_user(db.session, user_id, utcnow())
    if not state.memory_enabled:
        raise MemoryDisabled(user_id)
    if expected_version is not None or new_content is not None:
        current = _current_in_session(user_id)  # read after the lock: nobody can change it now
        if expected_version is not None and (current.version if current else 0) != expected_version:
            raise VersionConflict(expected_version, current)
        if current is not None and current.content == new_content:
            raise Unchanged(current)  # inside the transaction: it undoes the lock's bump
    return state.memory_version, state.revision_count


def save_memory(
    user_id: int,
    content: str,
    source: RevisionSource = RevisionSource.FRONTEND,
    actor: Actor = FRONTEND,
    expected_version: int | None = None,
    details: dict | None = None,
    after_write: Callable[[scoped_session], None] | None = None,
) -> Memory:
    """Create or replace a user's memory, log the revision and prune old ones, atomically.

    Raises MemoryDisabled while the user's memory is off, and VersionConflict when
    ``expected_version`` is given and the memory is no longer at it (nothing is written).
    ``details`` (provenance) is kept with the revision. ``after_write`` runs in the same
    transaction, the user still locked: what it records commits with the memory, and what it
    raises undoes the save. Saving the text the memory already holds changes nothing and
    answers the memory as it is (idempotent, like a PUT).
    """
    write = _new_write(user_id, content, source, actor, details)
    hot_path = actor.staff_id is None and expected_version is None and details is None and after_write is None
    # With a subscriber to memory events (webhooks), the save also runs it in its transaction.
    if hot_path and db.engine.dialect.name == "postgresql" and not events.subscribed():
        # The hot path (every frontend regeneration): one atomic statement, one round trip.
        with single_statement(db.engine) as conn:
            row = statements.save_in_one_statement(conn, write)
        if row is not None:
            MEMORY_SAVES.labels(str(source)).inc()
            return _memory(user_id, content, row)
        # Nothing written: memory is off, or it holds this text already. The locked path says which.
    try:
        return _save_locked(write, source, actor, expected_version, after_write)
    except Unchanged as same:
        return same.memory


def _save_locked(
    write: statements.Write,
    source: RevisionSource,
    actor: Actor,
    expected_version: int | None,
    after_write: Callable[[scoped_session], None] | None,
) -> Memory:
    user_id, content = write.user_id, write.content
    with transaction() as session:
        version, number = _lock_for_write(user_id, expected_version, new_content=content)
        row = statements.write_memory(session, write, version, number)
        audit(user_id, "edit", actor, f"{len(content):,} characters")
        events.announce(session, events.MemoryEvent(events.UPDATED, user_id, row.version, str(source)))
        if after_write is not None:
            after_write(session)
    MEMORY_SAVES.labels(str(source)).inc()
    return _memory(user_id, content, row)


def restore_revision(
    user_id: int, revision_id: int, actor: Actor, expected_version: int | None = None
) -> Memory:
    """Make an earlier revision current again (itself recorded as a new `restore` revision)."""
    with transaction() as session:
        version, number = _lock_for_write(user_id, expected_version)
        revision = _revision_of(user_id, revision_id)  # read under the lock: an erasure may have won
        content = revision.content
        row = statements.write_memory(
            session, _new_write(user_id, content, RevisionSource.RESTORE, actor), version, number
        )
        audit(user_id, "restore", actor, f"revision {revision.number}")
        events.announce(
            session, events.MemoryEvent(events.UPDATED, user_id, row.version, str(RevisionSource.RESTORE))
        )
    MEMORY_SAVES.labels(str(RevisionSource.RESTORE)).inc()
    return _memory(user_id, content, row)


def _read_memory(statement, user_id: int) -> Memory | None:
    """One SELECT on its own autocommit connection, outside the request's session.

    No BEGIN before the query and no ROLLBACK after it, and no ping before it: one round
    trip. A pooled connection the server dropped meanwhile (a restart, a failover) fails it;
    SQLAlchemy then discards the pool's old connections, and a read is safe to run again.
    """
    for attempt in (1, 2):
        try:
            with single_statement(db.engine) as conn:
                return memory_from_row(user_id, conn.execute(statement, {"user_id": user_id}).one_or_none())
        except DBAPIError as error:
            if attempt == 2 or not error.connection_invalidated:
                raise
    raise AssertionError("unreachable")


def get_memory(user_id: int) -> Memory | None:
    """The current memory, switched on or not (the hot path of every GET)."""
    return _read_memory(GET_MEMORY, user_id)


def get_memory_for_chat(user_id: int) -> Memory | None:
    """The memory a chat turn may use: None when there is none or the user switched memory off."""
    return _read_memory(_GET_MEMORY_IF_ENABLED, user_id)


def delete_memory(user_id: int, actor: Actor = FRONTEND, keep_history: bool = False) -> bool:
    """Delete the current memory; unless ``keep_history``, erase every revision and recorded chat
    turn too (erasure).

    Locks the user first, so no save can slip between the two deletes: afterwards either
    nothing of the memory remains, or a save that came later is there in full. Allowed
    while memory is switched off. Returns True if there was anything to delete.
    """
    with transaction() as session:
        locked = statements.lock_user(session, user_id, utcnow(), adds_revision=False)
        deleted = session.execute(delete(UserMemory).where(UserMemory.user_id == user_id)).rowcount
        # A pending proposal was made from the memory that is going: it goes too.
        deleted += session.execute(delete(MemoryProposal).where(MemoryProposal.user_id == user_id)).rowcount
        if not keep_history:
            deleted += session.execute(
                delete(MemoryRevision).where(MemoryRevision.user_id == user_id)
            ).rowcount
            # The recorded conversations the memory was learned from go with it, and with them
            # any consolidation still due: a queued or running job finds nothing and does nothing.
            deleted += session.execute(
                delete(ConversationTurn).where(ConversationTurn.user_id == user_id)
            ).rowcount
            session.execute(delete(ConsolidationState).where(ConsolidationState.user_id == user_id))
            # Not even how many texts there were survives an erasure: numbering starts over.
            session.execute(update(User).where(User.id == user_id).values(revision_count=0))
        audit(user_id, "delete" if keep_history else "erase", actor)
        if deleted:
            kind = "delete" if keep_history else "erasure"
            events.announce(session, events.MemoryEvent(events.DELETED, user_id, locked.memory_version, kind))
    return bool(deleted)


def list_revisions(user_id: int, page: int = 1, per_page: int = 20) -> Page:
    """A user's revisions, newest first."""
    total = db.session.scalar(
        select(func.count()).select_from(MemoryRevision).where(MemoryRevision.user_id == user_id)
    )
    items = db.session.scalars(
        select(MemoryRevision)
        .where(MemoryRevision.user_id == user_id)
        .order_by(MemoryRevision.id.desc())
        .limit(per_page)
        .offset((page - 1) * per_page)
    ).all()
    return Page(items=list(items), page=page, per_page=per_page, total=total or 0)


def user_known(user_id: int) -> bool:
    """Whether AURA has ever stored anything for this id (a save, a setting, an erasure)."""
    return db.session.get(User, user_id) is not None


def _revision_of(user_id: int, revision_id: int) -> MemoryRevision:
    """This user's revision, else RevisionNotFound (another user's id is not found either)."""
    revision = db.session.scalar(
        select(MemoryRevision).where(MemoryRevision.id == revision_id, MemoryRevision.user_id == user_id)
    )
    if revision is None:
        raise RevisionNotFound(revision_id)
    return revision


def revision_with_previous(user_id: int, revision_id: int) -> tuple[MemoryRevision, MemoryRevision | None]:
    """A revision of this user and the one written just before it (None for the first kept)."""
    revision = _revision_of(user_id, revision_id)
    previous = db.session.scalar(
        select(MemoryRevision)
        .where(MemoryRevision.user_id == user_id, MemoryRevision.id < revision_id)
        .order_by(MemoryRevision.id.desc())
        .limit(1)
    )
    return revision, previous


def list_audit_events(user_id: int, limit: int = 50) -> list[AuditEvent]:
    """Staff actions on a user's memory, newest first."""
    return list(
        db.session.scalars(
            select(AuditEvent)
            .where(AuditEvent.user_id == user_id)
            .order_by(AuditEvent.id.desc())
            .limit(limit)
        )
    )
