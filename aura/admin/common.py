"""What every admin page shares: who is acting, and ids checked like the API checks them."""

from __future__ import annotations

from flask import abort
from flask_login import current_user
from marshmallow import ValidationError

from aura.memory.types import Actor
from aura.schemas import RevisionPathSchema, UserIdPathSchema

user_id_path = UserIdPathSchema()
revision_path = RevisionPathSchema()
MEMORY_OFF = "Memory is switched off for this user: switch it on before changing it."


def staff_actor() -> Actor:
    """The logged-in staff member, as memory writes record them."""
    return Actor(label=current_user.email, staff_id=current_user.id)


def checked_user_id(user_id: int) -> int:
    """The id within the API's range, else 404 (no such user can exist)."""
    try:
        return user_id_path.load({"user_id": user_id})["user_id"]
    except ValidationError:
        abort(404)


def checked_ids(user_id: int, revision_id: int) -> tuple[int, int]:
    """Both ids within the API's range (a BIGINT): beyond it no such row can exist, 404, never a
    driver error for a number PostgreSQL cannot bind."""
    try:
        ids = revision_path.load({"user_id": user_id, "revision_id": revision_id})
    except ValidationError:
        abort(404)
    return ids["user_id"], ids["revision_id"]
