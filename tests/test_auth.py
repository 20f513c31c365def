"""API authentication and authorization: who may touch whose memory."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import logging

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from aura.models import MemoryRevision
from tests.conftest import SERVICE_TOKEN

JWT_SECRET = "test-jwt-secret-that-is-long-enough-for-hs256-0123456789"  # TestingConfig's


def user_token(sub="42", secret=JWT_SECRET, algorithm="HS256", **claims) -> str:
    now = dt.datetime.now(dt.UTC)
    payload = {"sub": sub, "iat": now, "exp": now + dt.timedelta(minutes=5), **claims}
    return jwt.encode({k: v for k, v in payload.items() if v is not None}, secret, algorithm=algorithm)


def hs256_by_hand(claims: dict, key: bytes) -> str:
    """An HS256 JWT built without PyJWT (which refuses PEM keys as HMAC secrets)."""

    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    signing_input = b64(b'{"alg":"HS256","typ":"JWT"}') + "." + b64(json.dumps(claims).encode())
    signature = hmac.new(key, signing_input.encode(), hashlib.sha256).digest()
    return signing_input + "." + b64(signature)


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


# Every endpoint and method, for user 42 (own) and 43 (someone else).
def calls(user_id: int):
    return [
        ("get", f"/api/v1/memory/{user_id}", None),
        ("post", "/api/v1/memory", {"user_id": user_id, "content": "text"}),
        ("delete", f"/api/v1/memory/{user_id}", None),
        ("get", f"/api/v1/memory/{user_id}/revisions", None),
        ("post", "/api/v1/orcha/chat", {"user_id": str(user_id), "message": "hi", "dry_run": True}),
    ]


def call(client, method, url, body, headers):
    return getattr(client, method)(url, json=body, headers=headers)


class TestMissingOrBadCredentials:
    @pytest.mark.parametrize(("method", "url", "body"), calls(42))
    def test_no_token_is_401_with_a_challenge(self, anonymous, method, url, body):
        response = call(anonymous, method, url, body, {})
        assert response.status_code == 401
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
        assert response.get_json()["status"] == "error"

    @pytest.mark.parametrize(
        "header",
        [
            f"Basic {SERVICE_TOKEN}",
            "Bearer",
            "Bearer wrong-token",
            f"Bearer {SERVICE_TOKEN}x",
            f"Bearer {SERVICE_TOKEN[:-1]}",
        ],
    )
    def test_wrong_service_tokens_are_401(self, anonymous, header):
        response = anonymous.get("/api/v1/memory/42", headers={"Authorization": header})
        assert response.status_code == 401

    def test_invalid_token_challenge_says_invalid_token(self, anonymous):
        response = anonymous.get("/api/v1/memory/42", headers=bearer("nope"))
        assert "invalid_token" in response.headers["WWW-Authenticate"]

    def test_expired_user_token_is_401_and_says_so(self, anonymous):
        expired = user_token(exp=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5))
        response = anonymous.get("/api/v1/memory/42", headers=bearer(expired))
        assert response.status_code == 401
        assert "expired" in response.get_json()["message"]

    @pytest.mark.parametrize(
        "token",
        [
            pytest.param(user_token(secret="another-secret-of-the-right-length-000000000"), id="forged"),
            pytest.param(jwt.encode({"sub": "42", "exp": 9999999999}, None, algorithm="none"), id="alg-none"),
            pytest.param(user_token(exp=None), id="no-expiry"),
            pytest.param(user_token(sub="abc"), id="non-numeric-subject"),
            pytest.param(user_token(sub="0"), id="zero-subject"),
            pytest.param(user_token()[:-4] + "AAAA", id="tampered-signature"),
        ],
    )
    def test_forged_unsigned_or_malformed_user_tokens_are_401(self, anonymous, token):
        assert anonymous.get("/api/v1/memory/42", headers=bearer(token)).status_code == 401

    def test_openapi_document_is_public(self, anonymous):
        assert anonymous.get("/api/v1/openapi.json").status_code == 200


class TestUserTokens:
    @pytest.mark.parametrize(("method", "url", "body"), calls(42))
    def test_user_may_use_every_endpoint_for_themselves(self, anonymous, method, url, body):
        response = call(anonymous, method, url, body, bearer(user_token("42")))
        assert response.status_code == 200, response.get_json()

    @pytest.mark.parametrize(("method", "url", "body"), calls(43))
    def test_user_may_not_touch_anyone_else(self, client, anonymous, method, url, body):
        client.post("/api/v1/memory", json={"user_id": 43, "content": "not yours"})
        response = call(anonymous, method, url, body, bearer(user_token("42")))
        assert response.status_code == 403
        assert response.get_json()["status"] == "error"
        assert client.get("/api/v1/memory/43").get_json()["memory"]["content"] == "not yours"

    def test_the_writer_is_recorded_as_the_revision_actor(self, client, anonymous, db):
        anonymous.post(
            "/api/v1/memory", json={"user_id": 42, "content": "a"}, headers=bearer(user_token("42"))
        )
        client.post("/api/v1/memory", json={"user_id": 42, "content": "b"})
        actors = [r.actor for r in db.session.query(MemoryRevision).order_by(MemoryRevision.id)]
        assert actors == ["user:42", "service:tests"]

    def test_rs256_public_key_verifies_user_tokens_and_blocks_hs256_confusion(self, make_app, db):
        private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        public_pem = (
            private.public_key()
            .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
            .decode()
        )
        client = make_app(AURA_JWT_PUBLIC_KEY=public_pem, AURA_JWT_SECRET="").test_client()
        good = user_token("42", secret=private, algorithm="RS256")
        assert client.get("/api/v1/memory/42", headers=bearer(good)).status_code == 200
        assert client.get("/api/v1/memory/43", headers=bearer(good)).status_code == 403
        # The classic confusion attack: HS256 "signed" with the public key as the secret.
        confused = hs256_by_hand({"sub": "42", "exp": 9999999999}, public_pem.encode())
        assert client.get("/api/v1/memory/42", headers=bearer(confused)).status_code == 401

    def test_audience_and_issuer_are_enforced_when_configured(self, make_app, db):
        client = make_app(
            AURA_JWT_AUDIENCE="aura-api", AURA_JWT_ISSUER="https://id.aura.example"
        ).test_client()
        right = user_token(aud="aura-api", iss="https://id.aura.example")
        wrong_aud = user_token(aud="other-api", iss="https://id.aura.example")
        no_iss = user_token(aud="aura-api")
        assert client.get("/api/v1/memory/42", headers=bearer(right)).status_code == 200
        assert client.get("/api/v1/memory/42", headers=bearer(wrong_aud)).status_code == 401
        assert client.get("/api/v1/memory/42", headers=bearer(no_iss)).status_code == 401


class TestServiceTokens:
    @pytest.mark.parametrize("user_id", [1, 42, 10**18 - 1])
    def test_service_token_acts_for_any_user(self, client, user_id):
        assert client.post("/api/v1/memory", json={"user_id": user_id, "content": "x"}).status_code == 200
        assert client.get(f"/api/v1/memory/{user_id}").get_json()["memory"]["content"] == "x"

    def test_several_named_tokens(self, make_app, db):
        app = make_app(AURA_SERVICE_TOKENS="frontend=" + "f" * 40 + ", jobs=" + "j" * 40)
        client = app.test_client()
        for token in ("f" * 40, "j" * 40):
            assert client.get("/api/v1/memory/1", headers=bearer(token)).status_code == 200
        assert client.get("/api/v1/memory/1", headers=bearer(SERVICE_TOKEN)).status_code == 401


class TestSecretsStayOutOfLogs:
    def test_tokens_are_never_logged(self, anonymous, caplog):
        caplog.set_level(logging.DEBUG)
        token = user_token("42")
        anonymous.get("/api/v1/memory/42", headers=bearer(token))
        anonymous.get("/api/v1/memory/42", headers=bearer(SERVICE_TOKEN))
        anonymous.get("/api/v1/memory/42", headers=bearer("guess-" + SERVICE_TOKEN))
        assert token not in caplog.text and SERVICE_TOKEN not in caplog.text


class TestDevelopmentSwitch:
    def test_auth_disabled_lets_anyone_in_and_says_so_loudly(self, make_app, db, caplog):
        caplog.set_level(logging.WARNING)
        app = make_app(AURA_AUTH_DISABLED=True)
        assert "AUTHENTICATION IS DISABLED" in caplog.text
        assert app.test_client().get("/api/v1/memory/1").status_code == 200

    def test_auth_is_on_by_default(self, app):
        assert app.config["AURA_AUTH_DISABLED"] is False


def test_cli_mints_a_user_token_that_works_only_for_that_user(app, runner, anonymous):
    result = runner.invoke(args=["auth", "mint-token", "42", "--minutes", "5"])
    assert result.exit_code == 0, result.output
    token = result.output.strip()
    assert jwt.decode(token, JWT_SECRET, algorithms=["HS256"])["sub"] == "42"
    assert anonymous.get("/api/v1/memory/42", headers=bearer(token)).status_code == 200
    assert anonymous.get("/api/v1/memory/41", headers=bearer(token)).status_code == 403


def test_cli_refuses_to_mint_without_a_secret(make_app):
    # No `db` fixture here: its pushed app context would make the CLI use the default app.
    result = make_app(AURA_JWT_SECRET="").test_cli_runner().invoke(args=["auth", "mint-token", "42"])
    assert result.exit_code != 0 and "AURA_JWT_SECRET" in result.output
