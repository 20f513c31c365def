"""The pending proposal on the admin user page: a word diff, and Accept / Reject (CSRF, audited)."""

from __future__ import annotations

import re

from aura.consolidation.proposals import get_proposal, propose
from aura.memory.service import Actor
from aura.models import AuditEvent
from tests.admin.conftest import csrf_from

PAGE = "/admin/users/{}"


def _save(client, user_id: int, content: str) -> None:
    assert client.post("/api/v1/memory", json={"user_id": user_id, "content": content}).status_code == 200


def _pending(app, user_id: int, content: str, based_on: int, reason: str = "review") -> int:
    with app.app_context():
        details = {"model": "memory-model", "turns_used": 4, "turns_received": 4}
        return propose(user_id, content, based_on, reason, details, Actor("svc")).id


def _form(client, user_id: int) -> dict:
    page = client.get(PAGE.format(user_id)).get_data(as_text=True)
    proposal_id = re.search(r'name="proposal_id"[^>]*value="(\d+)"', page).group(1)
    version = re.search(r'id="proposal".*?name="version"[^>]*value="(\d+)"', page, re.S).group(1)
    return {
        "csrf_token": csrf_from(client, PAGE.format(user_id)),
        "proposal_id": proposal_id,
        "version": version,
    }


def test_the_page_shows_the_proposal_beside_the_memory_with_a_word_diff(admin, app, db):
    _save(admin, 1, "Lives in Lyon. Likes tea.")
    _pending(app, 1, "Lives in Paris. Likes tea.", 1)
    page = admin.get(PAGE.format(1)).get_data(as_text=True)
    assert "Pending proposal" in page and "Waiting for review (review mode)." in page
    assert "<del>Lyon.</del>" in page and "<ins>Paris.</ins>" in page
    assert "consolidated by model memory-model from 4 turns" in " ".join(page.split())


def test_accept_makes_it_the_memory_and_is_audited(admin, app, db):
    _save(admin, 2, "Lives in Lyon.")
    _pending(app, 2, "Lives in Paris.", 1)
    response = admin.post("/admin/users/2/proposal/accept", data=_form(admin, 2), follow_redirects=True)
    assert "Proposal accepted" in response.get_data(as_text=True)
    assert admin.get("/api/v1/memory/2").get_json()["memory"]["content"] == "Lives in Paris."
    events = db.session.query(AuditEvent).filter_by(user_id=2, action="accept proposal").all()
    assert len(events) == 1 and events[0].staff_id is not None


def test_reject_keeps_the_memory(admin, app, db):
    _save(admin, 3, "Lives in Lyon.")
    _pending(app, 3, "Lives in Paris.", 1, reason="shrink")
    assert "Held by the shrink guard" in admin.get(PAGE.format(3)).get_data(as_text=True)
    response = admin.post("/admin/users/3/proposal/reject", data=_form(admin, 3), follow_redirects=True)
    assert "Proposal rejected" in response.get_data(as_text=True)
    assert admin.get("/api/v1/memory/3").get_json()["memory"]["content"] == "Lives in Lyon."
    with app.app_context():
        assert get_proposal(3) is None


def test_accepting_over_a_memory_that_moved_is_refused(admin, app, db):
    _save(admin, 4, "Lives in Lyon.")
    _pending(app, 4, "Lives in Paris.", 1)
    form = _form(admin, 4)
    _save(admin, 4, "Lives in Nice.")  # the frontend saves while staff look at the page
    response = admin.post("/admin/users/4/proposal/accept", data=form, follow_redirects=True)
    assert "the memory changed since the proposal was made" in response.get_data(as_text=True)
    assert admin.get("/api/v1/memory/4").get_json()["memory"]["content"] == "Lives in Nice."


def test_a_replaced_proposal_is_not_accepted_and_csrf_is_required(admin, app, db):
    _save(admin, 5, "Lives in Lyon.")
    _pending(app, 5, "Lives in Paris.", 1)
    form = _form(admin, 5)
    _pending(app, 5, "Lives in Rome.", 1)
    response = admin.post("/admin/users/5/proposal/accept", data=form, follow_redirects=True)
    assert "no longer pending" in response.get_data(as_text=True)
    assert admin.post("/admin/users/5/proposal/accept", data={**form, "csrf_token": ""}).status_code == 400
    assert admin.get("/api/v1/memory/5").get_json()["memory"]["content"] == "Lives in Lyon."


def test_staff_review_a_proposal_in_chromium_on_a_phone_and_a_laptop(
    live_server, staff, browser_page, app, tmp_path
):
    import httpx
    import pytest
    from playwright.sync_api import expect

    from tests.admin.conftest import STAFF_EMAIL, STAFF_PASSWORD
    from tests.admin.test_layout import no_sideways_scroll
    from tests.conftest import AUTH

    pytest.importorskip("playwright")
    base, page = live_server.url, browser_page
    long_words = "Prefers messages after 14:00 UTC; works night shifts at Hôpital Édouard-Herriot. " * 6
    httpx.post(
        f"{base}/api/v1/memory", headers=AUTH, json={"user_id": 77, "content": "Lives in Lyon. " + long_words}
    )
    _pending(app, 77, "Lives in Paris. " + long_words + "Has a cat called Miso.", 1)
    page.goto(f"{base}/admin/login")
    page.get_by_label("Email").fill(STAFF_EMAIL)
    page.get_by_label("Password").fill(STAFF_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("status")).to_contain_text("Logged in.")
    for name, width in {"phone": 390, "laptop": 1280}.items():
        page.set_viewport_size({"width": width, "height": 900})
        page.goto(f"{base}/admin/users/77")
        expect(page.locator("#proposal-diff del")).to_have_text("Lyon.")
        expect(page.locator("#proposal-diff ins").first).to_have_text("Paris.")
        page.locator("#proposal").screenshot(path=str(tmp_path / f"proposal-{name}.png"))
        assert no_sideways_scroll(page), f"the proposal scrolls sideways at {width} px"
    page.get_by_role("button", name="Accept").click()
    expect(page.get_by_role("status")).to_contain_text("Proposal accepted")
    expect(page.locator("#current-memory")).to_contain_text("Has a cat called Miso.")
    expect(page.locator("#proposal")).to_have_count(0)
    memory = httpx.get(f"{base}/api/v1/memory/77", headers=AUTH).json()["memory"]
    assert memory["content"].startswith("Lives in Paris.") and memory["version"] == 2
