"""The SQL behind every memory change, built once per dialect with bound parameters.

Every change to a user's memory first *locks the user*: an INSERT .. ON CONFLICT DO UPDATE
on the user's row in ``users`` (created if missing) that bumps ``memory_version``. Each
writer of that user then waits for the one before it to commit, which is what makes an
erasure final: a save either committed before the erasure took the lock (and is erased
with everything else), or it waits and writes its memory *and* its revision afterwards.
SQLite serializes all writers anyway; PostgreSQL needs the row lock.

A frontend save on PostgreSQL runs as one statement (data-modifying CTEs, atomic on
their own: one round trip). Everything else runs step by step in the caller's
transaction, on both databases.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import cache

from sqlalchemy import (
    BigInteger,
    Insert,
    Integer,
    Select,
    String,
    Text,
    and_,
    bindparam,
    delete,
    exists,
    select,
    true,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Row
from sqlalchemy.orm import Session

from aura.models import ConversationTurn, JsonDocument, MemoryRevision, User, UserMemory, UTCDateTime

# A user's recorded chat turns, read by conversations (list) and the data export alike.
TURN_COLUMNS = (
    ConversationTurn.id,
    ConversationTurn.conversation_id,
    ConversationTurn.message,
    ConversationTurn.reply,
    ConversationTurn.created_at,
)
TURNS_OLDEST_FIRST = (
    select(*TURN_COLUMNS)
    .where(ConversationTurn.user_id == bindparam("user_id"))
    .order_by(ConversationTurn.id)
)


@dataclass(frozen=True)
class Write:
    """The parameters of one save (names match the statements' bound parameters)."""

    user_id: int
    content: str
    source: str
    actor: str | None
    staff_id: int | None
    now: datetime
    max_revisions: int
    # Provenance of a text AURA wrote itself (a consolidation); written by the step-by-step path.
    details: dict | None = None

    def params(self, **extra: object) -> dict:
        """The bound parameters (dataclasses.asdict would deep-copy each value: 5% of a save's CPU)."""
        return {**vars(self), **extra}


_P = {
    "user_id": bindparam("user_id", type_=BigInteger),
    "content": bindparam("content", type_=Text),
    "source": bindparam("source", type_=String),
    "actor": bindparam("actor", type_=String),
    "staff_id": bindparam("staff_id", type_=Integer),
    "now": bindparam("now", type_=UTCDateTime()),
    "version": bindparam("version", type_=Integer),
    "number": bindparam("number", type_=Integer),
    "keep_older": bindparam("keep_older", type_=Integer),
    "details": bindparam("details", type_=JsonDocument),
}
_REVISION_COLUMNS = ["user_id", "content", "source", "actor", "staff_id", "created_at", "number"]
_REVISION_VALUES = [_P["user_id"], _P["content"], _P["source"], _P["actor"], _P["staff_id"], _P["now"]]
_INSERTS = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}


def _insert_for(dialect: str):
    try:
        return _INSERTS[dialect]
    except KeyError:
        raise RuntimeError(f"unsupported database dialect {dialect!r}") from None


@cache
def _lock_user(
    dialect: str, only_if_enabled: bool = False, adds_revision: bool = True, unless_same_text: bool = False
) -> Insert:
    """Create-or-lock the user's row and bump its version (and, for a write that adds a revision,
    its revision count), RETURNING (memory_enabled, memory_version, revision_count).

    With ``only_if_enabled`` a switched-off user's row is locked but not bumped, and no row
    comes back: the single-statement save then writes nothing. ``unless_same_text`` does the
    same when the memory already holds :content (saving it again changes nothing).
    """
    stmt = _insert_for(dialect)(User).values(
        id=_P["user_id"],
        created_at=_P["now"],
        memory_enabled=True,
        memory_version=1,
        revision_count=1 if adds_revision else 0,
    )
    bumps = {"memory_version": User.memory_version + 1}
    if adds_revision:
        bumps["revision_count"] = User.revision_count + 1
    conditions = [User.memory_enabled] if only_if_enabled else []
    if unless_same_text:
        same = select(UserMemory.user_id).where(
            UserMemory.user_id == _P["user_id"], UserMemory.content == _P["content"]
        )
        conditions.append(~exists(same))
    stmt = stmt.on_conflict_do_update(
        index_elements=["id"], set_=bumps, where=and_(*conditions) if conditions else None
    )
    return stmt.returning(User.memory_enabled, User.memory_version, User.revision_count)


def _replace_on_conflict(memory: Insert) -> Insert:
    """Turn an INSERT into user_memories into the upsert: one row per user, replaced on a new save."""
    return memory.on_conflict_do_update(
        index_elements=["user_id"],
        set_={
            "content": memory.excluded.content,
            "version": memory.excluded.version,
            "updated_at": memory.excluded.updated_at,
        },
    ).returning(UserMemory.created_at, UserMemory.updated_at, UserMemory.version)


_MEMORY_COLUMNS = ["user_id", "content", "version", "created_at", "updated_at"]


