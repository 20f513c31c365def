"""CORS: the browser frontend on another origin may call the JSON API, nobody else's pages may."""

from __future__ import annotations

import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from aura import create_app
from aura.auth.tokens import mint_user_token
from tests.conftest import AUTH, LiveServer

FRONTEND = "http://127.0.0.1:5173"
PREFLIGHT = {
    "Origin": FRONTEND,
    "Access-Control-Request-Method": "POST",
    "Access-Control-Request-Headers": "authorization,content-type",
}


def cors_headers(response) -> list[str]:
    return [name for name, _ in response.headers.items() if name.startswith("Access-Control-")]


@pytest.fixture()
def cors_client(make_app, db):
    return make_app(AURA_CORS_ORIGINS=f"{FRONTEND}, https://app.example.com/").test_client()


class TestPreflight:
    def test_a_preflight_from_the_frontend_needs_no_token_and_allows_the_api(self, cors_client):
        response = cors_client.options("/api/v1/memory", headers=PREFLIGHT)
        assert response.status_code == 200
        headers = response.headers
        assert headers["Access-Control-Allow-Origin"] == FRONTEND
        assert {"authorization", "content-type"} <= set(headers["Access-Control-Allow-Headers"].split(", "))
        assert set(headers["Access-Control-Allow-Methods"].split(", ")) == {"GET", "POST", "PUT", "DELETE"}
        assert int(headers["Access-Control-Max-Age"]) >= 600
        assert "Access-Control-Allow-Credentials" not in headers  # bearer tokens, never cookies

    def test_a_preflight_does_not_count_as_a_failed_login(self, make_app, db):
        client = make_app(AURA_CORS_ORIGINS=FRONTEND, AURA_RATE_LIMIT_AUTH_FAILURES="1/minute").test_client()
        for _ in range(3):
            assert client.options("/api/v1/memory", headers=PREFLIGHT).status_code == 200
        assert client.get("/api/v1/memory/1", headers=AUTH).status_code == 200

    def test_other_origins_get_no_cors_headers(self, cors_client):
        response = cors_client.options(
            "/api/v1/memory", headers={**PREFLIGHT, "Origin": "https://evil.example"}
        )
        assert not cors_headers(response)

    def test_responses_and_errors_are_readable_by_the_frontend(self, cors_client):
        cors_client.post("/api/v1/memory", json={"user_id": 1, "content": "x"}, headers=AUTH)
        response = cors_client.get("/api/v1/memory/1", headers={**AUTH, "Origin": "https://app.example.com"})
        assert response.headers["Access-Control-Allow-Origin"] == "https://app.example.com"
        assert "ETag" in response.headers["Access-Control-Expose-Headers"]
        denied = cors_client.get("/api/v1/memory/1", headers={"Origin": FRONTEND})
        assert denied.status_code == 401
        assert denied.headers["Access-Control-Allow-Origin"] == FRONTEND  # so the app can show why

    def test_admin_pages_never_get_cors_headers(self, cors_client):
        response = cors_client.get("/admin/login", headers={"Origin": FRONTEND})
        assert not cors_headers(response)


def test_without_configured_origins_nothing_is_allowed(client):
    response = client.options("/api/v1/memory", headers=PREFLIGHT)
    assert not cors_headers(response)


@pytest.mark.parametrize(
    "value", ["app.example.com", "https://app.example.com/path", "ftp://x.example", "https://*.x"]
)
def test_malformed_origins_refuse_to_start(value):
    with pytest.raises(RuntimeError, match="AURA_CORS_ORIGINS"):
        create_app("testing", {"AURA_CORS_ORIGINS": value, "SQLALCHEMY_DATABASE_URI": "sqlite://"})


def test_production_refuses_any_origin():
    settings = {
        "SECRET_KEY": "x" * 40,
        "AURA_SERVICE_TOKENS": "f=" + "t" * 40,
        "SQLALCHEMY_DATABASE_URI": "sqlite://",
    }
    with pytest.raises(RuntimeError, match=r"AURA_CORS_ORIGINS=\*"):
        create_app("production", {**settings, "AURA_CORS_ORIGINS": "*"})


class _FrontendPage(SimpleHTTPRequestHandler):
    """Serves a blank page: the browser's origin for the fetch calls under test."""

    def do_GET(self) -> None:
        body = b"<!doctype html><title>frontend</title><p>AURA frontend</p>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture()
def frontend_origins():
    """Two page servers on loopback: an allowed frontend origin and a disallowed one."""
    servers = [ThreadingHTTPServer(("127.0.0.1", 0), _FrontendPage) for _ in range(2)]
    for server in servers:
        threading.Thread(target=server.serve_forever, daemon=True).start()
    yield [f"http://127.0.0.1:{server.server_port}" for server in servers]
    for server in servers:
        server.shutdown()
        server.server_close()


# The calls the frontend's src/api/orcha.ts makes, as a browser runs them.
FRONTEND_CALLS = """
async ({api, token, userId}) => {
  const headers = {"Authorization": `Bearer ${token}`, "Content-Type": "application/json"};
  try {
    const saved = await fetch(`${api}/api/v1/memory`, {
      method: "POST", headers, body: JSON.stringify({user_id: userId, content: "Likes sailing."}),
    });
    const got = await fetch(`${api}/api/v1/memory/${userId}`, {headers});
    return {saved: saved.status, etag: got.headers.get("ETag"), memory: (await got.json()).memory};
  } catch (error) {
    return {error: String(error)};
  }
}
"""


@pytest.mark.browser
def test_save_and_get_memory_from_another_origin_in_chromium(make_app, db, browser_page, frontend_origins):
    allowed, disallowed = frontend_origins
    app = make_app(AURA_CORS_ORIGINS=allowed)
    server = LiveServer(app).start()
    try:
        with app.app_context():
            tokens = {42: mint_user_token(42), 43: mint_user_token(43)}
        browser_page.goto(allowed)
        result = browser_page.evaluate(FRONTEND_CALLS, {"api": server.url, "token": tokens[42], "userId": 42})
        assert result["saved"] == 200, result
        assert result["memory"]["content"] == "Likes sailing."
        assert result["etag"] == '"1"'

        browser_page.goto(disallowed)
        blocked = browser_page.evaluate(
            FRONTEND_CALLS, {"api": server.url, "token": tokens[43], "userId": 43}
        )
        assert "Failed to fetch" in blocked.get("error", ""), blocked
        # The preflight was refused, so the browser never sent the save itself.
        memory = httpx.get(f"{server.url}/api/v1/memory/43", headers=AUTH).json()["memory"]
        assert memory is None
    finally:
        server.stop()
