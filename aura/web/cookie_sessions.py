"""Flask's signed-cookie sessions, opened only where something uses them: the admin pages.

The JSON API authenticates every request with a bearer token and never reads or writes the
session, yet Flask opened one per request (building a signing serializer and parsing the
cookies): 8% of a GET's CPU in the profile. API requests get Flask's NullSession instead,
which reads as empty and refuses writes, so a stray write on the API fails loudly rather
than setting a cookie.
"""

from __future__ import annotations

from flask import Flask, Request, Response
from flask.sessions import NullSession, SecureCookieSession, SecureCookieSessionInterface

API_PREFIX = "/api/"


class AdminOnlySessions(SecureCookieSessionInterface):
    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        if request.path.startswith(API_PREFIX):
            return NullSession()
        return super().open_session(app, request)

    def save_session(self, app: Flask, session: SecureCookieSession, response: Response) -> None:
        if isinstance(session, NullSession):
            return
        super().save_session(app, session, response)


def init_cookie_sessions(app: Flask) -> None:
    app.session_interface = AdminOnlySessions()
