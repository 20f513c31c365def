"""What support staff see and do about a user's background consolidation (admin user page)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select

from aura.database import transaction
from aura.extensions import db
from aura.jobs.queue import enqueue_consolidation, job_queue
from aura.memory import statements
from aura.memory.service import audit
from aura.memory.types import Actor
from aura.models import ConsolidationState, ConversationTurn, utcnow


@dataclass(frozen=True)
class ConsolidationStatus:
    recorded_turns: int
    pending_turns: int
    due_at: datetime | None
    running_until: datetime | None
    last_run_at: datetime | None
    last_outcome: str | None
    queue_configured: bool


def consolidation_status(user_id: int) -> ConsolidationStatus:
    recorded = db.session.scalar(
        select(func.count()).select_from(ConversationTurn).where(ConversationTurn.user_id == user_id)
    )
    state = db.session.get(ConsolidationState, user_id)
    now = utcnow()
    running = state.lease_until if state and state.lease_until and state.lease_until > now else None
    return ConsolidationStatus(
        recorded_turns=recorded or 0,
        pending_turns=state.pending_turns if state else 0,
        due_at=state.due_at if state else None,
        running_until=running,
        last_run_at=state.last_run_at if state else None,
        last_outcome=state.last_outcome if state else None,
        queue_configured=job_queue() is not None,
    )


def consolidate_now(user_id: int, actor: Actor) -> bool:
    """Make the user due now and queue a job (audited); False when there is no queue to put it on."""
    if job_queue() is None:
        return False
    now = utcnow()
    with transaction() as session:
        statements.hold_user(session, user_id, now)
        state = session.get(ConsolidationState, user_id)
        if state is None:
            state = ConsolidationState(user_id=user_id, pending_turns=0, watermark_turn_id=0)
            session.add(state)
        state.due_at = now
        state.job_at = now
        audit(user_id, "consolidate now", actor)
    return enqueue_consolidation(user_id, 0)
