"""End to end in a real browser: Debian's Chromium driven by Playwright, against a live server."""

from __future__ import annotations

import json
import re

import httpx
import pytest

from tests.admin.conftest import STAFF_EMAIL, STAFF_PASSWORD
from tests.conftest import AUTH

pytestmark = pytest.mark.browser


def api_memory(base: str, user_id: int):
    return httpx.get(f"{base}/api/v1/memory/{user_id}", headers=AUTH).json()["memory"]


def test_staff_fix_a_memory_end_to_end(live_server, staff, browser_page, tmp_path):
    from playwright.sync_api import expect

    base, page = live_server.url, browser_page
    httpx.post(
        f"{base}/api/v1/memory", headers=AUTH, json={"user_id": 4242, "content": "Enjoys long walks."}
    ).raise_for_status()
    httpx.post(
        f"{base}/api/v1/memory", headers=AUTH, json={"user_id": 7, "content": "Unrelated user."}
    ).raise_for_status()

    # Log in: any admin page sends an anonymous visitor to the login form first.
    page.goto(f"{base}/admin/users")
    expect(page).to_have_title(re.compile("Log in"))
    page.get_by_label("Email").fill(STAFF_EMAIL)
    page.get_by_label("Password").fill(STAFF_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("status")).to_contain_text("Logged in.")

    # Search by memory text and open the user.
    page.get_by_label("Find by user id or memory text").fill("LONG WALKS")
    page.get_by_role("button", name="Search").click()
    expect(page.get_by_role("link", name="7", exact=True)).to_have_count(0)
    page.get_by_role("link", name="4242", exact=True).click()
    expect(page).to_have_title(re.compile("User 4242"))
    expect(page.locator("#current-memory")).to_have_text("Enjoys long walks.")
    expect(page.locator("#model-preview")).to_contain_text("User Memory: Enjoys long walks.")

    # Edit: the counter follows the text, the save shows up in the JSON API.
    page.locator("#editor > summary").click()  # the memory is shown once; the editor opens on demand
    editor = page.get_by_label("Memory", exact=True)
    editor.fill("Enjoys long walks and sea swimming.")
    expect(page.locator("#content-count")).to_have_text("35 / 20,000 characters")
    page.get_by_role("button", name="Save memory").click()
    expect(page.get_by_role("status")).to_contain_text("Memory saved.")
    assert api_memory(base, 4242)["content"] == "Enjoys long walks and sea swimming."
    expect(page.locator("#model-preview")).to_contain_text("User Memory: Enjoys long walks and sea swimming.")
    expect(page.locator(".audit")).to_contain_text(f"{STAFF_EMAIL} (staff #{staff.id}) edit")
    page.screenshot(path=str(tmp_path / "user-page.png"), full_page=True)
    assert (tmp_path / "user-page.png").stat().st_size > 10_000

    # Restore the frontend's original revision.
    original = page.locator("tr", has=page.locator(".source-frontend"))
    original.get_by_role("button", name=re.compile("Restore revision")).click()
    expect(page.get_by_role("status")).to_contain_text("restored")
    assert api_memory(base, 4242)["content"] == "Enjoys long walks."

    # Delete, after the confirmation page.
    page.get_by_role("link", name="Delete…").click()
    expect(page.get_by_role("heading", name="Delete the memory of user 4242?")).to_be_visible()
    page.get_by_role("button", name="Confirm delete").click()
    expect(page.get_by_role("status")).to_contain_text("Memory deleted")
    assert api_memory(base, 4242) is None

    # Log out: the admin is closed again, even to a copy of the cookie saved before.
    saved_cookies = page.context.cookies()
    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_role("status")).to_contain_text("Logged out.")
    page.goto(f"{base}/admin/users/4242")
    expect(page).to_have_title(re.compile("Log in"))
    page.context.clear_cookies()
    page.context.add_cookies(saved_cookies)  # replaying the session from before logout
    page.goto(f"{base}/admin/users/4242")
    expect(page).to_have_title(re.compile("Log in"))
    assert page.dialogs == []


