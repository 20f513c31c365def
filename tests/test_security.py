"""Limits, production safety and security headers."""

from __future__ import annotations

import socket
import time

import pytest

from aura import create_app
from aura.config import DEFAULT_SECRET_KEY
from tests.conftest import AUTH, SHARED_LIMITS, LiveServer, service_client

STRONG = "s" * 40


def production(**overrides):
    settings = {
        "SECRET_KEY": STRONG,
        "AURA_SERVICE_TOKENS": "frontend=" + "t" * 40,
        "SQLALCHEMY_DATABASE_URI": "sqlite://",
        **overrides,
    }
    return create_app("production", settings)


class TestProductionRefusesWeakSettings:
    def test_strong_settings_start(self):
        assert production().config["ENV_NAME"] == "production"

    @pytest.mark.parametrize(
        ("overrides", "complaint"),
        [
            ({"SECRET_KEY": DEFAULT_SECRET_KEY}, "SECRET_KEY"),
            ({"SECRET_KEY": ""}, "SECRET_KEY"),
            ({"SECRET_KEY": "short"}, "SECRET_KEY"),
            ({"AURA_AUTH_DISABLED": True}, "AURA_AUTH_DISABLED"),
            ({"AURA_SERVICE_TOKENS": "frontend=abc"}, "frontend"),
            ({"AURA_JWT_SECRET": "tiny"}, "AURA_JWT_SECRET"),
            ({"AURA_SERVICE_TOKENS": ""}, "no API credentials"),
        ],
    )
    def test_weak_settings_refuse_to_start(self, overrides, complaint):
        with pytest.raises(RuntimeError, match=complaint):
            production(**overrides)

    def test_open_doors_are_named_at_start_up(self, caplog):
        caplog.set_level("WARNING", logger="aura")
        production(AURA_JWT_JWKS_URL="https://id.example/jwks.json")
        said = caplog.text
        assert (
            "without AURA_JWT_AUDIENCE and AURA_JWT_ISSUER" in said
            and "AURA_METRICS_TOKEN is not set" in said
        )
        caplog.clear()
        production(
            AURA_JWT_JWKS_URL="https://id.example/jwks.json",
            AURA_JWT_AUDIENCE="aura",
            AURA_JWT_ISSUER="https://id.example/",
            AURA_METRICS_TOKEN="m" * 40,
        )
        assert "AURA_JWT_AUDIENCE" not in caplog.text and "AURA_METRICS_TOKEN" not in caplog.text

    def test_production_cookies_are_secure(self):
        config = production().config
        assert config["SESSION_COOKIE_SECURE"] and config["SESSION_COOKIE_HTTPONLY"]
        assert config["SESSION_COOKIE_SAMESITE"] == "Lax"


class TestRateLimits:
    def test_writes_are_limited_per_token_and_user_then_recover(self, make_app, db):
        app = make_app(
            AURA_RATE_LIMIT_WRITE="3 per 2 seconds", AURA_SERVICE_TOKENS=f"a={'a' * 40},b={'b' * 40}"
        )
        client = app.test_client()
        first, second = {"Authorization": "Bearer " + "a" * 40}, {"Authorization": "Bearer " + "b" * 40}
        body = {"user_id": 1, "content": "x"}
        assert [client.post("/api/v1/memory", json=body, headers=first).status_code for _ in range(3)] == [
            200
        ] * 3
        limited = client.post("/api/v1/memory", json=body, headers=first)
        assert limited.status_code == 429
        assert limited.get_json()["status"] == "error"
        assert 1 <= int(limited.headers["Retry-After"]) <= 3  # window 2 s; reset_at has 1 s resolution
        # Another caller has its own budget; reads are not limited.
        assert client.post("/api/v1/memory", json=body, headers=second).status_code == 200
        assert client.get("/api/v1/memory/1", headers=first).status_code == 200
        time.sleep(2.1)
        assert client.post("/api/v1/memory", json=body, headers=first).status_code == 200

    def test_chat_has_its_own_limit(self, make_app, db):
        client = service_client(make_app(AURA_RATE_LIMIT_CHAT="2 per minute"))
        body = {"user_id": 1, "message": "hi", "dry_run": True}
        codes = [client.post("/api/v1/orcha/chat", json=body).status_code for _ in range(3)]
        assert codes == [200, 200, 429]
        assert client.post("/api/v1/memory", json={"user_id": 1, "content": "x"}).status_code == 200

    def test_limits_can_live_in_redis(self, make_app, db, shared_limits_redis):
        """Optional shared storage for several gunicorn workers (Redis runs on these machines)."""
        key = f"{time.time_ns()}"
        app = make_app(
            RATELIMIT_STORAGE_URI=SHARED_LIMITS,
            AURA_RATE_LIMIT_WRITE="1 per minute",
            AURA_SERVICE_TOKENS=f"redis{key}={'r' * 40}",
        )
        client = app.test_client()
        headers = {"Authorization": "Bearer " + "r" * 40}
        assert client.delete("/api/v1/memory/1", headers=headers).status_code == 200
        assert client.delete("/api/v1/memory/1", headers=headers).status_code == 429


