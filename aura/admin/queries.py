"""Read-only queries behind the admin users list (kept out of the views)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, func, null, select, text, true

from aura.extensions import db
from aura.memory.service import Page
from aura.models import User, UserMemory
from aura.schemas import USER_ID_STRING

SORTS = {
    "updated_desc": "Last update, newest first",
    "updated_asc": "Last update, oldest first",
    "user_id": "User id",
}


SNIPPET_CONTEXT = 60  # characters shown on each side of a match


@dataclass(frozen=True)
class Snippet:
    """The memory text around a search match: shown as before, <mark>match</mark>, after."""

    before: str
    match: str
    after: str


@dataclass(frozen=True)
class UserRow:
    user_id: int
    has_memory: bool
    length: int
    updated_at: datetime | None
    snippet: Snippet | None = None


def snippet_around(text: str | None, query: str) -> Snippet | None:
    """Why a row matched: the first occurrence of ``query`` in ``text`` (case-insensitive), in context."""
    if not text or not query:
        return None
    start = text.lower().find(query.lower())
    if start < 0:
        return None
    end = start + len(query)
    before, after = text[max(0, start - SNIPPET_CONTEXT) : start], text[end : end + SNIPPET_CONTEXT]
    return Snippet(
        before=("…" if start > SNIPPET_CONTEXT else "") + before,
        match=text[start:end],
        after=after + ("…" if end + SNIPPET_CONTEXT < len(text) else ""),
    )


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


# A text search that matches more users than this says "more than 1,000": counting every match of a
# common word means reading every memory, and nobody pages through a thousand users to find one.
MATCH_COUNT_LIMIT = 1000


def _memories(with_text: bool) -> Select:
    """Rows of users that have a memory; the text only where a snippet needs it."""
    shown_text = UserMemory.content if with_text else null()
    length = func.length(UserMemory.content)
    return select(UserMemory.user_id, true(), length, UserMemory.updated_at, shown_text)


def _users(with_text: bool) -> Select:
    """Rows of users with or without a memory (the same columns as ``_memories``)."""
    shown_text = UserMemory.content if with_text else null()
    has_memory, length = UserMemory.id.is_not(None), func.length(UserMemory.content)
    return select(User.id, has_memory, length, UserMemory.updated_at, shown_text).outerjoin(
        UserMemory, UserMemory.user_id == User.id
    )


def _memory_order(sort: str) -> tuple:
    return {
        # Ties in the index's own direction, so one B-tree scan (forwards or backwards) gives the order.
        "updated_desc": (UserMemory.updated_at.desc(), UserMemory.user_id.desc()),
        "updated_asc": (UserMemory.updated_at.asc(), UserMemory.user_id.asc()),
        "user_id": (UserMemory.user_id,),
    }[sort]


def _row(row, query: str) -> UserRow:
    user_id, has_memory, length, updated_at, content = row
    return UserRow(
        user_id=user_id,
        has_memory=bool(has_memory),
        length=length or 0,
        updated_at=updated_at,
        snippet=snippet_around(content, query) if query else None,
    )


def _rows(stmt: Select, offset: int, limit: int) -> list:
    if limit <= 0:
        return []
    return list(db.session.execute(stmt.limit(limit).offset(offset)).all())


def _all_users(sort: str, offset: int, per_page: int) -> tuple[list, int]:
    """Every user: by id, or those with a memory by last update and then those without, by id.

    Two index-ordered reads instead of one outer join sorted as a whole (550 ms at 100,000 users).
    """
    total = db.session.scalar(select(func.count()).select_from(User)) or 0
    if sort == "user_id":
        return _rows(_users(with_text=False).order_by(User.id), offset, per_page), total
    with_memory = db.session.scalar(select(func.count()).select_from(UserMemory)) or 0
    memories = _memories(with_text=False).order_by(*_memory_order(sort))
    rows = _rows(memories, offset, min(per_page, with_memory - offset))
    without_memory = _users(with_text=False).where(UserMemory.id.is_(None)).order_by(User.id)
    rows += _rows(without_memory, max(0, offset - with_memory), per_page - len(rows))
    return rows, total


def _matches(query: str, sort: str, offset: int, per_page: int) -> tuple[list, int, bool]:
    """Users whose id is ``query`` (first) or whose memory contains it (case-insensitive).

    The text part is one table read that PostgreSQL serves from the trigram index (rare words)
    or the updated_at index (common ones); an ``OR`` with the id across the join could use neither.
    """
    by_id = []
    if USER_ID_STRING.fullmatch(query):  # the API's own id rule: no "²", nothing past BIGINT
        by_id = db.session.execute(_users(with_text=True).where(User.id == int(query))).all()
    matches_text = UserMemory.content.ilike(f"%{_escape_like(query)}%", escape="\\")
    if by_id:
        matches_text &= UserMemory.user_id != by_id[0][0]
    text_matches = _memories(with_text=True).where(matches_text)
    first_matches = select(UserMemory.user_id).where(matches_text).limit(MATCH_COUNT_LIMIT + 1)
    counted = select(func.count()).select_from(first_matches.subquery())
    text_total = db.session.scalar(counted) or 0
    more = text_total > MATCH_COUNT_LIMIT
    text_total = min(text_total, MATCH_COUNT_LIMIT)
    rows = list(by_id[offset : offset + per_page])
    text_offset = max(0, offset - len(by_id))
    limit = min(per_page - len(rows), text_total - text_offset)
    with _walking_the_sort_index(when=more):
        rows += _rows(text_matches.order_by(*_memory_order(sort)), text_offset, limit)
    return rows, len(by_id) + text_total, more


@contextmanager
def _walking_the_sort_index(when: bool) -> Iterator[None]:
    """Page through a common word's matches in sort order instead of sorting all of them.

    PostgreSQL guesses that any ILIKE '%word%' matches a few rows, so it reads every match (through
    the trigram index or the whole table) and sorts them: 1.3 s for a word in all of 100,000
    memories. When the count already found more than ``MATCH_COUNT_LIMIT``, walking the sort's
    B-tree and checking each row finds a page within a few hundred rows, so for that one read the
    planner may use nothing else.
    """
    if not when or db.session.get_bind().dialect.name != "postgresql":
        yield
        return
    db.session.execute(text("SET LOCAL enable_bitmapscan = off; SET LOCAL enable_seqscan = off"))
    try:
        yield
    finally:
        db.session.execute(text("RESET enable_bitmapscan; RESET enable_seqscan"))


def search_users(query: str = "", sort: str = "updated_desc", page: int = 1, per_page: int = 25) -> Page:
    """One page of the users list: all users, or those matching an id or a piece of memory text."""
    query = query.strip()
    offset = (page - 1) * per_page
    if query:
        rows, total, more = _matches(query, sort, offset, per_page)
    else:
        (rows, total), more = _all_users(sort, offset, per_page), False
    return Page(items=[_row(r, query) for r in rows], page=page, per_page=per_page, total=total, more=more)
