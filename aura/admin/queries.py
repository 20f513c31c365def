"""Read-only queries behind the admin users list (kept out of the views)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, func, null, select, text, true

from aura.extensions import db
from aura.memory.types import Page
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


# Lists and searches go this deep (40 pages of 25) and then say "more than 1,000: narrow the
# search": nobody pages through a thousand users to find one, counting every match of a common
# word means reading every memory, and OFFSET walks ever more index entries (3.4 s for the last
# page of a million users).
LIST_DEPTH = 1000
# A text search goes half as deep: each row of a common word's deeper pages is one more memory
# read and matched (the 40th page of a word in every memory took 105 ms at a million users).
SEARCH_DEPTH = 500
# Memories checked in the chosen order for a search's page before the trigram index is asked.
WALK_BUDGET = 600
# Users are counted exactly up to this many; beyond it the list shows PostgreSQL's estimate.
EXACT_COUNT_LIMIT = 10_000


@dataclass(frozen=True)
class UsersPage(Page):
    """A page of the users list; ``about`` is the number of all users when only estimated."""

    about: int | None = None


def _memories(with_text: bool, columns=None) -> Select:
    """Rows of users that have a memory; the text only where a snippet needs it. ``columns``:
    a derived table's of user_memories' names instead of the table's own."""
    c = columns if columns is not None else UserMemory
    shown_text = c.content if with_text else null()
    return select(c.user_id, true(), func.length(c.content), c.updated_at, shown_text)


def _users(with_text: bool) -> Select:
    """Rows of users with or without a memory (the same columns as ``_memories``)."""
    shown_text = UserMemory.content if with_text else null()
    has_memory, length = UserMemory.id.is_not(None), func.length(UserMemory.content)
    return select(User.id, has_memory, length, UserMemory.updated_at, shown_text).outerjoin(
        UserMemory, UserMemory.user_id == User.id
    )


