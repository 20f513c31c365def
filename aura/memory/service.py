"""All memory reads and writes; one transaction per call, so a failure never half-writes."""

from __future__ import annotations

import enum
import math
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, delete, func, select
from sqlalchemy.orm import scoped_session

from aura.extensions import db
from aura.memory import upsert
from aura.models import AuditEvent, MemoryRevision, UserMemory, utcnow


class RevisionSource(enum.StrEnum):
    """Who wrote a revision: the frontend's regeneration, a staff edit, or a staff restore."""

    FRONTEND = "frontend"
    STAFF = "staff"
    RESTORE = "restore"


@dataclass(frozen=True)
class Actor:
    """Who is writing: a label for display (token name, staff email) and the staff id if staff."""

    label: str | None = None
    staff_id: int | None = None


FRONTEND = Actor()


@dataclass(frozen=True)
class Memory:
    """A memory as callers see it, detached from the ORM session."""

    user_id: int
    content: str
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class Page:
    items: list
    page: int
    per_page: int
    total: int

    @property
    def pages(self) -> int:
        return math.ceil(self.total / self.per_page) if self.total else 0


class RevisionNotFound(LookupError):
    """The revision does not exist, or belongs to another user."""


@contextmanager
def _transaction() -> Iterator[scoped_session]:
    """Commit everything done inside, or nothing: one transaction per service call."""
    try:
        yield db.session
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise


def _audit(user_id: int, action: str, actor: Actor, detail: str | None = None) -> None:
    """Record a staff action in the caller's transaction (frontend saves are not audited here)."""
    if actor.staff_id is not None:
        db.session.add(
            AuditEvent(
                user_id=user_id, action=action, staff_id=actor.staff_id, actor=actor.label, detail=detail
            )
        )


def _write(user_id: int, content: str, source: RevisionSource, actor: Actor) -> Memory:
    """The upsert and its revision in the current session transaction (the caller commits)."""
    write = upsert.Write(user_id, content, str(source), actor.label, actor.staff_id, utcnow())
    created_at, updated_at = upsert.in_session(db.session, write)
    return Memory(user_id=user_id, content=content, created_at=created_at, updated_at=updated_at)


def save_memory(
    user_id: int, content: str, source: RevisionSource = RevisionSource.FRONTEND, actor: Actor = FRONTEND
) -> Memory:
    """Create or replace a user's memory and log the revision, atomically.

    INSERT .. ON CONFLICT (user_id) DO UPDATE, never read-then-write: concurrent savers for
    one user each succeed, leaving one row and one revision per save.
    """
    if actor.staff_id is None and db.engine.dialect.name == "postgresql":
        # The hot path (every frontend regeneration): one atomic statement, one round trip.
        write = upsert.Write(user_id, content, str(source), actor.label, None, utcnow())
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            created_at, updated_at = upsert.one_statement(conn, write)
        return Memory(user_id=user_id, content=content, created_at=created_at, updated_at=updated_at)
    with _transaction():
        memory = _write(user_id, content, source, actor)
        _audit(user_id, "edit", actor, f"{len(content):,} characters")
    return memory


def restore_revision(user_id: int, revision_id: int, actor: Actor) -> Memory:
    """Make an earlier revision current again (itself recorded as a new `restore` revision)."""
    with _transaction() as session:
        content = session.scalar(
            select(MemoryRevision.content).where(
                MemoryRevision.id == revision_id, MemoryRevision.user_id == user_id
            )
        )
        if content is None:
            raise RevisionNotFound(revision_id)
        memory = _write(user_id, content, RevisionSource.RESTORE, actor)
        _audit(user_id, "restore", actor, f"revision #{revision_id}")
    return memory


# Built once: constructing the expression per call cost more than compiling it (cached).
_GET_MEMORY = select(UserMemory.content, UserMemory.created_at, UserMemory.updated_at).where(
    UserMemory.user_id == bindparam("user_id")
)


def get_memory(user_id: int) -> Memory | None:
    """The current memory, in one SELECT (the hot path: every GET and every chat turn).

    Runs on its own autocommit connection, outside the request's session: no BEGIN before
    the query and no ROLLBACK after it, so the read costs one round trip (plus the pool's
    pre-ping) instead of three or four.
    """
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        row = conn.execute(_GET_MEMORY, {"user_id": user_id}).one_or_none()
    if row is None:
        return None
    return Memory(user_id=user_id, content=row.content, created_at=row.created_at, updated_at=row.updated_at)


def delete_memory(user_id: int, actor: Actor = FRONTEND, keep_history: bool = False) -> bool:
    """Delete the current memory; unless ``keep_history``, erase every revision too (erasure).

    Returns True if there was anything to delete.
    """
    with _transaction() as session:
        deleted = session.execute(delete(UserMemory).where(UserMemory.user_id == user_id)).rowcount
        if not keep_history:
            deleted += session.execute(
                delete(MemoryRevision).where(MemoryRevision.user_id == user_id)
            ).rowcount
        _audit(user_id, "delete" if keep_history else "erase", actor)
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