def test_hostile_memory_text_is_shown_not_run(live_server, staff, browser_page):
    from playwright.sync_api import expect

    base, page = live_server.url, browser_page
    payload = '<img src=x onerror="alert(1)"><script>alert(2)</script>'
    httpx.post(
        f"{base}/api/v1/memory", headers=AUTH, json={"user_id": 66, "content": payload}
    ).raise_for_status()
    page.goto(f"{base}/admin/login?next=/admin/users/66")
    page.get_by_label("Email").fill(STAFF_EMAIL)
    page.get_by_label("Password").fill(STAFF_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.locator("#current-memory")).to_have_text(payload)
    assert page.locator("#current-memory img").count() == 0
    assert page.dialogs == []


def log_in(page, base: str, next_path: str) -> None:
    page.goto(f"{base}/admin/login?next={next_path}")
    page.get_by_label("Email").fill(STAFF_EMAIL)
    page.get_by_label("Password").fill(STAFF_PASSWORD)
    page.get_by_role("button", name="Log in").click()


def test_edit_conflict_memory_switch_and_export_in_the_browser(live_server, staff, browser_page, tmp_path):
    from playwright.sync_api import expect

    base, page = live_server.url, browser_page
    save = {"user_id": 5151, "content": "Likes tea."}
    httpx.post(f"{base}/api/v1/memory", headers=AUTH, json=save).raise_for_status()
    log_in(page, base, "/admin/users/5151")
    expect(page.locator("#current-memory")).to_have_text("Likes tea.")

    # The frontend regenerates while the staff member is typing: no silent overwrite.
    page.locator("#editor > summary").click()
    page.get_by_label("Memory", exact=True).fill("Likes coffee.")
    regenerated = {"user_id": 5151, "content": "Likes tea; moved to Oslo."}
    httpx.post(f"{base}/api/v1/memory", headers=AUTH, json=regenerated).raise_for_status()
    page.get_by_role("button", name="Save memory").click()
    expect(page.get_by_role("heading", name="Changed since you opened it")).to_be_visible()
    expect(page.locator("#conflict-current")).to_have_text("Likes tea; moved to Oslo.")
    expect(page.locator("#conflict-yours")).to_have_text("Likes coffee.")
    assert api_memory(base, 5151)["content"] == "Likes tea; moved to Oslo."
    page.get_by_role("button", name="Save memory").click()  # now knowingly replacing theirs
    expect(page.get_by_role("status")).to_contain_text("Memory saved.")
    assert api_memory(base, 5151)["content"] == "Likes coffee."

    # Memory off: chat would leave it out, and the page says so.
    page.get_by_role("button", name="Switch memory off").click()
    expect(page.locator("#memory-switch-state")).to_contain_text("Off")
    expect(page.locator("#model-preview")).not_to_contain_text("User Memory: Likes coffee.")
    settings = httpx.get(f"{base}/api/v1/memory/5151/settings", headers=AUTH).json()["settings"]
    assert settings == {"enabled": False, "consolidation": "default"}
    page.get_by_role("button", name="Switch memory on").click()
    expect(page.locator("#model-preview")).to_contain_text("User Memory: Likes coffee.")

    # The export downloads as a file holding the whole history.
    with page.expect_download() as download_info:
        page.get_by_role("button", name=re.compile("JSON export")).click()
    download = download_info.value
    assert download.suggested_filename == "aura-memory-5151.json"
    target = tmp_path / download.suggested_filename
    download.save_as(target)
    document = json.loads(target.read_text())

    # The history says what the staff edit changed, word by word.
    page.get_by_role("link", name=re.compile("What changed")).first.click()
    expect(page.get_by_role("heading", name="What changed")).to_be_visible()
    expect(page.locator("#diff ins")).to_contain_text("coffee.")
    expect(page.locator("#diff del").first).to_contain_text("tea;")
    assert [r["content"] for r in document["revisions"]] == [
        "Likes tea.",
        "Likes tea; moved to Oslo.",
        "Likes coffee.",
    ]
    assert page.dialogs == []
