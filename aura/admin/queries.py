"""Read-only queries behind the admin users list (kept out of the views)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select

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


def search_users(query: str = "", sort: str = "updated_desc", page: int = 1, per_page: int = 25) -> Page:
    """Users matching an id or a case-insensitive piece of their memory text."""
    stmt = select(
        User.id,
        UserMemory.id.is_not(None),
        func.coalesce(func.length(UserMemory.content), 0),
        UserMemory.updated_at,
    ).outerjoin(UserMemory, UserMemory.user_id == User.id)
    query = query.strip()
    if query:
        matches_text = UserMemory.content.ilike(f"%{_escape_like(query)}%", escape="\\")
        if USER_ID_STRING.fullmatch(query):  # the API's own id rule: no "²", nothing past BIGINT
            stmt = stmt.where((User.id == int(query)) | matches_text)
        else:
            stmt = stmt.where(matches_text)
    total = db.session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    order = {
        "updated_desc": (UserMemory.updated_at.desc().nulls_last(), User.id),
        "updated_asc": (UserMemory.updated_at.asc().nulls_last(), User.id),
        "user_id": (User.id,),
    }[sort]
    if query:  # the text too, for the snippet that shows why each row matched (one page of rows)
        stmt = stmt.add_columns(UserMemory.content)
    rows = db.session.execute(stmt.order_by(*order).limit(per_page).offset((page - 1) * per_page)).all()
    items = [
        UserRow(
            user_id=r[0],
            has_memory=bool(r[1]),
            length=r[2],
            updated_at=r[3],
            snippet=snippet_around(r[4], query) if query else None,
        )
        for r in rows
    ]
    return Page(items=items, page=page, per_page=per_page, total=total)