def _memory_order(sort: str, columns=None) -> tuple:
    """ORDER BY for ``sort``, on user_memories' columns (or a derived table's of the same names)."""
    c = columns if columns is not None else UserMemory
    return {
        # Ties in the index's own direction, so one B-tree scan (forwards or backwards) gives the order.
        "updated_desc": (c.updated_at.desc(), c.user_id.desc()),
        "updated_asc": (c.updated_at.asc(), c.user_id.asc()),
        "user_id": (c.user_id,),
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


def _bounded_count(stmt: Select, limit: int) -> int:
    """How many rows ``stmt`` gives, counting no further than ``limit`` + 1."""
    return db.session.scalar(select(func.count()).select_from(stmt.limit(limit + 1).subquery())) or 0


def _user_count() -> tuple[int, bool]:
    """(users, whether estimated): exact up to EXACT_COUNT_LIMIT, then the planner's estimate
    (an exact count(*) read a million index entries on every page)."""
    counted = _bounded_count(select(User.id), EXACT_COUNT_LIMIT)
    if counted <= EXACT_COUNT_LIMIT:
        return counted, False
    if db.session.get_bind().dialect.name != "postgresql":
        return db.session.scalar(select(func.count()).select_from(User)) or 0, False
    estimate = db.session.scalar(text("SELECT reltuples::bigint FROM pg_class WHERE oid = 'users'::regclass"))
    return max(int(estimate or 0), counted), True


def _clamped(page: int, listable: int, per_page: int) -> int:
    """A page past the last listable one shows the last one."""
    return max(1, min(page, math.ceil(listable / per_page)))


def _list_all(sort: str, page: int, per_page: int) -> UsersPage:
    """Every user: by id, or those with a memory by last update and then those without, by id.

    Each page is one index-ordered read of at most LIST_DEPTH entries; by id, the page's ids come
    from the users' primary key first and their memories by id after (joined whole, the planner
    hash-joined every memory's length for a page of 25).
    """
    users, estimated = _user_count()
    listable = min(users, LIST_DEPTH)
    page = _clamped(page, listable, per_page)
    offset = (page - 1) * per_page
    limit = min(per_page, listable - offset)  # the last listable page may be a short one
    if sort == "user_id":
        ids = db.session.scalars(select(User.id).order_by(User.id).offset(offset).limit(limit)).all()
        rows = _rows(_users(with_text=False).where(User.id.in_(ids)).order_by(User.id), 0, limit)
    else:
        rows = _rows(_memories(with_text=False).order_by(*_memory_order(sort)), offset, limit)
        if len(rows) < limit:  # past the last memory (so there are fewer than a page's worth more)
            with_memory = _bounded_count(select(UserMemory.id), offset + limit)
            without_memory = _users(with_text=False).where(UserMemory.id.is_(None)).order_by(User.id)
            rows += _rows(without_memory, max(0, offset - with_memory), limit - len(rows))
    about = users if estimated or users > LIST_DEPTH else None
    return UsersPage(_items(rows, ""), page, per_page, total=listable, more=users > LIST_DEPTH, about=about)


def _search(query: str, sort: str, page: int, per_page: int) -> UsersPage:
    """Users whose id is ``query`` (first) or whose memory contains it (case-insensitive).

    The id is looked up by primary key (an ``OR`` with the id across the join could use no
    index). The text, within a bounded amount of work whatever the word (matching a memory
    means reading and lower-casing its ~2 KB):
    - the first WALK_BUDGET memories in the chosen order are checked: a word in most memories
      has its first SEARCH_DEPTH matches, in order, right there;
    - otherwise the trigram index finds up to SEARCH_DEPTH + 1 matching users and the page is
      read from just those, in order: all of them when there are no more, else a sample
      ("more than 500: narrow the search"). Walking the sort index until enough matches turned
      up took seconds for a word in one memory of a thousand.
    """
    by_id = []
    if USER_ID_STRING.fullmatch(query):  # the API's own id rule: no "²", nothing past BIGINT
        by_id = db.session.execute(_users(with_text=True).where(User.id == int(query))).all()
    pattern = f"%{_escape_like(query)}%"

    def matching(c):
        """The text condition on user_memories' columns or a derived table's."""
        condition = c.content.ilike(pattern, escape="\\")
        return condition & (c.user_id != by_id[0][0]) if by_id else condition

    order = _memory_order(sort)
    # The first WALK_BUDGET memories in order, as a derived table the planner cannot flatten (its
    # LIMIT): joined instead, it believed the word rare and rechecked every memory holding it.
    first_in_order = (
        select(UserMemory.user_id, UserMemory.updated_at, UserMemory.content)
        .order_by(*order)
        .limit(WALK_BUDGET)
        .subquery()
    ).c
    walk = _memories(with_text=True, columns=first_in_order).where(matching(first_in_order))
    walked = _rows(walk.order_by(*_memory_order(sort, first_in_order)), 0, SEARCH_DEPTH + 1)
    if len(walked) > SEARCH_DEPTH:
        more, text_total, found = True, SEARCH_DEPTH, None
    else:
        matches = select(UserMemory.user_id).where(matching(UserMemory)).limit(SEARCH_DEPTH + 1)
        ids = db.session.scalars(matches).all()
        more, text_total = len(ids) > SEARCH_DEPTH, min(len(ids), SEARCH_DEPTH)
        found = _memories(with_text=True).where(UserMemory.user_id.in_(ids[:SEARCH_DEPTH])).order_by(*order)
    page = _clamped(page, len(by_id) + text_total, per_page)
    offset = (page - 1) * per_page
    rows = list(by_id[offset : offset + per_page])
    text_offset = max(0, offset - len(by_id))
    limit = min(per_page - len(rows), text_total - text_offset)
    if found is None:
        rows += walked[text_offset : text_offset + max(0, limit)]
    else:
        rows += _rows(found, text_offset, limit)
    return UsersPage(_items(rows, query), page, per_page, total=len(by_id) + text_total, more=more)


def _items(rows: list, query: str) -> list[UserRow]:
    return [_row(r, query) for r in rows]


def search_users(query: str = "", sort: str = "updated_desc", page: int = 1, per_page: int = 25) -> UsersPage:
    """One page of the users list: all users, or those matching an id or a piece of memory text."""
    query = query.strip()
    _without_jit()
    if query:
        return _search(query, sort, page, per_page)
    return _list_all(sort, page, per_page)


def _without_jit() -> None:
    """No JIT compilation for this transaction's page queries: on plans over a million rows
    PostgreSQL compiled them, which cost more than the few dozen rows a page reads."""
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(text("SET LOCAL jit = off"))
