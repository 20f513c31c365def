"""Per-user settings: the "memory off" switch (chat never uses the memory, saves are refused)
and how consolidations change the memory (at once, or as proposals to review)."""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app
from sqlalchemy import bindparam, select

from aura import events
from aura.database import read_snapshot, transaction
from aura.extensions import db
from aura.memory.service import GET_MEMORY, audit, memory_from_row
from aura.memory.statements import set_memory_settings
from aura.memory.types import Actor, Memory
from aura.models import User, utcnow

GET_ENABLED = select(User.memory_enabled).where(User.id == bindparam("user_id"))
GET_SETTINGS = select(User.memory_enabled, User.consolidation_mode).where(User.id == bindparam("user_id"))
CONSOLIDATION_MODES = ("default", "auto", "review")


@dataclass(frozen=True)
class MemorySettings:
    """A user's settings; a user AURA has never seen has the defaults."""

    enabled: bool = True
    consolidation: str = "default"  # "default": the deployment's AURA_CONSOLIDATION_MODE


def settings_from_row(row) -> MemorySettings:
    if row is None:
        return MemorySettings()
    return MemorySettings(enabled=row.memory_enabled is not False, consolidation=row.consolidation_mode)


def get_settings(user_id: int) -> MemorySettings:
    return settings_from_row(db.session.execute(GET_SETTINGS, {"user_id": user_id}).one_or_none())


def settings_and_memory(user_id: int) -> tuple[MemorySettings, Memory | None]:
    """(settings, current memory) from one snapshot, on a connection given back at once: what a
    writer that asks a model (consolidation) or a client (MCP) first reads, holding nothing after."""
    params = {"user_id": user_id}
    with read_snapshot(db.engine) as conn:
        settings = conn.execute(GET_SETTINGS, params).one_or_none()
        row = conn.execute(GET_MEMORY, params).one_or_none()
    return settings_from_row(settings), memory_from_row(user_id, row)


def effective_mode(settings: MemorySettings) -> str:
    """ "auto" or "review": the user's choice, else the deployment's."""
    if settings.consolidation != "default":
        return settings.consolidation
    return current_app.config["AURA_CONSOLIDATION_MODE"]


def update_settings(
    user_id: int, actor: Actor, enabled: bool, consolidation: str | None = None
) -> MemorySettings:
    """Switch memory on or off and (unless None: kept) set how consolidations change it.

    Deletes nothing: switching back on brings the memory back into use. Every change is audited
    (who, and what), whoever made it: it decides what the model is told about the user.
    """
    with transaction() as session:
        before = get_settings(user_id)
        set_memory_settings(session, user_id, enabled, consolidation, utcnow())
        audit(user_id, "memory on" if enabled else "memory off", actor, staff_only=False)
        if consolidation is not None and consolidation != before.consolidation:
            audit(user_id, "consolidation", actor, f"mode {consolidation}", staff_only=False)
        settings = get_settings(user_id)
        if settings != before:
            source = "staff" if actor.staff_id is not None else "api"
            events.announce(session, events.MemoryEvent(events.SETTINGS_CHANGED, user_id, None, source))
    return settings