def _prune_revisions():
    """Delete the user's revisions older than the newest ``keep_older`` ones it can see."""
    cutoff = (
        select(MemoryRevision.id)
        .where(MemoryRevision.user_id == _P["user_id"])
        .order_by(MemoryRevision.id.desc())
        .offset(_P["keep_older"])
        .limit(1)
        .scalar_subquery()
    )
    return delete(MemoryRevision).where(MemoryRevision.user_id == _P["user_id"], MemoryRevision.id <= cutoff)


@cache
def _statements(dialect: str):
    revision = _insert_for(dialect)(MemoryRevision).values(
        dict(
            zip(
                [*_REVISION_COLUMNS, "details"],
                [*_REVISION_VALUES, _P["number"], _P["details"]],
                strict=True,
            )
        )
    )
    memory = _insert_for(dialect)(UserMemory).values(
        dict(
            zip(
                _MEMORY_COLUMNS,
                [_P["user_id"], _P["content"], _P["version"], _P["now"], _P["now"]],
                strict=True,
            )
        )
    )
    return _replace_on_conflict(memory), revision, _prune_revisions()


@cache
def _one_statement() -> Select:
    """PostgreSQL: lock the user, upsert, append the revision and prune, as one statement.

    Each step selects from the one before, so they run in order: the memory is written only
    after the user's row is locked (and only if memory is on), the revision is inserted from
    the upsert's RETURNING row, and pruning runs only if something was saved. The statement
    cannot see its own new revision, so it keeps ``max_revisions - 1`` older ones.
    """
    locked = _lock_user("postgresql", only_if_enabled=True, unless_same_text=True).cte("locked_user")
    saved = _replace_on_conflict(
        postgresql.insert(UserMemory).from_select(
            _MEMORY_COLUMNS,
            select(_P["user_id"], _P["content"], locked.c.memory_version, _P["now"], _P["now"]),
        )
    ).cte("saved_memory")
    revision = postgresql.insert(MemoryRevision).from_select(
        _REVISION_COLUMNS,
        # Both are one-row CTEs: the join pairs the saved memory with the user's new revision count.
        select(*_REVISION_VALUES, locked.c.revision_count).select_from(saved.join(locked, true())),
    )
    prune = _prune_revisions().where(exists(select(saved.c.version)))
    return select(saved.c.created_at, saved.c.updated_at, saved.c.version).add_cte(
        locked, revision.cte("new_revision"), prune.cte("pruned")
    )


def save_in_one_statement(conn: Connection, write: Write) -> Row | None:
    """PostgreSQL frontend save; (created_at, updated_at, version), or None when nothing was
    written: memory is off, or it already holds this text."""
    params = write.params(keep_older=write.max_revisions - 1)
    return conn.execute(_one_statement(), params).one_or_none()


def lock_user(session: Session, user_id: int, now: datetime, adds_revision: bool = True) -> Row:
    """Lock the user's row for the rest of the caller's transaction;
    (memory_enabled, memory_version, revision_count), the counts already bumped for this write."""
    lock = _lock_user(session.get_bind().dialect.name, adds_revision=adds_revision)
    return session.execute(lock, {"user_id": user_id, "now": now}).one()


def write_memory(session: Session, write: Write, version: int, number: int) -> Row:
    """Upsert, revision number ``number`` and pruning in the caller's transaction (after lock_user)."""
    memory, revision, prune = _statements(session.get_bind().dialect.name)
    params = write.params(version=version, number=number, keep_older=write.max_revisions)
    saved = session.execute(memory, params).one()
    session.execute(revision, params)
    session.execute(prune, params)
    return saved


@cache
def _hold_user(dialect: str) -> Insert:
    stmt = _insert_for(dialect)(User).values(
        id=_P["user_id"], created_at=_P["now"], memory_enabled=True, memory_version=0, revision_count=0
    )
    # An update that changes nothing, so the existing row is locked and returned.
    stmt = stmt.on_conflict_do_update(index_elements=["id"], set_={"memory_enabled": User.memory_enabled})
    return stmt.returning(User.memory_enabled)


def hold_user(session: Session, user_id: int, now: datetime) -> bool:
    """Create-or-lock the user's row without changing the memory's version (for writes that are
    not the memory, e.g. a recorded chat turn: they too must wait for an erasure); memory on?"""
    return session.execute(
        _hold_user(session.get_bind().dialect.name), {"user_id": user_id, "now": now}
    ).scalar_one()


def set_memory_settings(
    session: Session, user_id: int, enabled: bool, consolidation: str | None, now: datetime
) -> None:
    """Set the switch (and, unless None, the consolidation mode), creating the user's row if
    needed (a new user starts with no memory: version 0)."""
    values = {"id": user_id, "created_at": now, "memory_enabled": enabled, "memory_version": 0}
    if consolidation is not None:
        values["consolidation_mode"] = consolidation
    stmt = _insert_for(session.get_bind().dialect.name)(User).values(values)
    updates = {"memory_enabled": stmt.excluded.memory_enabled}
    if consolidation is not None:
        updates["consolidation_mode"] = stmt.excluded.consolidation_mode
    session.execute(stmt.on_conflict_do_update(index_elements=["id"], set_=updates))
