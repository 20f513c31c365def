"""Memory events, written in the same transaction as the change they announce (an outbox).

Only when AURA_WEBHOOK_URLS is set: otherwise nothing is written and the hot path is what it
was. After the transaction commits, each new delivery is queued for the worker; one that could
not be queued is found by the periodic sweep.
"""

from __future__ import annotations

import uuid

from flask import current_app, has_app_context
from sqlalchemy import event
from sqlalchemy.orm import Session

from aura.models import WebhookDelivery, utcnow
from aura.webhooks.config import EXTENSION_KEY

EVENT_TYPES = ("memory.updated", "memory.deleted", "memory.proposal_created", "memory.settings_changed")
_PENDING_KEY = "aura_webhook_deliveries"


def webhooks_configured() -> bool:
    return has_app_context() and bool(current_app.extensions.get(EXTENSION_KEY, ((), None))[0])


def record_event(session: Session, event_type: str, user_id: int, version: int | None, source: str) -> None:
    """Write ``event_type`` for every receiver in the caller's transaction (no memory text, ever)."""
    if not webhooks_configured():
        return
    assert event_type in EVENT_TYPES, event_type
    now = utcnow()
    message_id = f"msg_{uuid.uuid4().hex}"
    payload = {
        "type": event_type,
        "timestamp": now.isoformat().replace("+00:00", "Z"),
        "data": {"user_id": user_id, "version": version, "source": source},
    }
    rows = [
        WebhookDelivery(
            message_id=message_id,
            url=url,
            event_type=event_type,
            user_id=user_id,
            payload=payload,
            state="pending",
            attempts=0,
            next_attempt_at=now,
            created_at=now,
        )
        for url in current_app.extensions[EXTENSION_KEY][0]
    ]
    session.add_all(rows)
    session.flush()
    session.info.setdefault(_PENDING_KEY, []).extend(row.id for row in rows)


@event.listens_for(Session, "after_commit")
def _queue_committed_deliveries(session: Session) -> None:
    """The change committed: hand its events to the worker (the request does not wait for them)."""
    pending = session.info.pop(_PENDING_KEY, None)
    if not pending:
        return
    from aura.jobs.queue import enqueue_delivery

    for delivery_id in pending:
        enqueue_delivery(delivery_id)


@event.listens_for(Session, "after_rollback")
def _forget_rolled_back_deliveries(session: Session) -> None:
    session.info.pop(_PENDING_KEY, None)


def recent_deliveries(user_id: int, limit: int = 10) -> list[WebhookDelivery]:
    """The user's latest webhook deliveries, newest first (admin user page)."""
    from sqlalchemy import select

    from aura.extensions import db

    return list(
        db.session.scalars(
            select(WebhookDelivery)
            .where(WebhookDelivery.user_id == user_id)
            .order_by(WebhookDelivery.id.desc())
            .limit(limit)
        )
    )
