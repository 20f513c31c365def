"""Deliver one event to one receiver, signed as Standard Webhooks says; retried until it lands.

At least once: a delivery stays pending until a receiver answers 2xx, with the same webhook-id
on every attempt so receivers can drop duplicates. Huey retries with backoff (for hours, not
minutes); the sweep re-queues a pending delivery whose job was lost.
"""

from __future__ import annotations

import json
import logging
from datetime import timedelta

import httpx
from flask import current_app
from prometheus_client import Counter

from aura.database import transaction
from aura.extensions import db
from aura.models import WebhookDelivery, utcnow
from aura.webhooks.config import signer

log = logging.getLogger(__name__)
WEBHOOK_DELIVERIES = Counter(
    "aura_webhook_deliveries_total", "Webhook delivery attempts by outcome", ["event", "outcome"]
)
MAX_ERROR = 300


class DeliveryFailed(Exception):
    """The receiver was unreachable or answered non-2xx: Huey tries again later."""


def _send(delivery: WebhookDelivery) -> tuple[int | None, str | None]:
    """POST the signed event; (status, error) with error None on a 2xx."""
    body = json.dumps(delivery.payload, separators=(",", ":"), ensure_ascii=False)
    now = utcnow()
    headers = {
        "content-type": "application/json",
        "user-agent": "aura-webhooks",
        "webhook-id": delivery.message_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": signer().sign(delivery.message_id, now, body),
    }
    cfg = current_app.config
    timeout = httpx.Timeout(cfg["AURA_WEBHOOK_TIMEOUT"], connect=cfg["AURA_WEBHOOK_CONNECT_TIMEOUT"])
    try:
        response = httpx.post(delivery.url, content=body.encode(), headers=headers, timeout=timeout)
    except httpx.HTTPError as error:
        return None, f"{error.__class__.__name__} reaching the receiver"
    if 200 <= response.status_code < 300:
        return response.status_code, None
    return response.status_code, f"HTTP {response.status_code}"


def deliver_webhook(delivery_id: int, task=None) -> str:
    """One attempt; raises DeliveryFailed (to be retried) while retries remain."""
    delivery = db.session.get(WebhookDelivery, delivery_id)
    if delivery is None or delivery.state != "pending":
        db.session.rollback()
        return "nothing_to_do"
    db.session.expunge(delivery)
    db.session.rollback()  # no database connection held while the receiver answers
    status, error = _send(delivery)
    retries_left = bool(task is not None and task.retries)
    now = utcnow()
    if error is None:
        state, outcome, next_attempt = "delivered", "delivered", None
    elif retries_left:
        state, outcome = "pending", "retrying"
        next_attempt = now + timedelta(seconds=task.retry_delay or 0)
    else:
        state, outcome, next_attempt = "failed", "failed", None
    with transaction() as session:
        row = session.get(WebhookDelivery, delivery_id)
        if row is not None:
            row.attempts += 1
            row.last_status = status
            row.last_error = error[:MAX_ERROR] if error else None
            row.state = state
            row.next_attempt_at = next_attempt
            row.delivered_at = now if state == "delivered" else None
    WEBHOOK_DELIVERIES.labels(delivery.event_type, outcome).inc()
    if outcome == "retrying":
        log.warning("webhook %s to %s failed (%s); retrying", delivery.message_id, _host(delivery.url), error)
        raise DeliveryFailed(error)
    if outcome == "failed":
        log.error("webhook %s to %s failed for good (%s)", delivery.message_id, _host(delivery.url), error)
    return outcome


def _host(url: str) -> str:
    """Receiver for logs: scheme and host only (a path may carry a token)."""
    parsed = httpx.URL(url)
    return f"{parsed.scheme}://{parsed.host}"
