"""Admin pages through Flask's test client: access control, CSRF, validation, escaping."""

from __future__ import annotations

import pytest

from aura.models import AuditEvent, MemoryRevision
from tests.admin.conftest import STAFF_EMAIL, STAFF_PASSWORD, csrf_from, form_from

XSS = '<script>alert("pwned")</script><img src=x onerror=alert(1)>'


def save(client, user_id: int, content: str) -> None:
    assert client.post("/api/v1/memory", json={"user_id": user_id, "content": content}).status_code == 200


class TestAccess:
    @pytest.mark.parametrize(
        ("method", "url"),
        [
            ("get", "/admin/"),
            ("get", "/admin/users"),
            ("get", "/admin/users/1"),
            ("get", "/admin/users/1/delete"),
            ("post", "/admin/users/1/memory"),
            ("post", "/admin/users/1/delete"),
            ("post", "/admin/users/1/revisions/1/restore"),
        ],
    )
    def test_every_page_redirects_anonymous_visitors_to_login(self, client, method, url):
        # Writes carry a valid CSRF token, so it's the login check that turns them away.
        data = {"csrf_token": csrf_from(client, "/admin/login"), "content": "x", "mode": "erase"}
        response = client.get(url) if method == "get" else client.post(url, data=data)
        assert response.status_code == 302
        assert response.headers["Location"].startswith("/admin/login?next=")

    def test_login_with_wrong_password_is_refused(self, client, staff):
        token = csrf_from(client, "/admin/login")
        response = client.post(
            "/admin/login", data={"email": STAFF_EMAIL, "password": "nope", "csrf_token": token}
        )
        assert response.status_code == 401
        assert "Wrong email or password." in response.get_data(as_text=True)
        assert client.get("/admin/users").status_code == 302

    def test_unknown_account_gets_the_same_answer(self, client, staff):
        token = csrf_from(client, "/admin/login")
        response = client.post(
            "/admin/login", data={"email": "who@x.example", "password": STAFF_PASSWORD, "csrf_token": token}
        )
        assert response.status_code == 401
        assert "Wrong email or password." in response.get_data(as_text=True)

    def test_deactivated_staff_cannot_log_in(self, client, staff, db):
        staff.active = False
        db.session.commit()
        token = csrf_from(client, "/admin/login")
        response = client.post(
            "/admin/login", data={"email": STAFF_EMAIL, "password": STAFF_PASSWORD, "csrf_token": token}
        )
        assert response.status_code == 401

    def test_login_returns_to_the_requested_admin_page_only(self, client, staff):
        token = csrf_from(client, "/admin/login")
        data = {"email": STAFF_EMAIL.upper(), "password": STAFF_PASSWORD, "csrf_token": token}
        response = client.post("/admin/login?next=/admin/users/5", data=data)
        assert response.headers["Location"] == "/admin/users/5"

    @pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/admin", "/\\evil.example"])
    def test_login_never_redirects_off_site(self, client, staff, target):
        token = csrf_from(client, "/admin/login")
        data = {"email": STAFF_EMAIL, "password": STAFF_PASSWORD, "csrf_token": token}
        response = client.post(f"/admin/login?next={target}", data=data)
        assert response.headers["Location"] == "/admin/users"

    def test_logout_ends_the_session(self, admin):
        token = csrf_from(admin, "/admin/users")
        assert admin.post("/admin/logout", data={"csrf_token": token}).status_code == 302
        assert admin.get("/admin/users").status_code == 302

    def test_password_guessing_is_rate_limited_with_a_page(self, make_app, staff):
        client = make_app(AURA_RATE_LIMIT_LOGIN="2 per minute").test_client()
        token = csrf_from(client, "/admin/login")
        data = {"email": STAFF_EMAIL, "password": "guess", "csrf_token": token}
        assert [client.post("/admin/login", data=data).status_code for _ in range(2)] == [401, 401]
        blocked = client.post("/admin/login", data={**data, "password": STAFF_PASSWORD})
        assert blocked.status_code == 429
        assert blocked.mimetype == "text/html"
        assert int(blocked.headers["Retry-After"]) >= 1
        assert client.get("/admin/users").status_code == 302

    def test_session_cookie_is_httponly_and_samesite(self, client, staff):
        token = csrf_from(client, "/admin/login")
        response = client.post(
            "/admin/login", data={"email": STAFF_EMAIL, "password": STAFF_PASSWORD, "csrf_token": token}
        )
        cookie = response.headers["Set-Cookie"]
        assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
        assert "Expires=" in cookie  # a session of AURA_SESSION_HOURS, not an endless one


