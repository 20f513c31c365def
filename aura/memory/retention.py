"""Retention: at most AURA_MAX_REVISIONS revisions per user, so history cannot grow without bound,
audit entries for AURA_AUDIT_RETENTION_DAYS (every settings change and export adds one), and
recorded chat turns for AURA_CONVERSATION_RETENTION_DAYS.

New saves prune in their own transaction (aura.memory.statements); this applies the same rule
to rows written before the limit existed or was lowered (`flask memory prune`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, func, select

from aura.database import transaction
from aura.extensions import db
from aura.models import AuditEvent, ConversationTurn, MemoryRevision, User, utcnow

BATCH_SIZE = 5_000  # audit entries per delete
# Users whose revisions one short transaction prunes: with 500, a concurrent save's p99 went
# 3.3 -> 8.1 ms while a paced prune ran; with 100, 3.6 -> 5.0 ms (bench/migrations.py).
USERS_PER_BATCH = 100


@dataclass(frozen=True)
class PruneReport:
    revisions: int
    users: int


@dataclass(frozen=True)
class PruneProgress:
    """After each batch: where it got to (a re-run may start after ``last_user_id``) and how far."""

    last_user_id: int
    users_done: int
    users_total: int
    revisions: int
    seconds: float


def _beyond_limit(keep: int, after: int, upto: int):
    """(id, user_id) of each revision older than its user's newest ``keep``, for users in (after, upto]."""
    in_range = (MemoryRevision.user_id > after) & (MemoryRevision.user_id <= upto)
    ranked = (
        select(
            MemoryRevision.id,
            MemoryRevision.user_id,
            func.row_number()
            .over(partition_by=MemoryRevision.user_id, order_by=MemoryRevision.id.desc())
            .label("newer"),
        )
        .where(in_range)
        .subquery()
    )
    return select(ranked.c.id, ranked.c.user_id).where(ranked.c.newer > keep)


def _user_batches(after: int) -> Iterator[tuple[int, int, int]]:
    """(after, upto, users in it) for successive batches of user ids, read by the primary key."""
    while True:
        ids = db.session.scalars(
            select(User.id).where(User.id > after).order_by(User.id).limit(USERS_PER_BATCH)
        ).all()
        db.session.rollback()
        if not ids:
            return
        yield after, ids[-1], len(ids)
        after = ids[-1]


def prune_revisions(
    keep: int,
    dry_run: bool = False,
    after_user: int = 0,
    on_progress: Callable[[PruneProgress], None] | None = None,
    duty: float = 1.0,
) -> PruneReport:
    """Delete (or with ``dry_run`` only count) the revisions beyond the newest ``keep`` per user.

    Walks the users in id order, USERS_PER_BATCH at a time, each batch its own short
    transaction through the (user_id, id) index: memory stays bounded whatever the table's
    size, locks are held for milliseconds, and an interrupted run loses nothing (each batch
    is committed) and may resume after the last user it reported. The newest revision of a
    user (its current memory) is never among those removed.

    ``duty`` below 1 pauses after each batch so the prune works only that share of the time:
    at full speed it competes with saves for the database (in 500-user batches their p99 went
    2.8 -> 9.9 ms; paced at 0.5, 3.3 -> 8.1 ms).
    """
    if keep < 1:
        raise ValueError("keep must be at least 1")
    if not 0 < duty <= 1:
        raise ValueError("duty is a share of the time: more than 0, at most 1")
    total = db.session.scalar(select(func.count()).select_from(User).where(User.id > after_user))
    db.session.rollback()
    started = time.monotonic()
    revisions = users = done = 0
    for after, upto, count in _user_batches(after_user):
        batch_started = time.monotonic()
        with transaction() as session:
            doomed = session.execute(_beyond_limit(keep, after, upto)).all()
            if doomed and not dry_run:
                session.execute(
                    delete(MemoryRevision).where(MemoryRevision.id.in_([row.id for row in doomed]))
                )
        revisions += len(doomed)
        users += len({row.user_id for row in doomed})
        done += count
        if on_progress:
            on_progress(PruneProgress(upto, done, total, revisions, time.monotonic() - started))
        if duty < 1:
            time.sleep((time.monotonic() - batch_started) * (1 / duty - 1))
    return PruneReport(revisions=revisions, users=users)


def _prune_older(model, days: int, dry_run: bool) -> int:
    """Delete (or count) the rows of ``model`` created more than ``days`` ago, oldest first, in
    batches of BATCH_SIZE, each its own short transaction; how many."""
    if days < 1:
        raise ValueError("days must be at least 1")
    old = model.created_at < utcnow() - timedelta(days=days)
    if dry_run:
        count = db.session.scalar(select(func.count()).select_from(model).where(old))
        db.session.rollback()
        return count
    removed = 0
    while True:
        with transaction() as session:
            ids = list(session.scalars(select(model.id).where(old).order_by(model.id).limit(BATCH_SIZE)))
            if ids:
                session.execute(delete(model).where(model.id.in_(ids)))
        removed += len(ids)
        if len(ids) < BATCH_SIZE:
            return removed


def prune_audit_events(days: int, dry_run: bool = False) -> int:
    """Delete (or with ``dry_run`` only count) audit entries older than ``days``; how many."""
    return _prune_older(AuditEvent, days, dry_run)


def prune_conversation_turns(days: int, dry_run: bool = False) -> int:
    """Delete (or count) recorded chat turns older than ``days`` (AURA_CONVERSATION_RETENTION_DAYS)."""
    return _prune_older(ConversationTurn, days, dry_run)
