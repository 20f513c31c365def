"""Memory events become webhook deliveries, written in the same transaction as the change they
announce (an outbox): the memory layer's events (aura.events) have this as their listener.

Only when AURA_WEBHOOK_URLS is set (init_webhooks subscribes then): otherwise nothing listens and
the hot path is what it was. After the transaction commits, each new delivery is queued for the
worker; one that could not be queued is found by the periodic sweep.
"""

from __future__ import annotations

import uuid

from flask import Flask
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from aura import events
from aura.extensions import db
from aura.jobs.queue import enqueue_delivery
from aura.models import WebhookDelivery, utcnow
from aura.webhooks.config import load_webhooks, receivers

_PENDING_KEY = "aura_webhook_deliveries"


def init_webhooks(app: Flask) -> None:
    """Check the settings and, when there are receivers, listen to the app's memory events."""
    if load_webhooks(app):
        events.subscribe(app, record_event)


def record_event(session: Session, memory_event: events.MemoryEvent) -> None:
    """Write the event for every receiver in the caller's transaction (no memory text, ever)."""
    now = utcnow()
    message_id = f"msg_{uuid.uuid4().hex}"
    payload = {
        "type": memory_event.type,
        "timestamp": now.isoformat().replace("+00:00", "Z"),
        "data": {
            "user_id": memory_event.user_id,
            "version": memory_event.version,
            "source": memory_event.source,
        },
    }
    rows = [
        WebhookDelivery(
            message_id=message_id,
            url=url,
            event_type=memory_event.type,
            user_id=memory_event.user_id,
            payload=payload,
            state="pending",
            attempts=0,
            next_attempt_at=now,
            created_at=now,
        )
        for url in receivers()
    ]
    session.add_all(rows)
    session.flush()
    queue_after_commit(session, [row.id for row in rows])


def queue_after_commit(session: Session, delivery_ids: list[int]) -> None:
    """Hand these deliveries to the worker once the session's transaction commits (never before)."""
    session.info.setdefault(_PENDING_KEY, []).extend(delivery_ids)


@event.listens_for(Session, "after_commit")
def _queue_committed_deliveries(session: Session) -> None:
    """The change committed: hand its events to the worker (the request does not wait for them)."""
    for delivery_id in session.info.pop(_PENDING_KEY, None) or ():
        enqueue_delivery(delivery_id)


@event.listens_for(Session, "after_rollback")
def _forget_rolled_back_deliveries(session: Session) -> None:
    session.info.pop(_PENDING_KEY, None)


def recent_deliveries(user_id: int, limit: int = 10) -> list[WebhookDelivery]:
    """The user's latest webhook deliveries, newest first (admin user page)."""
    return list(
        db.session.scalars(
            select(WebhookDelivery)
            .where(WebhookDelivery.user_id == user_id)
            .order_by(WebhookDelivery.id.desc())
            .limit(limit)
        )
    )
