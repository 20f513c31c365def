"""Signed memory events, delivered by a real worker to a loopback receiver."""

from __future__ import annotations

import base64
import time

import pytest
from standardwebhooks import Webhook

from aura.models import WebhookDelivery
from tests.conftest import service_client
from tests.fake_llm import Answer
from tests.jobs.conftest import _typed, wait_for
from tests.webhooks.receiver import Receiver
from tests.worker_process import worker

SECRET = "whsec_" + base64.b64encode(b"0123456789abcdef0123456789abcdef").decode()
TEXT = "Allergic to peanuts; lives at 221B Baker Street."


@pytest.fixture()
def receiver():
    running = Receiver()
    yield running
    running.stop()


@pytest.fixture()
def hook_settings(job_settings, receiver) -> dict[str, str]:
    return {**job_settings, "AURA_WEBHOOK_URLS": receiver.url, "AURA_WEBHOOK_SECRET": SECRET,
            "AURA_WEBHOOK_RETRY_DELAY": "0.5"}  # fmt: skip


@pytest.fixture()
def hooked(make_app, hook_settings):
    return service_client(make_app(**_typed(hook_settings)))


def _events(receiver: Receiver) -> list[dict]:
    """Every event received, each verified against its Standard Webhooks signature."""
    verifier = Webhook(SECRET)
    return [verifier.verify(r.body, r.headers) for r in receiver.received]


def test_each_change_is_announced_signed_and_without_memory_text(
    hooked, receiver, fake_llm, database_url, hook_settings, db
):
    hooked.post("/api/v1/memory", json={"user_id": 1, "content": TEXT})
    hooked.put("/api/v1/memory/1/settings", json={"enabled": True, "consolidation": "review"})
    fake_llm.script(Answer(reply=TEXT + " Has a cat."))
    hooked.post(
        "/api/v1/memory/1/consolidate", json={"messages": [{"role": "user", "content": "I got a cat"}]}
    )
    hooked.delete("/api/v1/memory/1")
    with worker(database_url, hook_settings["AURA_QUEUE_URL"], **hook_settings):
        wait_for(lambda: len(receiver.received) >= 4, what="four deliveries")
    events = sorted(_events(receiver), key=lambda e: e["timestamp"])  # workers deliver concurrently
    assert [e["type"] for e in events] == [
        "memory.updated",
        "memory.settings_changed",
        "memory.proposal_created",
        "memory.deleted",
    ]
    assert events[0]["data"] == {"user_id": 1, "version": 1, "source": "frontend"}
    assert events[1]["data"] == {"user_id": 1, "version": None, "source": "api"}
    assert events[2]["data"] == {"user_id": 1, "version": 1, "source": "consolidation"}
    assert events[3]["data"] == {"user_id": 1, "version": 2, "source": "erasure"}
    assert all(set(e) == {"type", "timestamp", "data"} for e in events)
    for raw in receiver.received:
        assert b"peanuts" not in raw.body and b"Baker" not in raw.body and b"cat" not in raw.body
        assert (
            raw.headers["webhook-id"].startswith("msg_") and raw.headers["content-type"] == "application/json"
        )
    assert len({r.headers["webhook-id"] for r in receiver.received}) == 4


def test_a_receiver_that_is_down_gets_the_event_later_under_the_same_id(
    hooked, receiver, database_url, hook_settings, db
):
    receiver.statuses.extend([503, 500])
    hooked.post("/api/v1/memory", json={"user_id": 2, "content": TEXT})
    with worker(database_url, hook_settings["AURA_QUEUE_URL"], **hook_settings):
        wait_for(lambda: len(receiver.received) == 3, what="two failures and a delivery")
        time.sleep(0.5)
        db.session.rollback()
        delivery = db.session.query(WebhookDelivery).filter_by(user_id=2).one()

        def state() -> str:
            db.session.rollback()
            return db.session.get(WebhookDelivery, delivery.id).state

        wait_for(lambda: state() == "delivered", what="the delivery recorded")
    assert len({r.headers["webhook-id"] for r in receiver.received}) == 1
    delivery = db.session.get(WebhookDelivery, delivery.id)
    assert delivery.attempts == 3 and delivery.last_status == 204 and delivery.delivered_at is not None
    assert len(_events(receiver)) == 3  # each attempt freshly signed, all valid


