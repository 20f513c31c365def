"""Periodic work of the worker: queue what is due but unattended, and apply turn retention."""

from __future__ import annotations

import logging
from datetime import timedelta

from flask import current_app
from sqlalchemy import select

from aura.database import transaction
from aura.jobs import state
from aura.jobs.metrics import JOBS
from aura.jobs.queue import enqueue_consolidation, enqueue_delivery
from aura.memory.retention import prune_conversation_turns
from aura.models import WebhookDelivery, utcnow

log = logging.getLogger(__name__)


def sweep_due_users() -> int:
    """Queue a job for every user due with no live job or lease: after a lost queue (a Redis
    without persistence restarting), a killed worker, or retries that ran out. How many."""
    timing = state.Timing.from_config(current_app.config)
    queued = 0
    while True:
        with transaction() as session:
            users = state.take_due(session, utcnow(), timing)
        for user_id in users:
            queued += enqueue_consolidation(user_id, 0)
        if len(users) < state.SWEEP_BATCH:
            break
    if queued:
        log.info("sweep queued %d overdue consolidation(s)", queued)
    redelivered = _sweep_deliveries(timing)
    if redelivered:
        log.info("sweep queued %d overdue webhook deliveries", redelivered)
    JOBS.labels("sweep", "ok").inc()
    return queued


def _sweep_deliveries(timing: state.Timing) -> int:
    """Pending webhook deliveries whose attempt is overdue by a lease: their job was lost."""
    now = utcnow()
    stale = now - timedelta(seconds=timing.lease_seconds)
    with transaction() as session:
        overdue = session.scalars(
            select(WebhookDelivery)
            .where(WebhookDelivery.state == "pending", WebhookDelivery.next_attempt_at < stale)
            .order_by(WebhookDelivery.next_attempt_at)
            .limit(state.SWEEP_BATCH)
            .with_for_update(skip_locked=True)
        ).all()
        for delivery in overdue:
            delivery.next_attempt_at = now
        ids = [delivery.id for delivery in overdue]
    return sum(enqueue_delivery(delivery_id) for delivery_id in ids)


def prune_old_turns() -> int:
    """AURA_CONVERSATION_RETENTION_DAYS, daily (`flask memory prune` does the same on demand)."""
    days = current_app.config["AURA_CONVERSATION_RETENTION_DAYS"]
    removed = prune_conversation_turns(days) if days else 0
    log.info("retention removed %d recorded turn(s) older than %d days", removed, days)
    JOBS.labels("prune_turns", "ok").inc()
    return removed