class TestBodyLimits:
    def test_declared_oversized_body_is_refused_before_it_is_sent(self, app, db):
        """The server answers 413 from the headers alone: it never waits for the 10 MB."""
        server = LiveServer(app).start()
        try:
            host, port = server.url.removeprefix("http://").split(":")
            with socket.create_connection((host, int(port)), timeout=5) as sock:
                head = (
                    "POST /api/v1/memory HTTP/1.1\r\n"
                    f"Host: {host}\r\nAuthorization: {AUTH['Authorization']}\r\n"
                    "Content-Type: application/json\r\nContent-Length: 10000000\r\n\r\n"
                )
                sock.sendall(head.encode() + b'{"user_id": 1, "content": "')
                chunks = []
                while chunk := sock.recv(65536):  # the server closes after answering
                    chunks.append(chunk)
                reply = b"".join(chunks).decode(errors="replace")
        finally:
            server.stop()
        assert reply.startswith("HTTP/1.1 413"), reply[:200]
        assert '"status":"error"' in reply.replace(" ", "")

    def test_memory_over_the_character_limit_is_422(self, make_app, db):
        client = service_client(make_app(AURA_MAX_MEMORY_CHARS=10))
        response = client.post("/api/v1/memory", json={"user_id": 1, "content": "x" * 11})
        assert response.status_code == 422


class TestHeaders:
    def test_pages_get_csp_frame_and_sniffing_protection(self, client):
        headers = client.get("/admin/login").headers
        csp = headers["Content-Security-Policy"]
        assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp and "script-src 'self'" in csp
        assert "unsafe-inline" not in csp
        assert headers["X-Frame-Options"] == "DENY"
        assert headers["X-Content-Type-Options"] == "nosniff"

    def test_api_responses_are_never_cached(self, client):
        headers = client.get("/api/v1/memory/1").headers
        assert headers["Cache-Control"] == "no-store"
        assert headers["X-Content-Type-Options"] == "nosniff"


def test_openapi_documents_the_auth_scheme_and_errors_of_every_operation(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    assert spec["components"]["securitySchemes"]["bearerAuth"] == {
        "type": "http",
        "scheme": "bearer",
        "description": "Service token or user JWT",
    }
    assert spec["security"] == [{"bearerAuth": []}]
    operations = {
        (path, method): op
        for path, ops in spec["paths"].items()
        for method, op in ops.items()
        if isinstance(op, dict)
    }
    assert len(operations) == 21  # AURA's 15, OpenAI's 3, MCP's one and its 2 discovery documents
    for (path, _), operation in operations.items():
        if path.startswith("/.well-known/"):
            assert operation["security"] == [], path  # OAuth discovery: public by design (RFC 9728)
            continue
        # OpenAI's protocol (/v1/) answers a bad request with 400, never 422
        expected = {"401", "429", "503"} | ({"422"} if path.startswith("/api/") else set())
        assert expected <= set(operation["responses"]), operation["summary"]
    assert "Authentication" in spec["info"]["description"]
