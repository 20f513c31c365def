"""User tokens from an identity provider: RS256/ES256 keys fetched from its JWKS URL, served on loopback."""

from __future__ import annotations

import datetime as dt
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from tests.conftest import AUTH


class KeyServer:
    """A JWKS endpoint like Auth0's or Keycloak's: publishes public keys, counts fetches, can rotate."""

    def __init__(self) -> None:
        self.keys: dict[str, object] = {}  # kid -> private key
        self.fetches = 0
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                server.fetches += 1
                body = json.dumps({"keys": [server.public_jwk(kid) for kid in server.keys]}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args) -> None:
                pass

        self._http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._http.server_port}/.well-known/jwks.json"
        threading.Thread(target=self._http.serve_forever, daemon=True).start()

    def add_key(self, kid: str, kind: str = "RSA") -> None:
        private = (
            rsa.generate_private_key(public_exponent=65537, key_size=2048)
            if kind == "RSA"
            else ec.generate_private_key(ec.SECP256R1())
        )
        self.keys[kid] = private

    def public_jwk(self, kid: str) -> dict:
        private = self.keys[kid]
        if isinstance(private, rsa.RSAPrivateKey):
            jwk = RSAAlgorithm.to_jwk(private.public_key(), as_dict=True) | {"alg": "RS256"}
        else:
            jwk = ECAlgorithm.to_jwk(private.public_key(), as_dict=True) | {"alg": "ES256"}
        return jwk | {"kid": kid, "use": "sig"}

    def token(self, kid: str, sub: str = "42", minutes: float = 5, **claims) -> str:
        private = self.keys[kid]
        algorithm = "RS256" if isinstance(private, rsa.RSAPrivateKey) else "ES256"
        now = dt.datetime.now(dt.UTC)
        payload = {"sub": sub, "iat": now, "exp": now + dt.timedelta(minutes=minutes), **claims}
        return jwt.encode(payload, private, algorithm=algorithm, headers={"kid": kid})

    def stop(self) -> None:
        self._http.shutdown()
        self._http.server_close()


@pytest.fixture()
def idp():
    server = KeyServer()
    server.add_key("rsa-1", "RSA")
    server.add_key("ec-1", "EC")
    yield server
    server.stop()


@pytest.fixture()
def idp_client(make_app, db, idp):
    app = make_app(AURA_JWT_JWKS_URL=idp.url, AURA_JWT_SECRET="", AURA_JWT_JWKS_COOLDOWN_SECONDS=0)
    return app.test_client()


def get(client, token: str, user_id: int = 42):
    return client.get(f"/api/v1/memory/{user_id}", headers={"Authorization": f"Bearer {token}"})


@pytest.mark.parametrize("kid", ["rsa-1", "ec-1"])
def test_rs256_and_es256_tokens_from_the_provider_act_for_their_user_only(idp, idp_client, kid):
    token = idp.token(kid)
    assert get(idp_client, token).status_code == 200
    assert get(idp_client, token, user_id=43).status_code == 403


def test_the_key_set_is_fetched_once_and_cached(idp, idp_client):
    for _ in range(5):
        assert get(idp_client, idp.token("rsa-1")).status_code == 200
    assert idp.fetches == 1


def test_a_rotated_key_is_picked_up_on_its_first_token(idp, idp_client):
    assert get(idp_client, idp.token("rsa-1")).status_code == 200
    idp.add_key("rsa-2", "RSA")  # the provider rotates; AURA's cached set does not know rsa-2 yet
    assert get(idp_client, idp.token("rsa-2")).status_code == 200
    assert idp.fetches == 2


def test_unknown_keys_and_other_signers_are_401(idp, idp_client):
    stranger = KeyServer()
    stranger.add_key("rsa-1", "RSA")  # same kid, different key
    try:
        assert get(idp_client, stranger.token("rsa-1")).status_code == 401
        stranger.add_key("never-published", "EC")
        assert get(idp_client, stranger.token("never-published")).status_code == 401
    finally:
        stranger.stop()


def test_hs256_tokens_are_refused_when_only_the_provider_is_configured(idp_client):
    now = dt.datetime.now(dt.UTC)
    forged = jwt.encode({"sub": "42", "iat": now, "exp": now + dt.timedelta(minutes=5)}, "x" * 40, "HS256")
    assert get(idp_client, forged).status_code == 401


def test_an_unreachable_provider_is_503_not_a_bad_token(make_app, db, idp):
    token = idp.token("rsa-1")
    client = make_app(AURA_JWT_JWKS_URL="http://127.0.0.1:9/jwks.json", AURA_JWT_SECRET="").test_client()
    response = get(client, token)
    assert response.status_code == 503
    assert "cannot be verified" in response.get_json()["message"]
    assert client.get("/api/v1/memory/42", headers=AUTH).status_code == 200  # service tokens unaffected


class TestTighterClaims:
    def test_a_token_living_longer_than_the_maximum_is_refused(self, idp, idp_client):
        year_9999 = dt.datetime(9999, 1, 1, tzinfo=dt.UTC)
        response = get(idp_client, idp.token("rsa-1", exp=year_9999))
        assert response.status_code == 401
        assert "1440-minute maximum" in response.get_json()["message"]
        assert get(idp_client, idp.token("rsa-1", minutes=1439)).status_code == 200

    def test_exp_and_iat_must_be_numbers(self, idp, idp_client):
        later = int(dt.datetime.now(dt.UTC).timestamp()) + 300
        assert get(idp_client, idp.token("rsa-1", exp=str(later))).status_code == 401

    def test_iat_is_required(self, idp, idp_client):
        private = idp.keys["rsa-1"]
        later = int(dt.datetime.now(dt.UTC).timestamp()) + 300
        token = jwt.encode({"sub": "42", "exp": later}, private, algorithm="RS256", headers={"kid": "rsa-1"})
        assert get(idp_client, token).status_code == 401

    @pytest.mark.parametrize("sub", ["042", "+42", " 42", "4.2e1", "42\n"])
    def test_the_subject_must_be_the_canonical_decimal_id(self, idp, idp_client, sub):
        assert get(idp_client, idp.token("rsa-1", sub=sub)).status_code == 401
