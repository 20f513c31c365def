"""Background consolidation's bookkeeping in the database, the source of truth (ConsolidationState).

The queue only delivers; what is due, what is queued and who is running it is recorded here,
in the transactions that change it:

- a recorded turn makes the user due (after the quiet period, or at once every N turns) and
  asks for a job only when none is queued for an earlier time: newer turns postpone, not add;
- a job *claims* the user with a lease (one runner per user across all workers); a job that
  finds the consolidation postponed re-schedules itself instead;
- the consolidation's save moves the watermark in the save's own transaction, only while the
  lease is still the job's: a killed worker's job re-runs without ever writing twice;
- the sweep re-enqueues every due user with no live job or lease (lost queue, dead worker).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, case, or_, select, update
from sqlalchemy.orm import Session

from aura.models import ConsolidationState

SWEEP_PERIOD_SECONDS = 60  # the worker's periodic sweep (Huey's periodic tasks run once a minute)
SWEEP_BATCH = 1_000


class LeaseLost(Exception):
    """The job's lease ran out and another job took the user over, or the user was erased."""


@dataclass(frozen=True)
class Timing:
    quiet_seconds: int
    every_turns: int
    redelivery_seconds: int

    @property
    def lease_seconds(self) -> int:
        """How long a job may hold a user: the sweep after it ends re-enqueues within redelivery."""
        return self.redelivery_seconds - SWEEP_PERIOD_SECONDS

    @classmethod
    def from_config(cls, config) -> Timing:
        timing = cls(
            config["AURA_CONSOLIDATE_AFTER_SECONDS"],
            config["AURA_CONSOLIDATE_EVERY_TURNS"],
            config["AURA_JOB_REDELIVERY_SECONDS"],
        )
        if timing.lease_seconds < 10:
            raise RuntimeError(
                f"AURA_JOB_REDELIVERY_SECONDS={timing.redelivery_seconds} is too short: it must leave a job "
                f"at least 10 s beyond the {SWEEP_PERIOD_SECONDS} s sweep period (70 or more)"
            )
        if timing.every_turns < 1 or timing.quiet_seconds < 0:
            raise RuntimeError(
                "AURA_CONSOLIDATE_EVERY_TURNS must be 1 or more, AURA_CONSOLIDATE_AFTER_SECONDS 0 or more"
            )
        return timing


def note_turn(session: Session, user_id: int, now: datetime, timing: Timing) -> float | None:
    """Count a recorded turn (in its transaction, the user's row locked); the delay in seconds of a
    job to enqueue once it commits, or None when a job already queued will run early enough."""
    state = session.get(ConsolidationState, user_id)
    if state is None:
        state = ConsolidationState(user_id=user_id, pending_turns=0, watermark_turn_id=0)
        session.add(state)
    state.pending_turns += 1
    due = now if state.pending_turns >= timing.every_turns else now + timedelta(seconds=timing.quiet_seconds)
    state.due_at = due
    if state.job_at is not None and state.job_at <= due:
        return None  # the queued job will find it postponed and re-schedule itself
    state.job_at = due
    return (due - now).total_seconds()


@dataclass(frozen=True)
class Claim:
    token: str
    due_at: datetime | None
    watermark: int


@dataclass(frozen=True)
class Busy:
    until: datetime


def claim(session: Session, user_id: int, now: datetime, timing: Timing) -> Claim | Busy | None:
    """Take the user for this job (None: nothing recorded, e.g. erased; Busy: another job runs it)."""
    token = secrets.token_hex(16)
    row = session.execute(
        update(ConsolidationState)
        .where(
            ConsolidationState.user_id == user_id,
            or_(ConsolidationState.lease_until.is_(None), ConsolidationState.lease_until < now),
        )
        .values(lease_until=now + timedelta(seconds=timing.lease_seconds), lease_token=token, job_at=None)
        .returning(ConsolidationState.due_at, ConsolidationState.watermark_turn_id)
    ).one_or_none()
    if row is not None:
        return Claim(token, row.due_at, row.watermark_turn_id)
    until = session.scalar(
        select(ConsolidationState.lease_until).where(ConsolidationState.user_id == user_id)
    )
    return None if until is None else Busy(until)


def _mine(user_id: int, token: str):
    return and_(ConsolidationState.user_id == user_id, ConsolidationState.lease_token == token)


def finish(
    session: Session, user_id: int, token: str, consumed: int, watermark: int, outcome: str, now: datetime
) -> None:
    """Record a run that used ``consumed`` turns up to ``watermark``; LeaseLost if no longer ours.

    Turns recorded meanwhile stay pending, with the due time and job their recording set. A run
    that found no turn at all (deleted by the user, or by retention) clears the count instead,
    so the user is not due again and again for turns that no longer exist.
    """
    remaining = ConsolidationState.pending_turns - consumed if consumed else 0
    updated = session.execute(
        update(ConsolidationState)
        .where(_mine(user_id, token))
        .values(
            watermark_turn_id=watermark,
            pending_turns=remaining,
            due_at=case((remaining > 0, ConsolidationState.due_at), else_=None),
            lease_until=None,
            lease_token=None,
            last_run_at=now,
            last_outcome=outcome,
        )
    ).rowcount
    if not updated:
        raise LeaseLost(user_id)


def note_outcome(session: Session, user_id: int, outcome: str) -> None:
    session.execute(
        update(ConsolidationState).where(ConsolidationState.user_id == user_id).values(last_outcome=outcome)
    )


def release(
    session: Session,
    user_id: int,
    token: str,
    outcome: str,
    now: datetime,
    job_at: datetime | None = None,
    still_due: bool = True,
) -> None:
    """Give the user back without consuming any turn: postponed, failed (``job_at``: when the
    retry is queued, so the sweep leaves it to that retry), or with ``still_due`` false nothing
    to do (memory switched off: the turns wait for the next one recorded)."""
    values = {"lease_until": None, "lease_token": None, "job_at": job_at, "last_outcome": outcome}
    if not still_due:
        values["due_at"] = None
    if outcome != "postponed":
        values["last_run_at"] = now
    session.execute(update(ConsolidationState).where(_mine(user_id, token)).values(values))


def take_due(session: Session, now: datetime, timing: Timing) -> list[int]:
    """The sweep: users due with no live lease and no job queued (or one queued so long ago it must
    have been lost), marked as queued now; the caller enqueues a job for each."""
    stale = now - timedelta(seconds=timing.lease_seconds)
    unattended = (
        ConsolidationState.due_at <= now,
        or_(ConsolidationState.lease_until.is_(None), ConsolidationState.lease_until < now),
        or_(ConsolidationState.job_at.is_(None), ConsolidationState.job_at < stale),
    )
    due = (
        select(ConsolidationState.user_id)
        .where(*unattended)
        .order_by(ConsolidationState.due_at)
        .limit(SWEEP_BATCH)
    )
    # The conditions again on the rows themselves: PostgreSQL re-checks them after waiting for a
    # concurrent sweep's row lock, so two sweeps never queue the same user twice.
    taken = session.execute(
        update(ConsolidationState)
        .where(ConsolidationState.user_id.in_(due.scalar_subquery()), *unattended)
        .values(job_at=now)
        .returning(ConsolidationState.user_id)
    ).scalars()
    return list(taken)
