"""Data portability: everything AURA keeps about one user's memory, as one document."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, select

from aura.database import read_snapshot, transaction
from aura.extensions import db
from aura.memory.service import GET_MEMORY, audit, memory_from_row
from aura.memory.settings import GET_SETTINGS, MemorySettings, settings_from_row
from aura.memory.statements import TURNS_OLDEST_FIRST
from aura.memory.types import Actor, Memory
from aura.models import MemoryProposal, MemoryRevision, utcnow

EXPORT_FORMAT = 1
_REVISIONS = (
    select(
        MemoryRevision.id,
        MemoryRevision.number,
        MemoryRevision.content,
        MemoryRevision.source,
        MemoryRevision.actor,
        MemoryRevision.created_at,
        MemoryRevision.details,
    )
    .where(MemoryRevision.user_id == bindparam("user_id"))
    .order_by(MemoryRevision.id)
)


_PROPOSAL = select(
    MemoryProposal.id,
    MemoryProposal.content,
    MemoryProposal.based_on_version,
    MemoryProposal.created_at,
    MemoryProposal.source,
    MemoryProposal.reason,
    MemoryProposal.details,
).where(MemoryProposal.user_id == bindparam("user_id"))


@dataclass(frozen=True)
class MemoryExport:
    user_id: int
    exported_at: datetime
    memory: Memory | None
    settings: MemorySettings
    revisions: list  # rows of (id, number, content, source, actor, created_at, details), oldest first
    conversations: list  # rows of (id, conversation_id, message, reply, created_at), oldest first
    proposal: dict | None  # the pending proposal's columns


def export_memory(user_id: int, actor: Actor | None = None) -> MemoryExport:
    """The current memory, the settings, every revision and recorded turn, all from one snapshot.

    One snapshot, so a save landing mid-export cannot give a memory newer than its history.
    A staff ``actor`` is audited: reading someone's whole history is worth a record.
    """
    if actor is not None:
        with transaction():
            audit(user_id, "export", actor)
    params = {"user_id": user_id}
    with read_snapshot(db.engine) as conn:
        revisions = conn.execute(_REVISIONS, params).all()
        conversations = conn.execute(TURNS_OLDEST_FIRST, params).all()
        proposal = conn.execute(_PROPOSAL, params).one_or_none()
        memory_row = conn.execute(GET_MEMORY, params).one_or_none()
        settings = conn.execute(GET_SETTINGS, params).one_or_none()
    return MemoryExport(
        user_id=user_id,
        exported_at=utcnow(),
        memory=memory_from_row(user_id, memory_row),
        settings=settings_from_row(settings),
        revisions=list(revisions),
        conversations=list(conversations),
        proposal=proposal._asdict() if proposal else None,
    )
