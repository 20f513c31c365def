"""Admin fixtures: a staff account and a logged-in test client that submits real CSRF tokens."""

from __future__ import annotations

import re

import pytest

from aura.staff import create_staff

STAFF_EMAIL = "support@aura.example"
STAFF_PASSWORD = "correct horse battery staple"
TOKEN_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def csrf_from(client, url: str) -> str:
    """The CSRF token a browser would find in the form on ``url``."""
    page = client.get(url).get_data(as_text=True)
    match = TOKEN_RE.search(page)
    assert match, f"no CSRF token in {url}"
    return match.group(1)


@pytest.fixture()
def staff(db):
    return create_staff(STAFF_EMAIL, STAFF_PASSWORD)


@pytest.fixture()
def admin(client, staff):
    """A test client logged in as staff, the way a browser does it (CSRF token included)."""
    token = csrf_from(client, "/admin/login")
    response = client.post(
        "/admin/login", data={"email": STAFF_EMAIL, "password": STAFF_PASSWORD, "csrf_token": token}
    )
    assert response.status_code == 302
    return client
