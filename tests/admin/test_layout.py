"""The admin pages at a laptop's width and a phone's: nothing scrolls sideways; screenshots of each."""

from __future__ import annotations

import re

import httpx
import pytest

from aura.memory import service
from aura.memory.service import Actor, RevisionSource
from aura.models import MemoryRevision
from tests.admin.conftest import STAFF_EMAIL, STAFF_PASSWORD
from tests.conftest import AUTH

pytestmark = pytest.mark.browser
WIDTHS = {"phone": 390, "laptop": 1280}
LONG_MEMORY = (
    (
        "Vegetarian; allergic to peanuts and shellfish. Works night shifts as a nurse at "
        "Hôpital Édouard-Herriot, so prefers messages after 14:00 UTC. " * 12
    )
    + "https://example.com/a-very-long-link-without-any-place-to-break-"
    + "x" * 80
)


def no_sideways_scroll(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth")


# Every visible control's text against the background it is drawn on, as WCAG 2 computes
# contrast (4.5:1 for text). The JSON export link was white on a white card and nothing noticed.
LOW_CONTRAST_CONTROLS = """() => {
  const rgb = (c) => (c.match(/[\\d.]+/g) || []).map(Number);
  const lum = ([r, g, b]) => {
    const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
  };
  const background = (el) => {
    for (; el; el = el.parentElement) {
      const c = rgb(getComputedStyle(el).backgroundColor);
      if (c.length === 3 || c[3] > 0) return c.slice(0, 3);
    }
    return [255, 255, 255];
  };
  const low = [];
  for (const el of document.querySelectorAll("a, button, summary, label, input, select, textarea")) {
    const box = el.getBoundingClientRect();
    if (!box.width || !box.height || !(el.innerText || el.value || "").trim()) continue;
    const [l1, l2] = [lum(rgb(getComputedStyle(el).color)), lum(background(el))].sort((a, b) => b - a);
    const ratio = (l1 + 0.05) / (l2 + 0.05);
    const text = (el.innerText || el.value).trim().slice(0, 40);
    if (ratio < 4.5) low.push(`${el.tagName} "${text}" ${ratio.toFixed(2)}:1`);
  }
  return low;
}"""


def test_every_page_fits_a_phone_and_a_laptop(live_server, staff, db, browser_page, tmp_path):
    from playwright.sync_api import expect

    base, page = live_server.url, browser_page
    failed_resources: list[str] = []  # the favicon was a 404 on every page (a console error)
    page.on(
        "response",
        lambda r: (
            failed_resources.append(r.url)
            if r.status >= 400 and r.request.resource_type != "document"
            else None
        ),
    )
    for content in ("Likes peanut butter. " + LONG_MEMORY, LONG_MEMORY + " Now also likes peanut brittle."):
        httpx.post(f"{base}/api/v1/memory", headers=AUTH, json={"user_id": 123456789012, "content": content})
    # A consolidation's provenance line, with the longest conversation id a client may send.
    provenance = {"model": "memory-model-" + "m" * 60, "turns_used": 12, "conversation_id": "c" * 200}
    service.save_memory(
        123456789012,
        LONG_MEMORY + " Lives in Oslo.",
        RevisionSource.CONSOLIDATION,
        Actor("svc"),
        details=provenance,
    )
    newest = db.session.query(MemoryRevision).order_by(MemoryRevision.id.desc()).first()
    page.goto(f"{base}/admin/login")
    page.get_by_label("Email").fill(STAFF_EMAIL)
    page.get_by_label("Password").fill(STAFF_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("status")).to_contain_text("Logged in.")

    pages = {
        "users": "/admin/users?q=peanut",
        "user": "/admin/users/123456789012",
        "diff": f"/admin/users/123456789012/revisions/{newest.id}/diff",
        "delete": "/admin/users/123456789012/delete",
        "unknown-user": "/admin/users/999999",
    }
    for device, width in WIDTHS.items():
        page.set_viewport_size({"width": width, "height": 900})
        for name, path in pages.items():
            page.goto(base + path)
            page.screenshot(path=str(tmp_path / f"{name}-{device}.png"), full_page=True)
            assert no_sideways_scroll(page), f"{name} scrolls sideways at {width} px"
            assert page.evaluate(LOW_CONTRAST_CONTROLS) == [], f"{name}: controls too faint to read"
    # The search shows why the user matched.
    page.goto(f"{base}/admin/users?q=PEANUT")
    expect(page.locator("mark").first).to_have_text(re.compile("peanut", re.I))
    assert len(list(tmp_path.glob("*.png"))) == len(pages) * len(WIDTHS)
    assert failed_resources == []
    # Browsers ask for /favicon.ico (a 404 and a console error on every page) unless told where it is.
    icon = httpx.get(base + page.locator('link[rel="icon"]').get_attribute("href"))
    assert icon.status_code == 200 and icon.headers["content-type"].startswith("image/svg+xml")


def test_save_is_disabled_while_the_text_is_over_the_limit(live_server, staff, browser_page, make_app):
    from playwright.sync_api import expect

    base, page = live_server.url, browser_page
    httpx.post(f"{base}/api/v1/memory", headers=AUTH, json={"user_id": 77, "content": "short"})
    page.goto(f"{base}/admin/login?next=/admin/users/77")
    page.get_by_label("Email").fill(STAFF_EMAIL)
    page.get_by_label("Password").fill(STAFF_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.locator("#editor > summary").click()
    editor = page.get_by_label("Memory", exact=True)
    editor.fill("x" * 20_001)
    expect(page.get_by_role("button", name="Save memory")).to_be_disabled()
    expect(editor).to_have_attribute("aria-invalid", "true")
    editor.fill("fits again")
    expect(page.get_by_role("button", name="Save memory")).to_be_enabled()
