"""Sessions are for the admin pages: the bearer-token API neither reads nor sets the cookie."""

from __future__ import annotations

from tests.admin.conftest import STAFF_EMAIL, STAFF_PASSWORD, csrf_from


def test_api_responses_set_no_session_cookie_even_when_sent_one(client, staff):
    token = csrf_from(client, "/admin/login")  # the admin page did start a session
    client.post("/admin/login", data={"email": STAFF_EMAIL, "password": STAFF_PASSWORD, "csrf_token": token})
    assert client.get_cookie("session") is not None
    response = client.get("/api/v1/memory/1")
    assert response.status_code == 200
    assert "Set-Cookie" not in response.headers
    assert "Cookie" not in response.headers.get("Vary", "")


def test_the_admin_pages_still_keep_their_session(client, staff):
    token = csrf_from(client, "/admin/login")
    response = client.post(
        "/admin/login", data={"email": STAFF_EMAIL, "password": STAFF_PASSWORD, "csrf_token": token}
    )
    assert response.status_code == 302
    assert client.get("/admin/users").status_code == 200