def test_an_unreachable_receiver_is_retried_until_it_comes_up(make_app, job_settings, database_url, db):
    from tests.processes import free_port

    port = free_port()
    settings = {
        **job_settings,
        "AURA_WEBHOOK_URLS": f"http://127.0.0.1:{port}/hooks",
        "AURA_WEBHOOK_SECRET": SECRET,
        "AURA_WEBHOOK_RETRY_DELAY": "0.5",
    }
    client = service_client(make_app(**_typed(settings)))
    client.post("/api/v1/memory", json={"user_id": 3, "content": TEXT})

    def attempts() -> int:
        db.session.rollback()
        return db.session.query(WebhookDelivery).filter_by(user_id=3).one().attempts

    with worker(database_url, settings["AURA_QUEUE_URL"], **settings):
        wait_for(lambda: attempts() >= 1, what="a failed attempt (nothing listening)")
        late = Receiver(port=port)  # the receiver comes up
        try:
            wait_for(lambda: late.received, seconds=30, what="the delivery once the receiver is up")
        finally:
            late.stop()
    assert Webhook(SECRET).verify(late.received[0].body, late.received[0].headers)["type"] == "memory.updated"
    db.session.rollback()
    delivery = db.session.query(WebhookDelivery).filter_by(user_id=3).one()
    assert delivery.state == "delivered" and delivery.attempts >= 2
    assert "ConnectError" in (delivery.last_error or "ConnectError")


def test_the_request_does_not_wait_for_the_receiver(hooked, receiver, database_url, hook_settings, db):
    receiver.delay = 3.0
    started = time.monotonic()
    assert hooked.post("/api/v1/memory", json={"user_id": 4, "content": TEXT}).status_code == 200
    assert time.monotonic() - started < 2.0  # waiting for the receiver would take its 3 s
    assert db.session.query(WebhookDelivery).filter_by(user_id=4).one().state == "pending"


def test_a_change_that_rolls_back_announces_nothing(hooked, db):
    hooked.put("/api/v1/memory/5/settings", json={"enabled": False})
    assert hooked.post("/api/v1/memory", json={"user_id": 5, "content": TEXT}).status_code == 409
    db.session.rollback()
    assert [d.event_type for d in db.session.query(WebhookDelivery).filter_by(user_id=5)] == [
        "memory.settings_changed"
    ]


def test_without_receivers_nothing_is_written(client, db):
    client.post("/api/v1/memory", json={"user_id": 6, "content": TEXT})
    assert db.session.query(WebhookDelivery).count() == 0


@pytest.mark.parametrize(
    ("urls", "secret", "complaint"),
    [
        ("ftp://hooks.example/x", SECRET, "is not an http"),
        ("https://user:pass@hooks.example/x", SECRET, "credentials"),
        ("https://hooks.example/x", "", "whsec_"),
        ("https://hooks.example/x", "whsec_!!!not-base64", "not a valid whsec_ secret"),
    ],
    ids=["scheme", "credentials", "no-secret", "bad-secret"],
)
def test_bad_webhook_settings_stop_start_up(make_app, urls, secret, complaint):
    with pytest.raises(RuntimeError, match=complaint):
        make_app(AURA_WEBHOOK_URLS=urls, AURA_WEBHOOK_SECRET=secret)


def test_deliveries_and_their_outcomes_show_on_the_admin_page_and_in_metrics(
    hooked, receiver, database_url, hook_settings, db
):
    import httpx

    from aura.auth.staff import create_staff
    from tests.admin.conftest import STAFF_EMAIL, STAFF_PASSWORD, csrf_from
    from tests.jobs.test_background import _sample
    from tests.processes import free_port

    receiver.statuses.append(503)
    hooked.post("/api/v1/memory", json={"user_id": 7, "content": TEXT})
    port = free_port()
    with worker(
        database_url, hook_settings["AURA_QUEUE_URL"], AURA_WORKER_METRICS_PORT=str(port), **hook_settings
    ):
        wait_for(lambda: len(receiver.received) == 2, what="a failure and a delivery")

        def scrape() -> str:
            return httpx.get(f"http://127.0.0.1:{port}/metrics").text

        wait_for(
            lambda: _sample(scrape(), "aura_webhook_deliveries_total", outcome="delivered") == 1,
            what="the delivery counted",
        )
        metrics = scrape()
    assert _sample(metrics, "aura_webhook_deliveries_total", event="memory.updated", outcome="retrying") == 1
    create_staff(STAFF_EMAIL, STAFF_PASSWORD)
    token = csrf_from(hooked, "/admin/login")
    hooked.post("/admin/login", data={"email": STAFF_EMAIL, "password": STAFF_PASSWORD, "csrf_token": token})
    page = " ".join(hooked.get("/admin/users/7").get_data(as_text=True).split())
    assert "Webhook deliveries" in page and "memory.updated" in page and receiver.url in page
    assert 'class="badge delivery-delivered">delivered</span>' in page
