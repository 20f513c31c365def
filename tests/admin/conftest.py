"""Admin fixtures: a staff account and a logged-in test client that submits real CSRF tokens."""

from __future__ import annotations

import re

import pytest

from aura.auth.staff import create_staff

STAFF_EMAIL = "support@aura.example"
STAFF_PASSWORD = "correct horse battery staple"
TOKEN_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
VERSION_RE = re.compile(r'name="version"[^>]*value="([0-9]+)"|value="([0-9]+)"[^>]*name="version"')


def csrf_from(client, url: str) -> str:
    """The CSRF token a browser would find in the form on ``url``."""
    page = client.get(url).get_data(as_text=True)
    match = TOKEN_RE.search(page)
    assert match, f"no CSRF token in {url}"
    return match.group(1)


def form_from(client, url: str) -> dict[str, str]:
    """What a browser submits with the page's forms: the CSRF token and the memory version shown."""
    page = client.get(url).get_data(as_text=True)
    token, version = TOKEN_RE.search(page), VERSION_RE.search(page)
    assert token and version, f"no CSRF token or version in {url}"
    return {"csrf_token": token.group(1), "version": version.group(1) or version.group(2)}


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
