"""Staff sessions that really end: absolute and idle limits, bound to the browser, revocable.

Flask keeps the session in a signed cookie, so a copied cookie works wherever it is sent
until something on the server says no. These are the things that say no:

- the account's session version (StaffUser.get_id): logout, a new password or deactivation
  bump it, and every cookie issued before stops loading an account;
- an absolute lifetime from login (AURA_SESSION_HOURS) and an idle limit
  (AURA_SESSION_IDLE_MINUTES), checked on every request, whatever the cookie's expiry says;
- the browser it was issued to (address and User-Agent, like Flask-Login's "strong" mode,
  which does not apply to permanent sessions).
"""

from __future__ import annotations

import hashlib
import time

from flask import current_app, g, request, session
from flask_login import login_user, logout_user

from aura.auth.staff import end_all_sessions
from aura.models import StaffUser


def _browser() -> str:
    seen = f"{request.remote_addr}|{request.headers.get('User-Agent', '')}"
    return hashlib.sha256(seen.encode()).hexdigest()[:32]


def start_session(staff: StaffUser) -> None:
    """Log in with a fresh CSRF secret (a token seen before login is worthless after it)."""
    session.clear()
    g.pop("csrf_token", None)  # Flask-WTF caches the token of the old secret for the request
    session.permanent = True  # the cookie expires too (AURA_SESSION_HOURS), not only the server check
    login_user(staff)
    now = time.time()
    session.update(aura_login_at=now, aura_seen_at=now, aura_browser=_browser())


def end_session(staff: StaffUser) -> None:
    """Log out here and everywhere else this account is signed in."""
    end_all_sessions(staff)
    logout_user()
    session.clear()


def session_problem() -> str | None:
    """Why the current staff session must end now, or None (and then it counts as activity)."""
    now = time.time()
    config = current_app.config
    if now - session.get("aura_login_at", 0) > config["AURA_SESSION_HOURS"] * 3600:
        return "Your session reached its time limit; please log in again."
    if now - session.get("aura_seen_at", 0) > config["AURA_SESSION_IDLE_MINUTES"] * 60:
        return "Your session ended after a period of inactivity; please log in again."
    if session.get("aura_browser") != _browser():
        return "Please log in again."
    session["aura_seen_at"] = now
    return None


def drop_session() -> None:
    """End this session only (it expired or moved to another browser)."""
    logout_user()
    session.clear()
