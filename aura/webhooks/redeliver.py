"""Sending failed webhook deliveries again: one, or all of a receiver's since a time.

A delivery whose retries ran out (about 17 hours) stays ``failed``. Once the receiver is fixed,
staff (the admin user page) or an operator (`flask webhooks redeliver`) send it again: it becomes
``pending`` with the same ``webhook-id`` (receivers deduplicate on it), gets the full retry
schedule again, and the action is audited for every user it concerns.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime

from sqlalchemy import select

from aura.database import transaction
from aura.memory.service import audit
from aura.memory.types import Actor
from aura.models import WebhookDelivery, utcnow
from aura.webhooks.outbox import queue_after_commit


def redeliver(
    actor: Actor,
    delivery_id: int | None = None,
    url: str | None = None,
    since: datetime | None = None,
    user_id: int | None = None,
) -> int:
    """Make the matching failed deliveries pending again (queued once this commits); how many.

    ``delivery_id`` names one (of ``user_id``, when given: the admin page's check); otherwise
    every failed delivery to ``url`` created at or after ``since`` (both optional filters).
    """
    query = select(WebhookDelivery).where(WebhookDelivery.state == "failed")
    if delivery_id is not None:
        query = query.where(WebhookDelivery.id == delivery_id)
    if user_id is not None:
        query = query.where(WebhookDelivery.user_id == user_id)
    if url is not None:
        query = query.where(WebhookDelivery.url == url)
    if since is not None:
        query = query.where(WebhookDelivery.created_at >= since)
    with transaction() as session:
        rows = list(session.scalars(query.with_for_update()))
        for row in rows:
            row.state, row.next_attempt_at = "pending", utcnow()
        per_user = Counter(row.user_id for row in rows)
        for user, count in per_user.items():
            audit(user, "webhook redeliver", actor, f"{count} failed deliveries sent again", staff_only=False)
        queue_after_commit(session, [row.id for row in rows])
    return len(rows)
