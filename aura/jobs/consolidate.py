"""The background consolidation job: the user's turns recorded since the last one, merged into the
memory through exactly the endpoint's code (aura.consolidation.service).

Each step is recorded in ConsolidationState (aura.jobs.state): the job claims the user (one
runner per user), runs, and moves the watermark inside the save's own transaction while its
lease still holds. A failure gives the user back and raises, so Huey retries with backoff.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from flask import current_app
from sqlalchemy import select

from aura.consolidation.service import ConsolidationRequest, consolidate
from aura.database import transaction
from aura.extensions import db
from aura.jobs import state
from aura.jobs.metrics import JOBS
from aura.jobs.queue import enqueue_consolidation
from aura.llm.errors import LLMError
from aura.memory.types import Actor, MemoryDisabled, VersionConflict
from aura.models import ConversationTurn, utcnow

log = logging.getLogger(__name__)
WORKER = Actor(label="aura-worker")
# Most turns one job reads: the transcript budget keeps only the newest that fit anyway.
MAX_TURNS_READ = 1_000


def _turns_since(user_id: int, watermark: int) -> list:
    rows = db.session.execute(
        select(
            ConversationTurn.id,
            ConversationTurn.conversation_id,
            ConversationTurn.message,
            ConversationTurn.reply,
            ConversationTurn.created_at,
        )
        .where(ConversationTurn.user_id == user_id, ConversationTurn.id > watermark)
        .order_by(ConversationTurn.id.desc())
        .limit(MAX_TURNS_READ)
    ).all()
    db.session.rollback()  # hold no connection while the model thinks
    return list(reversed(rows))


def _messages(turns: list) -> list[dict]:
    messages = []
    for turn in turns:
        messages.append({"role": "user", "content": turn.message, "created_at": turn.created_at})
        if turn.reply.strip():
            messages.append({"role": "assistant", "content": turn.reply, "created_at": turn.created_at})
    return messages


def _retry_at(task) -> object:
    """When Huey will run this job again after a failure (None: no retry left, the sweep will)."""
    if task is None or not task.retries:
        return None
    return utcnow() + timedelta(seconds=task.retry_delay or 0)


def consolidate_user(user_id: int, task=None) -> str:
    """Run one user's due consolidation; the outcome, for logs and metrics."""
    timing = state.Timing.from_config(current_app.config)
    now = utcnow()
    with transaction() as session:
        claimed = state.claim(session, user_id, now, timing)
    if claimed is None:
        return _done("gone")  # erased, or never recorded: nothing of it may come back
    if isinstance(claimed, state.Busy):
        _requeue(user_id, claimed.until, "busy")
        return _done("busy")
    token = claimed.token
    if claimed.due_at is None:
        _give_back(user_id, token, "nothing_due", still_due=False)
        return _done("nothing_due")
    if claimed.due_at > now:  # newer turns postponed it: one job, moved later
        _give_back(user_id, token, "postponed", job_at=claimed.due_at)
        enqueue_consolidation(user_id, (claimed.due_at - now).total_seconds())
        return _done("postponed")

    turns = _turns_since(user_id, claimed.watermark)
    if not turns:
        try:
            with transaction() as session:
                state.finish(session, user_id, token, 0, claimed.watermark, "nothing_new", utcnow())
        except state.LeaseLost:
            return _done("lease_lost")
        return _done("nothing_new")
    watermark = turns[-1].id

    def record_progress(session) -> None:
        state.finish(session, user_id, token, len(turns), watermark, "changed", utcnow())

    request = ConsolidationRequest(
        messages=_messages(turns), conversation_id=turns[-1].conversation_id, trigger="background"
    )
    try:
        result = consolidate(
            user_id,
            request,
            WORKER,
            after_write=record_progress,
            timeout=timing.lease_seconds - 5,  # done, or given up, before the lease can run out
        )
    except MemoryDisabled:
        _give_back(user_id, token, "memory_off", still_due=False)
        return _done("memory_off")
    except state.LeaseLost:
        return _done("lease_lost")  # another run took over (or an erasure): it wrote nothing here
    except (LLMError, VersionConflict) as error:
        outcome = getattr(error, "outcome", "conflict")
        _give_back(user_id, token, outcome, job_at=_retry_at(task))
        log.warning("consolidation of user %s failed (%s); retrying", user_id, outcome)
        _done(outcome)
        raise
    if result.proposal is not None:  # held for review: the proposal and the watermark committed together
        with transaction() as session:
            state.note_outcome(session, user_id, "proposed")
        return _done("proposed")
    if not result.changed:
        try:
            with transaction() as session:
                outcome = "declined" if result.declined else "unchanged"
                state.finish(session, user_id, token, len(turns), watermark, outcome, utcnow())
        except state.LeaseLost:
            return _done("lease_lost")
    return _done("changed" if result.changed else "declined" if result.declined else "unchanged")


def _give_back(user_id: int, token: str, outcome: str, job_at=None, still_due: bool = True) -> None:
    with transaction() as session:
        state.release(session, user_id, token, outcome, utcnow(), job_at=job_at, still_due=still_due)


def _requeue(user_id: int, when, outcome: str) -> None:
    """Another job holds the user: come back when its lease ends (it may leave turns behind)."""
    enqueue_consolidation(user_id, max(1.0, (when - utcnow()).total_seconds()))


def _done(outcome: str) -> str:
    JOBS.labels("consolidate_user", outcome).inc()
    log.info("consolidation job: %s", outcome)
    return outcome
