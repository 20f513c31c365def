"""Failed webhook deliveries sent again, by staff on the user page or by `flask webhooks redeliver`,
audited; the same webhook-id, a new retry schedule."""

from __future__ import annotations

import base64
from datetime import timedelta

import pytest

from aura.auth.staff import create_staff
from aura.memory import service
from aura.models import AuditEvent, WebhookDelivery, utcnow
from tests.admin.conftest import STAFF_EMAIL, STAFF_PASSWORD, csrf_from

SECRET = "whsec_" + base64.b64encode(b"0123456789abcdef0123456789abcdef").decode()
RECEIVER = "https://hooks.example/aura"


def _delivery(db, user_id: int, state: str = "failed", url: str = RECEIVER, age_hours: float = 1) -> int:
    row = WebhookDelivery(
        message_id=f"msg_{user_id}_{state}_{age_hours}",
        url=url,
        event_type="memory.updated",
        user_id=user_id,
        payload={"type": "memory.updated", "data": {"user_id": user_id}},
        state=state,
        attempts=12 if state == "failed" else 1,
        last_error="HTTP 500",
        created_at=utcnow() - timedelta(hours=age_hours),
    )
    db.session.add(row)
    db.session.commit()
    return row.id


def _state(db, delivery_id: int) -> str:
    db.session.rollback()
    return db.session.get(WebhookDelivery, delivery_id).state


def test_the_cli_sends_a_receivers_failed_deliveries_since_a_time_again(runner, db):
    recent, old = _delivery(db, 1, age_hours=2), _delivery(db, 2, age_hours=48)
    other, delivered = _delivery(db, 3, url="https://other.example/hook"), _delivery(db, 4, state="delivered")
    since = (utcnow() - timedelta(hours=24)).strftime("%Y-%m-%d %H:%M:%S")
    result = runner.invoke(args=["webhooks", "redeliver", "--url", RECEIVER, "--since", since])
    assert result.exit_code == 0, result.output
    assert "Queued 1 failed delivery to be sent again." in result.output
    assert [_state(db, d) for d in (recent, old, other, delivered)] == [
        "pending",
        "failed",
        "failed",
        "delivered",
    ]
    audit = db.session.query(AuditEvent).filter_by(user_id=1, action="webhook redeliver").one()
    assert audit.actor == "cli:webhooks" and "1 failed deliveries" in audit.detail
    assert runner.invoke(args=["webhooks", "redeliver", "--id", str(old)]).output.startswith("Queued 1")
    assert _state(db, old) == "pending"


def test_the_cli_lists_failed_deliveries_and_wants_a_target(runner, db):
    _delivery(db, 5)
    assert "1 failed to https://hooks.example/aura" in runner.invoke(args=["webhooks", "failed"]).output
    result = runner.invoke(args=["webhooks", "redeliver"])
    assert result.exit_code == 2 and "Name a delivery" in result.output


@pytest.fixture()
def staff(db):
    return create_staff(STAFF_EMAIL, STAFF_PASSWORD)


@pytest.fixture()
def staff_on_webhooks_app(make_app, staff):
    client = make_app(AURA_WEBHOOK_URLS=RECEIVER, AURA_WEBHOOK_SECRET=SECRET).test_client()
    token = csrf_from(client, "/admin/login")
    client.post("/admin/login", data={"email": STAFF_EMAIL, "password": STAFF_PASSWORD, "csrf_token": token})
    return client


def test_staff_send_a_failed_delivery_again_from_the_user_page(staff_on_webhooks_app, staff, db):
    client = staff_on_webhooks_app
    for user_id in (6, 7):
        service.save_memory(user_id, "Likes tea.")
    failed, other_users = _delivery(db, 6), _delivery(db, 7)
    page = client.get("/admin/users/6").get_data(as_text=True)
    assert f"/admin/users/6/webhooks/{failed}/redeliver" in page and "Send again" in page
    token = csrf_from(client, "/admin/users/6")
    response = client.post(f"/admin/users/6/webhooks/{failed}/redeliver", data={"csrf_token": token})
    assert response.status_code == 302 and _state(db, failed) == "pending"
    audit = db.session.query(AuditEvent).filter_by(user_id=6, action="webhook redeliver").one()
    assert audit.staff_id == staff.id
    # Another user's delivery cannot be sent from this user's page; a CSRF-less post changes nothing.
    client.post(f"/admin/users/6/webhooks/{other_users}/redeliver", data={"csrf_token": token})
    assert _state(db, other_users) == "failed"
    client.post(f"/admin/users/7/webhooks/{other_users}/redeliver")
    assert _state(db, other_users) == "failed"