class TestCsrf:
    def test_login_without_token_is_rejected(self, client, staff):
        response = client.post("/admin/login", data={"email": STAFF_EMAIL, "password": STAFF_PASSWORD})
        assert response.status_code == 400
        assert response.mimetype == "text/html"
        assert client.get("/admin/users").status_code == 302

    @pytest.mark.parametrize(
        "url",
        [
            "/admin/users/1/memory",
            "/admin/users/1/delete",
            "/admin/users/1/revisions/1/restore",
            "/admin/logout",
        ],
    )
    def test_writes_without_token_are_rejected_and_change_nothing(self, admin, db, url):
        save(admin, 1, "original")
        response = admin.post(url, data={"content": "hijacked", "mode": "erase"})
        assert response.status_code == 400
        assert admin.get("/api/v1/memory/1").get_json()["memory"]["content"] == "original"

    def test_forged_token_is_rejected(self, admin):
        save(admin, 1, "original")
        response = admin.post("/admin/users/1/memory", data={"content": "x", "csrf_token": "forged"})
        assert response.status_code == 400


class TestUsersList:
    def test_lists_users_with_memory_state_length_and_update(self, admin):
        save(admin, 10, "abc")
        save(admin, 11, "defgh")
        admin.delete("/api/v1/memory/11")
        page = admin.get("/admin/users").get_data(as_text=True)
        assert "/admin/users/10" in page and "3 chars" in page and "has memory" in page

    def test_search_by_user_id_and_by_text_case_insensitively(self, admin):
        save(admin, 21, "Loves Jazz and vinyl")
        save(admin, 22, "Prefers metal")
        by_id = admin.get("/admin/users?q=22").get_data(as_text=True)
        assert "/admin/users/22" in by_id and "/admin/users/21" not in by_id
        by_text = admin.get("/admin/users?q=jAZZ").get_data(as_text=True)
        assert "/admin/users/21" in by_text and "/admin/users/22" not in by_text

    def test_search_treats_like_wildcards_literally(self, admin):
        save(admin, 31, "100% sure")
        save(admin, 32, "100 percent")
        page = admin.get("/admin/users?q=100%25").get_data(as_text=True)
        assert "/admin/users/31" in page and "/admin/users/32" not in page

    @pytest.mark.parametrize("query", ["²", "9999999999999999999", "00042"])
    def test_digit_like_queries_that_are_not_user_ids_search_text_only(self, admin, query):
        save(admin, 42, "plain memory")
        response = admin.get(f"/admin/users?q={query}")
        assert response.status_code == 200
        assert "/admin/users/42" not in response.get_data(as_text=True)

    def test_sort_by_last_update_and_paginate(self, admin):
        for user_id in range(1, 31):
            save(admin, user_id, f"memory {user_id}")
        newest_first = admin.get("/admin/users?sort=updated_desc").get_data(as_text=True)
        assert newest_first.index('/admin/users/30"') < newest_first.index('/admin/users/29"')
        assert "Page 1 of 2" in newest_first
        oldest_first = admin.get("/admin/users?sort=updated_asc&page=2").get_data(as_text=True)
        assert '/admin/users/30"' in oldest_first and '/admin/users/1"' not in oldest_first

    def test_invalid_filters_are_reset_not_a_crash(self, admin):
        response = admin.get("/admin/users?sort=drop_table&page=-1")
        assert response.status_code == 200
        assert "have been reset" in response.get_data(as_text=True)


class TestUserPage:
    def test_shows_memory_times_preview_and_history(self, admin, app):
        save(admin, 5, "Likes tea.")
        save(admin, 5, "Likes coffee.")
        page = admin.get("/admin/users/5").get_data(as_text=True)
        assert "Likes coffee." in page
        assert "User Memory: Likes coffee." in page  # what the model sees
        assert "You are AURA, an advanced assistant" in page
        assert page.count('class="badge source-frontend"') == 2
        assert "<title>User 5 · AURA admin</title>" in page

    def test_memory_text_is_escaped(self, admin):
        save(admin, 6, XSS)
        page = admin.get("/admin/users/6").get_data(as_text=True)
        assert XSS not in page
        assert "&lt;script&gt;alert(&#34;pwned&#34;)&lt;/script&gt;" in page

    def test_a_known_user_without_memory_is_a_normal_page(self, admin):
        admin.put("/api/v1/memory/404/settings", json={"enabled": True})  # AURA knows the id now
        page = admin.get("/admin/users/404").get_data(as_text=True)
        assert "This user has no memory." in page

    def test_an_id_never_seen_is_a_404_that_offers_to_create_a_memory(self, admin):
        response = admin.get("/admin/users/999999")
        assert response.status_code == 404
        page = response.get_data(as_text=True)
        assert "No user 999999" in page and "Write a memory" not in page
        assert 'href="/admin/users/999999?create=1"' in page
        create = admin.get("/admin/users/999999?create=1")
        assert create.status_code == 200 and "Write a memory" in create.get_data(as_text=True)

    @pytest.mark.parametrize("page", ["-3", "0", "abc", "99999999999"])
    def test_odd_history_pages_still_render(self, admin, page):
        save(admin, 15, "text")
        assert admin.get(f"/admin/users/15?page={page}").status_code == 200

    def test_user_id_out_of_range_is_404(self, admin):
        assert admin.get(f"/admin/users/{2**63}").status_code == 404


