"""The per-user "memory off" switch: off means chat never uses the memory and saves are refused."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import bindparam, select

from aura.extensions import db
from aura.memory.service import Actor, audit, transaction
from aura.memory.statements import set_memory_enabled
from aura.models import User, utcnow

GET_ENABLED = select(User.memory_enabled).where(User.id == bindparam("user_id"))


@dataclass(frozen=True)
class MemorySettings:
    enabled: bool


def get_settings(user_id: int) -> MemorySettings:
    """A user AURA has never seen has memory on (the default)."""
    enabled = db.session.execute(GET_ENABLED, {"user_id": user_id}).scalar_one_or_none()
    return MemorySettings(enabled=enabled is not False)


def update_settings(user_id: int, enabled: bool, actor: Actor) -> MemorySettings:
    """Switch memory on or off. Deletes nothing: switching back on brings the memory back into use.

    Every switch is audited (who, and whether on or off), whoever made it: it decides what
    the model is told about the user.
    """
    with transaction():
        set_memory_enabled(db.session, user_id, enabled, utcnow())
        audit(user_id, "memory on" if enabled else "memory off", actor, staff_only=False)
    return MemorySettings(enabled=enabled)
