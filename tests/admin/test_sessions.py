"""Staff sessions end when they should, everywhere: logout, new password, time limits, another browser."""

from __future__ import annotations

import time

import pytest

from aura.auth.staff import set_password
from tests.admin.conftest import STAFF_EMAIL, STAFF_PASSWORD, TOKEN_RE, csrf_from


@pytest.fixture()
def own_app(make_app, staff):
    """An app of its own: the session-wide one shares one app context (and Flask's g) across
    the test's requests, which would hide per-request state such as the loaded account."""
    return make_app()


@pytest.fixture()
def admin(own_app):
    client = own_app.test_client()
    token = csrf_from(client, "/admin/login")
    client.post("/admin/login", data={"email": STAFF_EMAIL, "password": STAFF_PASSWORD, "csrf_token": token})
    return client


def copy_of(client, app):
    """A second client holding the same session cookie: a copied or stolen cookie."""
    thief = app.test_client()
    thief.set_cookie("session", client.get_cookie("session").value)
    return thief


def is_logged_in(client) -> bool:
    return client.get("/admin/users").status_code == 200


def test_logout_ends_copies_of_the_cookie_too(admin, own_app):
    thief = copy_of(admin, own_app)
    assert is_logged_in(thief)
    admin.post("/admin/logout", data={"csrf_token": csrf_from(admin, "/admin/users")})
    response = thief.get("/admin/users")
    assert response.status_code == 302 and response.headers["Location"].startswith("/admin/login")


def test_a_new_password_ends_every_session(admin, own_app, db):
    thief = copy_of(admin, own_app)
    set_password(STAFF_EMAIL, "a brand new passphrase")
    assert not is_logged_in(thief)
    assert not is_logged_in(admin)


def test_another_browser_cannot_use_the_cookie(admin, own_app):
    thief = copy_of(admin, own_app)
    thief.environ_base["HTTP_USER_AGENT"] = "Mozilla/5.0 (somewhere else)"
    assert not is_logged_in(thief)


def test_sessions_end_after_the_absolute_limit_even_when_active(admin, own_app, monkeypatch):
    own_app.config["AURA_SESSION_HOURS"] = 1
    try:
        assert is_logged_in(admin)
        later = time.time() + 3601
        monkeypatch.setattr(time, "time", lambda: later)
        response = admin.get("/admin/users", follow_redirects=True)
        assert "time limit" in response.get_data(as_text=True)
        assert not is_logged_in(admin)
    finally:
        own_app.config["AURA_SESSION_HOURS"] = 8


def test_sessions_end_after_the_idle_limit(admin, own_app, monkeypatch):
    real = time.time()
    monkeypatch.setattr(time, "time", lambda: real + 31 * 60)
    response = admin.get("/admin/users", follow_redirects=True)
    assert "inactivity" in response.get_data(as_text=True)


def test_the_csrf_token_changes_at_login(own_app):
    client = own_app.test_client()
    before = csrf_from(client, "/admin/login")
    client.post("/admin/login", data={"email": STAFF_EMAIL, "password": STAFF_PASSWORD, "csrf_token": before})
    after = TOKEN_RE.search(client.get("/admin/users").get_data(as_text=True)).group(1)
    assert after != before
    # The pre-login token no longer authorizes anything.
    response = client.post(
        "/admin/users/1/memory", data={"content": "x", "version": "0", "csrf_token": before}
    )
    assert response.status_code == 400


def test_admin_pages_are_never_cached(admin):
    assert admin.get("/admin/users").headers["Cache-Control"] == "no-store"
    assert admin.get("/admin/login").headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize("target", ["/admin/users\r\nX-Injected: 1", "/admin/users%0d%0a", "/admin/\x00"])
def test_odd_next_values_fall_back_to_the_users_page(own_app, target):
    client = own_app.test_client()
    token = csrf_from(client, "/admin/login")
    response = client.post(
        "/admin/login",
        query_string={"next": target},
        data={"email": STAFF_EMAIL, "password": STAFF_PASSWORD, "csrf_token": token},
    )
    assert response.status_code == 302
    assert "X-Injected" not in response.headers


@pytest.mark.parametrize("query", ["\x00", "a\x00b", "%00"])
def test_odd_search_text_is_a_page_not_a_500(admin, query):
    response = admin.get("/admin/users", query_string={"q": query})
    assert response.status_code == 200
