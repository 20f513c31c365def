"""All memory reads and writes; one transaction per call, so a failure never half-writes."""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.dialects import postgresql, sqlite

from aura.extensions import db
from aura.models import MemoryRevision, User, UserMemory, utcnow


class RevisionSource(enum.StrEnum):
    """Who wrote a revision: the frontend's regeneration, a staff edit, or a staff restore."""

    FRONTEND = "frontend"
    STAFF = "staff"
    RESTORE = "restore"


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


def _insert_for_dialect():
    """The dialect's INSERT, which knows ON CONFLICT (PostgreSQL and SQLite both do)."""
    name = db.session.get_bind().dialect.name
    if name == "postgresql":
        return postgresql.insert
    if name == "sqlite":
        return sqlite.insert
    raise RuntimeError(f"unsupported database dialect {name!r}")


def save_memory(
    user_id: int,
    content: str,
    source: RevisionSource = RevisionSource.FRONTEND,
    actor: str | None = None,
) -> Memory:
    """Create or replace a user's memory and log the revision, atomically.

    INSERT .. ON CONFLICT (user_id) DO UPDATE, never read-then-write: concurrent savers for
    one user each succeed, leaving one row and one revision per save.
    """
    insert = _insert_for_dialect()
    now = utcnow()
    session = db.session
    try:
        session.execute(
            insert(User).values(id=user_id, created_at=now).on_conflict_do_nothing(index_elements=["id"])
        )
        upsert = insert(UserMemory).values(user_id=user_id, content=content, created_at=now, updated_at=now)
        upsert = upsert.on_conflict_do_update(
            index_elements=["user_id"],
            set_={"content": upsert.excluded.content, "updated_at": upsert.excluded.updated_at},
        ).returning(UserMemory.created_at, UserMemory.updated_at)
        created_at, updated_at = session.execute(upsert).one()
        session.execute(
            insert(MemoryRevision).values(
                user_id=user_id, content=content, source=str(source), actor=actor, created_at=now
            )
        )
        session.commit()
    except Exception:
        session.rollback()
        raise
    return Memory(user_id=user_id, content=content, created_at=created_at, updated_at=updated_at)


def get_memory(user_id: int) -> Memory | None:
    """The current memory, in one SELECT (this is the hot path of every chat turn)."""
    row = db.session.execute(
        select(UserMemory.content, UserMemory.created_at, UserMemory.updated_at).where(
            UserMemory.user_id == user_id
        )
    ).one_or_none()
    if row is None:
        return None
    return Memory(user_id=user_id, content=row.content, created_at=row.created_at, updated_at=row.updated_at)


def delete_memory(user_id: int) -> bool:
    """Erase a user's memory and every revision of it; True if there was anything to erase."""
    session = db.session
    try:
        revisions = session.execute(delete(MemoryRevision).where(MemoryRevision.user_id == user_id))
        memories = session.execute(delete(UserMemory).where(UserMemory.user_id == user_id))
        session.commit()
    except Exception:
        session.rollback()
        raise
    return bool(memories.rowcount or revisions.rowcount)


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
