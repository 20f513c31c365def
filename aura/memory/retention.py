"""Retention: at most AURA_MAX_REVISIONS revisions per user, so history cannot grow without bound,
and audit entries for AURA_AUDIT_RETENTION_DAYS (every settings change and export adds one).

New saves prune in their own transaction (aura.memory.statements); this applies the same rule
to rows written before the limit existed or was lowered (`flask memory prune`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, func, select

from aura.extensions import db
from aura.memory.service import transaction
from aura.models import AuditEvent, MemoryRevision, utcnow

BATCH_SIZE = 5_000


@dataclass(frozen=True)
class PruneReport:
    revisions: int
    users: int


def _beyond_limit(keep: int):
    """(id, user_id) of every revision older than its user's newest ``keep``."""
    ranked = select(
        MemoryRevision.id,
        MemoryRevision.user_id,
        func.row_number()
        .over(partition_by=MemoryRevision.user_id, order_by=MemoryRevision.id.desc())
        .label("newer"),
    ).subquery()
    return select(ranked.c.id, ranked.c.user_id).where(ranked.c.newer > keep)


def prune_revisions(keep: int, dry_run: bool = False) -> PruneReport:
    """Delete (or with ``dry_run`` only count) the revisions beyond the newest ``keep`` per user.

    Deletes in batches of ids, each its own short transaction, so a large backlog never holds
    long locks; the newest revision of a user (its current memory) is never among them.
    """
    if keep < 1:
        raise ValueError("keep must be at least 1")
    doomed = db.session.execute(_beyond_limit(keep)).all()
    db.session.rollback()  # end the read before deleting: no long-lived transaction
    report = PruneReport(revisions=len(doomed), users=len({user_id for _, user_id in doomed}))
    if dry_run:
        return report
    ids = [revision_id for revision_id, _ in doomed]
    for start in range(0, len(ids), BATCH_SIZE):
        with transaction() as session:
            session.execute(
                delete(MemoryRevision).where(MemoryRevision.id.in_(ids[start : start + BATCH_SIZE]))
            )
    return report


def prune_audit_events(days: int, dry_run: bool = False) -> int:
    """Delete (or with ``dry_run`` only count) audit entries older than ``days``; how many.

    In batches of BATCH_SIZE, each its own short transaction, oldest first.
    """
    if days < 1:
        raise ValueError("days must be at least 1")
    cutoff = utcnow() - timedelta(days=days)
    old = AuditEvent.created_at < cutoff
    if dry_run:
        count = db.session.scalar(select(func.count()).select_from(AuditEvent).where(old))
        db.session.rollback()
        return count
    removed = 0
    while True:
        with transaction() as session:
            batch = select(AuditEvent.id).where(old).order_by(AuditEvent.id).limit(BATCH_SIZE)
            ids = list(session.scalars(batch))
            if ids:
                session.execute(delete(AuditEvent).where(AuditEvent.id.in_(ids)))
        removed += len(ids)
        if len(ids) < BATCH_SIZE:
            return removed
