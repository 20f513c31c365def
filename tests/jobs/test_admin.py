"""The admin user page: recorded turns, the last and the pending consolidation, "Consolidate now"."""

from __future__ import annotations

from aura.auth.staff import create_staff
from aura.models import AuditEvent, ConsolidationState
from tests.admin.conftest import STAFF_EMAIL, STAFF_PASSWORD, csrf_from
from tests.fake_llm import Answer
from tests.jobs.conftest import wait_for
from tests.worker_process import worker


def _log_in(client) -> None:
    create_staff(STAFF_EMAIL, STAFF_PASSWORD)
    token = csrf_from(client, "/admin/login")
    client.post("/admin/login", data={"email": STAFF_EMAIL, "password": STAFF_PASSWORD, "csrf_token": token})


def _page(client, user_id: int) -> str:
    return " ".join(client.get(f"/admin/users/{user_id}").get_data(as_text=True).split())


def test_staff_see_the_turns_and_consolidate_now(make_app, fake_llm, database_url, job_settings, db):
    from tests.conftest import service_client
    from tests.jobs.conftest import _typed

    settings = {**job_settings, "AURA_CONSOLIDATE_AFTER_SECONDS": "3600"}
    web = service_client(make_app(**_typed(settings)))
    for message in ("I sail", "I sail on weekends"):
        web.post("/api/v1/orcha/chat", json={"user_id": 60, "message": message})
    _log_in(web)
    page = _page(web, 60)
    assert "2 recorded chat turns (2 not yet consolidated)" in page
    assert "Last consolidation: none yet" in page and "Pending: due" in page

    token = csrf_from(web, "/admin/users/60")
    assert web.post("/admin/users/60/consolidate", data={}).status_code == 400  # no CSRF token: refused
    response = web.post("/admin/users/60/consolidate", data={"csrf_token": token}, follow_redirects=True)
    assert "Consolidation queued" in response.get_data(as_text=True)
    assert db.session.query(AuditEvent).filter_by(user_id=60, action="consolidate now").count() == 1

    fake_llm.default = Answer(reply="Sails on weekends.")
    with worker(database_url, settings["AURA_QUEUE_URL"], **settings):
        wait_for(lambda: web.get("/api/v1/memory/60").get_json()["memory"], what="the consolidation")
    page = _page(web, 60)
    assert "(0 not yet consolidated)" in page and "(changed)" in page and "Pending: nothing" in page
    db.session.rollback()
    assert db.session.get(ConsolidationState, 60).watermark_turn_id > 0


def test_without_a_queue_the_page_says_so_and_offers_no_button(make_app, db):
    """PostgreSQL with per-process rate limits and no AURA_QUEUE_URL has no queue (aura.jobs.queue)."""
    from aura.jobs.queue import EXTENSION_KEY, queue_url
    from tests.conftest import service_client

    app = make_app()
    config = {
        **app.config,
        "RATELIMIT_STORAGE_URI": "memory://",
        "SQLALCHEMY_DATABASE_URI": "postgresql://db/aura",
    }
    assert queue_url(config) is None
    app.extensions[EXTENSION_KEY] = None  # what init_jobs leaves for such a configuration
    client = service_client(app)
    client.post("/api/v1/memory", json={"user_id": 61, "content": "x"})
    _log_in(client)
    page = _page(client, 61)
    assert "No job queue is configured" in page and "Consolidate now" not in page
    token = csrf_from(client, "/admin/users/61")
    response = client.post("/admin/users/61/consolidate", data={"csrf_token": token}, follow_redirects=True)
    assert "No job queue is configured" in response.get_data(as_text=True)
