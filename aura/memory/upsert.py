"""The memory write itself: user row, memory upsert and revision, as one atomic unit.

INSERT .. ON CONFLICT on both databases, never read-then-write. On PostgreSQL the three
inserts travel as one statement (data-modifying CTEs), which is atomic on its own, so a
frontend save costs a single round trip; SQLite, which has no DML in CTEs, runs them in the
caller's transaction. Statements are built once per dialect with bound parameters: building
them per call cost more CPU than the round trips saved.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from functools import cache

from sqlalchemy import BigInteger, Insert, Integer, Select, String, Text, bindparam, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from aura.models import MemoryRevision, User, UserMemory, UTCDateTime


@dataclass(frozen=True)
class Write:
    """The parameters of one save (names match the statements' bound parameters)."""

    user_id: int
    content: str
    source: str
    actor: str | None
    staff_id: int | None
    now: datetime


_P = {
    "user_id": bindparam("user_id", type_=BigInteger),
    "content": bindparam("content", type_=Text),
    "source": bindparam("source", type_=String),
    "actor": bindparam("actor", type_=String),
    "staff_id": bindparam("staff_id", type_=Integer),
    "now": bindparam("now", type_=UTCDateTime()),
}
_REVISION_COLUMNS = ["user_id", "content", "source", "actor", "staff_id", "created_at"]
_REVISION_VALUES = [_P["user_id"], _P["content"], _P["source"], _P["actor"], _P["staff_id"], _P["now"]]


@cache
def _statements(dialect: str) -> tuple[Insert, Insert, Insert]:
    """(create the user if new, upsert the memory RETURNING its times, append the revision)."""
    insert = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}.get(dialect)
    if insert is None:
        raise RuntimeError(f"unsupported database dialect {dialect!r}")
    new_user = insert(User).values(id=_P["user_id"], created_at=_P["now"])
    new_user = new_user.on_conflict_do_nothing(index_elements=["id"])
    memory = insert(UserMemory).values(
        user_id=_P["user_id"], content=_P["content"], created_at=_P["now"], updated_at=_P["now"]
    )
    memory = memory.on_conflict_do_update(
        index_elements=["user_id"],
        set_={"content": memory.excluded.content, "updated_at": memory.excluded.updated_at},
    ).returning(UserMemory.created_at, UserMemory.updated_at)
    revision = insert(MemoryRevision).values(dict(zip(_REVISION_COLUMNS, _REVISION_VALUES, strict=True)))
    return new_user, memory, revision


@cache
def _one_statement() -> Select:
    """PostgreSQL: the three inserts as CTEs of one SELECT returning (created_at, updated_at).

    The revision is inserted *from* the upsert's RETURNING row, so it runs after the memory
    row is locked: concurrent saves get revision ids in the order their texts were written,
    and the newest revision is always the current memory.
    """
    new_user, memory, _ = _statements("postgresql")
    saved = memory.cte("saved_memory")
    revision = postgresql.insert(MemoryRevision).from_select(
        _REVISION_COLUMNS, select(*_REVISION_VALUES).select_from(saved)
    )
    return select(saved.c.created_at, saved.c.updated_at).add_cte(
        new_user.cte("new_user"), revision.cte("new_revision")
    )


def one_statement(conn, write: Write) -> tuple[datetime, datetime]:
    """Run the single-statement save (PostgreSQL) on ``conn``; returns (created_at, updated_at)."""
    return tuple(conn.execute(_one_statement(), asdict(write)).one())


def in_session(session: Session, write: Write) -> tuple[datetime, datetime]:
    """Any dialect: the three inserts in the session's (caller-owned) transaction."""
    new_user, memory, revision = _statements(session.get_bind().dialect.name)
    params = asdict(write)
    session.execute(new_user, params)
    created_at, updated_at = session.execute(memory, params).one()
    session.execute(revision, params)
    return created_at, updated_at
