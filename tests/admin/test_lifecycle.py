"""Admin pages and the memory lifecycle: no silent overwrites, the memory switch, the export."""

from __future__ import annotations

import json
import re
import threading
from concurrent.futures import ThreadPoolExecutor
from importlib import metadata

import httpx

from aura.models import AuditEvent, MemoryRevision
from tests.admin.conftest import STAFF_EMAIL, TOKEN_RE, VERSION_RE, form_from
from tests.conftest import AUTH


def save(client, user_id: int, content: str, **kwargs):
    return client.post("/api/v1/memory", json={"user_id": user_id, "content": content}, **kwargs)


def current_text(client, user_id: int) -> str | None:
    memory = client.get(f"/api/v1/memory/{user_id}").get_json()["memory"]
    return memory and memory["content"]


class TestNoSilentOverwrite:
    def test_staff_editing_a_memory_the_frontend_regenerated_gets_both_texts(self, admin, db):
        save(admin, 7, "Likes tea.")
        opened = form_from(admin, "/admin/users/7")  # the staff member opens the editor...
        save(admin, 7, "Likes tea; moved to Oslo.")  # ...and the frontend regenerates meanwhile
        response = admin.post("/admin/users/7/memory", data={"content": "Likes coffee.", **opened})

        assert response.status_code == 412
        page = response.get_data(as_text=True)
        assert "changed since you opened it" in page
        assert "Likes tea; moved to Oslo." in page and "Likes coffee." in page
        assert current_text(admin, 7) == "Likes tea; moved to Oslo."
        assert db.session.query(MemoryRevision).filter_by(content="Likes coffee.").count() == 0

        # The re-rendered form now carries the version it showed: saving again is a knowing overwrite.
        resubmit = admin.post(
            "/admin/users/7/memory", data={"content": "Likes coffee.", **form_from_html(page)}
        )
        assert resubmit.status_code == 302
        assert current_text(admin, 7) == "Likes coffee."

    def test_writing_a_first_memory_when_the_frontend_just_created_one(self, admin):
        opened = form_from(admin, "/admin/users/8?create=1")
        assert opened["version"] == "0"
        save(admin, 8, "From the frontend.")
        response = admin.post("/admin/users/8/memory", data={"content": "From staff.", **opened})
        assert response.status_code == 412
        assert current_text(admin, 8) == "From the frontend."

    def test_a_memory_deleted_while_editing_is_reported_not_recreated(self, admin):
        save(admin, 9, "text")
        opened = form_from(admin, "/admin/users/9")
        admin.delete("/api/v1/memory/9")
        response = admin.post("/admin/users/9/memory", data={"content": "edited", **opened})
        assert response.status_code == 412
        assert "was deleted" in response.get_data(as_text=True)
        assert current_text(admin, 9) is None

    def test_a_form_without_the_version_is_refused_as_stale(self, admin):
        save(admin, 10, "text")
        form = form_from(admin, "/admin/users/10")
        del form["version"]
        response = admin.post("/admin/users/10/memory", data={"content": "edited", **form})
        assert response.status_code == 422
        assert "out of date" in response.get_data(as_text=True)
        assert current_text(admin, 10) == "text"

    def test_restore_from_a_stale_page_changes_nothing(self, admin, db):
        save(admin, 11, "first")
        opened = form_from(admin, "/admin/users/11")
        save(admin, 11, "second")
        first = db.session.query(MemoryRevision).filter_by(user_id=11, content="first").one()
        response = admin.post(
            f"/admin/users/11/revisions/{first.id}/restore", data=opened, follow_redirects=True
        )
        assert "Not restored" in response.get_data(as_text=True)
        assert current_text(admin, 11) == "second"


def form_from_html(page: str) -> dict[str, str]:
    version = VERSION_RE.search(page)
    return {"csrf_token": TOKEN_RE.search(page).group(1), "version": version.group(1) or version.group(2)}