class TestWrites:
    def test_edit_saves_records_staff_and_redirects_with_flash(self, admin, staff, db):
        save(admin, 7, "wrong")
        response = admin.post(
            "/admin/users/7/memory", data={"content": "right", **form_from(admin, "/admin/users/7")}
        )
        assert response.status_code == 302
        assert admin.get("/api/v1/memory/7").get_json()["memory"]["content"] == "right"
        latest = (
            db.session.query(MemoryRevision).filter_by(user_id=7).order_by(MemoryRevision.id.desc()).first()
        )
        assert (latest.source, latest.staff_id, latest.actor) == ("staff", staff.id, STAFF_EMAIL)
        page = admin.get("/admin/users/7").get_data(as_text=True)
        assert "Memory saved." in page
        assert f"(staff #{staff.id}) <strong>edit</strong>" in page

    @pytest.mark.parametrize(
        ("content", "message"),
        [("   ", "must not be empty"), ("x" * 20_001, "the maximum is 20,000"), ("a\x00b", "NUL")],
    )
    def test_invalid_edit_shows_the_error_and_saves_nothing(self, admin, content, message):
        save(admin, 8, "keep me")
        response = admin.post(
            "/admin/users/8/memory", data={"content": content, **form_from(admin, "/admin/users/8")}
        )
        assert response.status_code == 422
        assert message in response.get_data(as_text=True)
        assert admin.get("/api/v1/memory/8").get_json()["memory"]["content"] == "keep me"

    def test_restore_brings_back_an_old_revision_as_a_new_one(self, admin, db, staff):
        save(admin, 9, "first")
        save(admin, 9, "second")
        first = db.session.query(MemoryRevision).filter_by(user_id=9, content="first").one()
        form = form_from(admin, "/admin/users/9")
        assert admin.post(f"/admin/users/9/revisions/{first.id}/restore", data=form).status_code == 302
        assert admin.get("/api/v1/memory/9").get_json()["memory"]["content"] == "first"
        newest = (
            db.session.query(MemoryRevision).filter_by(user_id=9).order_by(MemoryRevision.id.desc()).first()
        )
        assert (newest.source, newest.staff_id) == ("restore", staff.id)

    def test_restore_of_another_users_revision_is_404(self, admin, db):
        save(admin, 9, "mine")
        save(admin, 10, "theirs")
        theirs = db.session.query(MemoryRevision).filter_by(user_id=10).one()
        form = form_from(admin, "/admin/users/9")
        response = admin.post(f"/admin/users/9/revisions/{theirs.id}/restore", data=form)
        assert response.status_code == 404
        assert admin.get("/api/v1/memory/9").get_json()["memory"]["content"] == "mine"

    def test_delete_keeps_history_so_it_can_be_restored(self, admin, db, staff):
        save(admin, 12, "keep in history")
        token = csrf_from(admin, "/admin/users/12/delete")
        response = admin.post("/admin/users/12/delete", data={"mode": "clear", "csrf_token": token})
        assert response.status_code == 302
        assert admin.get("/api/v1/memory/12").get_json()["memory"] is None
        assert db.session.query(MemoryRevision).filter_by(user_id=12).count() == 1
        event = db.session.query(AuditEvent).filter_by(user_id=12).one()
        assert (event.action, event.staff_id) == ("delete", staff.id)

    def test_erase_removes_history_but_keeps_the_audit_trail(self, admin, db, staff):
        save(admin, 13, "private")
        token = csrf_from(admin, "/admin/users/13/delete")
        admin.post("/admin/users/13/delete", data={"mode": "erase", "csrf_token": token})
        assert db.session.query(MemoryRevision).filter_by(user_id=13).count() == 0
        event = db.session.query(AuditEvent).filter_by(user_id=13).one()
        assert (event.action, event.staff_id, event.detail) == ("erase", staff.id, None)
        assert "private" not in admin.get("/admin/users/13").get_data(as_text=True)

    def test_delete_asks_for_confirmation_first(self, admin):
        save(admin, 14, "still here")
        page = admin.get("/admin/users/14/delete").get_data(as_text=True)
        assert "Delete the memory of user 14?" in page
        assert admin.get("/api/v1/memory/14").get_json()["memory"]["content"] == "still here"


def test_the_search_shows_the_text_around_the_match(admin):
    save(admin, 31, "Loves hiking. Allergic to PEANUTS since childhood. Prefers short answers.")
    save(admin, 32, "Nothing to see here.")
    page = admin.get("/admin/users?q=peanut").get_data(as_text=True)
    assert "Allergic to <mark>PEANUT</mark>S since childhood" in page
    assert "Nothing to see here" not in page


def test_snippets_escape_memory_text(admin):
    save(admin, 33, "<script>alert(1)</script> peanut")
    page = admin.get("/admin/users?q=peanut").get_data(as_text=True)
    assert "&lt;script&gt;alert(1)&lt;/script&gt; <mark>peanut</mark>" in page
