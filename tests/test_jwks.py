"""User tokens from an identity provider: RS256/ES256 keys fetched from its JWKS URL, served on loopback."""

from __future__ import annotations

import base64
import datetime as dt
import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from tests.conftest import AUTH
from tests.gunicorn_server import gunicorn


class KeyServer:
    """A JWKS endpoint like Auth0's or Keycloak's: publishes public keys, counts fetches, can rotate."""

    def __init__(self) -> None:
        self.keys: dict[str, object] = {}  # kid -> private key
        self.fetches = 0
        self.failing = False  # answer 500, as a provider in trouble does
        self.delay = 0.0  # seconds before answering
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                server.fetches += 1
                time.sleep(server.delay)
                if server.failing:
                    self.send_error(500)
                    return
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

    def token(
        self, kid: str, sub: str = "42", minutes: float = 5, algorithm: str | None = None, **claims
    ) -> str:
        private = self.keys[kid]
        algorithm = algorithm or ("RS256" if isinstance(private, rsa.RSAPrivateKey) else "ES256")
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


class TestMisbehavingTokensAndProviders:
    @pytest.mark.parametrize(("kid", "claimed"), [("rsa-1", "ES256"), ("ec-1", "RS256")])
    def test_a_header_algorithm_that_does_not_fit_its_key_is_401_and_counts_as_a_failure(
        self, make_app, db, idp, kid, claimed
    ):
        app = make_app(
            AURA_JWT_JWKS_URL=idp.url, AURA_JWT_SECRET="", AURA_RATE_LIMIT_AUTH_FAILURES="5/minute"
        )
        client = app.test_client()
        token = forged_with_header(idp.token(kid), alg=claimed)
        statuses = [get(client, token).status_code for _ in range(7)]
        assert statuses == [401] * 5 + [429] * 2  # it crashed PyJWT with a TypeError: 500, never counted

    def test_made_up_key_ids_against_a_failing_provider_fetch_once_per_cooldown(self, make_app, db, idp):
        app = make_app(AURA_JWT_JWKS_URL=idp.url, AURA_JWT_SECRET="", AURA_JWT_JWKS_COOLDOWN_SECONDS=30)
        client = app.test_client()
        assert get(client, idp.token("rsa-1")).status_code == 200
        idp.failing = True
        idp.add_key("unpublished", "RSA")
        for n in range(40):
            idp.keys[f"made-up-{n}"] = idp.keys["unpublished"]
            assert get(client, idp.token(f"made-up-{n}")).status_code == 401
        assert idp.fetches == 1  # PyJWKClient fetched again for each of them
        assert get(client, idp.token("rsa-1")).status_code == 200  # the known keys still serve

    def test_a_provider_failing_from_the_start_is_asked_once_per_cooldown(self, make_app, db, idp):
        idp.failing = True
        app = make_app(AURA_JWT_JWKS_URL=idp.url, AURA_JWT_SECRET="", AURA_JWT_JWKS_COOLDOWN_SECONDS=30)
        client = app.test_client()
        assert [get(client, idp.token("rsa-1")).status_code for _ in range(10)] == [503] * 10
        assert idp.fetches == 1


def forged_with_header(token: str, **header: str) -> str:
    """The same token with its header fields replaced (the signature no longer matters)."""
    encoded_header, rest = token.split(".", 1)
    decoded = json.loads(base64.urlsafe_b64decode(encoded_header + "=" * (-len(encoded_header) % 4)))
    new_header = base64.urlsafe_b64encode(json.dumps(decoded | header).encode()).rstrip(b"=").decode()
    return f"{new_header}.{rest}"


def test_a_slow_provider_is_one_bounded_wait_and_never_a_database_outage(app, db, database_url, idp):
    """Under gunicorn: a provider slower than the database deadline neither trips it nor empties the pool."""
    idp.delay = 8
    settings = {"AURA_JWT_JWKS_URL": idp.url, "AURA_JWT_JWKS_TIMEOUT": "3", "AURA_DB_REQUEST_TIMEOUT": "1.5"}
    with gunicorn(database_url, **settings) as url:

        def user_request(_) -> tuple[float, httpx.Response]:
            started = time.perf_counter()
            response = httpx.get(
                f"{url}/api/v1/memory/42", headers={"Authorization": f"Bearer {token}"}, timeout=20
            )
            return time.perf_counter() - started, response

        token = idp.token("rsa-1")
        with ThreadPoolExecutor(max_workers=10) as pool:
            waiting = pool.map(user_request, range(10))
            time.sleep(0.5)
            started = time.perf_counter()
            service = httpx.get(f"{url}/api/v1/memory/42", headers=AUTH, timeout=20)
            service_seconds = time.perf_counter() - started
            answers = list(waiting)
        log = url.log()
    # Queued behind the 3 s key fetch (started 0.5 s before it), it would take 2.5 s.
    assert service.status_code == 200 and service_seconds < 2.0, service_seconds
    assert [r.status_code for _, r in answers] == [503] * 10
    assert all("cannot be verified" in r.json()["message"] for _, r in answers)
    assert max(seconds for seconds, _ in answers) < 6  # one 3 s fetch, the others waited for it
    assert "database unavailable" not in log
    assert idp.fetches == 1