def test_staff_edit_racing_a_conditional_frontend_save_has_one_winner(admin, live_server, db):
    """Both based on version 1 and sent at once: exactly one lands, the other gets 412."""
    save(admin, 12, "base")
    opened = form_from(admin, "/admin/users/12")
    # The admin test client's session, sent from the same "browser" (same User-Agent).
    browser = {"User-Agent": f"Werkzeug/{metadata.version('werkzeug')}"}
    cookies = {"session": admin.get_cookie("session").value}
    barrier = threading.Barrier(2)

    def staff_edit() -> tuple[int, str]:
        with httpx.Client(base_url=live_server.url, headers=browser, cookies=cookies, timeout=60) as http:
            barrier.wait()
            response = http.post("/admin/users/12/memory", data={"content": "staff text", **opened})
            return response.status_code, response.headers.get("Location", "")

    def frontend_save() -> int:
        with httpx.Client(base_url=live_server.url, headers=AUTH, timeout=60) as http:
            barrier.wait()
            return save(http, 12, "frontend text", headers={"If-Match": '"1"'}).status_code

    with ThreadPoolExecutor(max_workers=2) as pool:
        staff_future, frontend_future = pool.submit(staff_edit), pool.submit(frontend_save)
        (staff_code, location), frontend_code = staff_future.result(), frontend_future.result()

    if staff_code == 302:
        assert location.endswith("/admin/users/12"), location  # saved, not bounced to the login page
        assert (frontend_code, current_text(admin, 12)) == (412, "staff text")
    else:
        assert (staff_code, frontend_code, current_text(admin, 12)) == (412, 200, "frontend text")
    assert db.session.query(MemoryRevision).filter_by(user_id=12).count() == 2


class TestMemorySwitch:
    def test_switching_off_is_audited_refuses_staff_edits_and_hides_the_memory_from_chat(
        self, admin, db, staff
    ):
        save(admin, 20, "Allergic to peanuts.")
        response = admin.post(
            "/admin/users/20/settings", data={"enabled": "off", **form_from(admin, "/admin/users/20")}
        )
        assert response.status_code == 302
        page = admin.get("/admin/users/20").get_data(as_text=True)
        assert "Memory switched off" in page and "Switch memory on" in page
        assert "User Memory: Allergic to peanuts." not in page  # the model preview agrees with chat
        assert admin.get("/api/v1/memory/20/settings").get_json()["settings"] == {
            "enabled": False,
            "consolidation": "default",
        }
        event = db.session.query(AuditEvent).filter_by(user_id=20).one()
        assert (event.action, event.staff_id, event.actor) == ("memory off", staff.id, STAFF_EMAIL)

        refused = admin.post(
            "/admin/users/20/memory", data={"content": "edit", **form_from(admin, "/admin/users/20")}
        )
        assert refused.status_code == 409
        assert "switched off" in refused.get_data(as_text=True)
        assert current_text(admin, 20) == "Allergic to peanuts."

        admin.post("/admin/users/20/settings", data={"enabled": "on", **form_from(admin, "/admin/users/20")})
        assert "User Memory: Allergic to peanuts." in admin.get("/admin/users/20").get_data(as_text=True)
        assert admin.get("/api/v1/memory/20/settings").get_json()["settings"] == {
            "enabled": True,
            "consolidation": "default",
        }

    def test_an_invalid_switch_value_changes_nothing(self, admin):
        admin.post(
            "/admin/users/21/settings",
            data={"enabled": "maybe", **form_from(admin, "/admin/users/21?create=1")},
        )
        assert admin.get("/api/v1/memory/21/settings").get_json()["settings"] == {
            "enabled": True,
            "consolidation": "default",
        }


def test_export_download_matches_the_api_and_is_audited(admin, db, staff):
    save(admin, 30, "one")
    save(admin, 30, "two ✓")
    page = admin.get("/admin/users/30").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    assert admin.get("/admin/users/30/export").status_code == 405  # no cross-site link can trigger it
    assert admin.post("/admin/users/30/export").status_code == 400  # nor a form without the token
    response = admin.post("/admin/users/30/export", data={"csrf_token": token})
    assert response.status_code == 200
    assert response.headers["Content-Disposition"] == 'attachment; filename="aura-memory-30.json"'
    downloaded = json.loads(response.get_data(as_text=True))
    from_api = admin.get("/api/v1/memory/30/export").get_json()
    assert {**downloaded, "exported_at": None} == {**from_api, "exported_at": None}
    assert [r["content"] for r in downloaded["revisions"]] == ["one", "two ✓"]
    event = db.session.query(AuditEvent).filter_by(user_id=30).one()
    assert (event.action, event.staff_id) == ("export", staff.id)
    assert 'action="/admin/users/30/export"' in page
