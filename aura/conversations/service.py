"""Recorded chat turns: what background consolidation learns from (AURA_CONVERSATION_RECORDING).

A turn is recorded only once the model's reply is complete, with credentials already removed;
never for temporary chats, dry runs, failed calls, or users who switched memory off. Recording
locks the user's row like every memory write, so a turn cannot slip past an erasure, and in the
same transaction makes the user due for background consolidation (aura.jobs).
"""

from __future__ import annotations

from flask import current_app
from sqlalchemy import delete, func, insert, select, update

from aura.consolidation.credentials import remove_credentials
from aura.database import transaction
from aura.extensions import db
from aura.jobs.queue import enqueue_consolidation
from aura.jobs.state import Timing, note_turn
from aura.memory import statements
from aura.memory.service import audit
from aura.memory.types import Actor, Page
from aura.models import ConsolidationState, ConversationTurn, utcnow
from aura.schemas import storable


def recording_enabled() -> bool:
    return bool(current_app.config["AURA_CONVERSATION_RECORDING"])


def record_turn(user_id: int, message: str, reply: str, conversation_id: str | None) -> bool:
    """Store one completed turn, if the deployment records and the user's memory is on; stored?"""
    if not recording_enabled():
        return False
    now = utcnow()
    with transaction() as session:
        if not statements.hold_user(session, user_id, now):
            return False  # memory off: nothing of this conversation is kept
        session.execute(
            insert(ConversationTurn).values(
                user_id=user_id,
                conversation_id=conversation_id,
                message=remove_credentials(storable(message)),
                reply=remove_credentials(storable(reply)),
                created_at=now,
            )
        )
        job_delay = note_turn(session, user_id, now, Timing.from_config(current_app.config))
    if job_delay is not None:
        enqueue_consolidation(user_id, job_delay)
    return True


def list_turns(user_id: int, page: int = 1, per_page: int = 20) -> Page:
    """A user's recorded turns, newest first."""
    mine = ConversationTurn.user_id == user_id
    total = db.session.scalar(select(func.count()).select_from(ConversationTurn).where(mine)) or 0
    rows = db.session.execute(
        select(*statements.TURN_COLUMNS)
        .where(mine)
        .order_by(ConversationTurn.id.desc())
        .limit(per_page)
        .offset((page - 1) * per_page)
    ).all()
    return Page(items=list(rows), page=page, per_page=per_page, total=total)


def delete_turns(user_id: int, actor: Actor) -> int:
    """Delete the user's recorded turns alone (the memory stays); how many. Audited."""
    with transaction() as session:
        statements.hold_user(session, user_id, utcnow())
        deleted = session.execute(
            delete(ConversationTurn).where(ConversationTurn.user_id == user_id)
        ).rowcount
        # Nothing left to consolidate: no longer due (a queued job finds nothing to do).
        session.execute(
            update(ConsolidationState)
            .where(ConsolidationState.user_id == user_id)
            .values(pending_turns=0, due_at=None)
        )
        audit(user_id, "forget turns", actor, f"{deleted:,} turns", staff_only=False)
    return deleted
