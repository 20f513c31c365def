"""Rate limits follow the end user: a service token acting for many users throttles none of them."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from aura import create_app
from aura.auth.tokens import mint_user_token
from aura.web.rate_limits import CLEAN_ADDRESS_SECONDS
from tests.admin.conftest import csrf_from
from tests.conftest import AUTH, SHARED_LIMITS

ROOT = Path(__file__).resolve().parent.parent
SAVE_URL = "/api/v1/memory"
# The shipped defaults (TestingConfig raises them so other tests never trip over them).
DEFAULTS = {
    "AURA_RATE_LIMIT_WRITE": "120/minute",
    "AURA_RATE_LIMIT_CHAT": "60/minute",
    "AURA_RATE_LIMIT_SERVICE": "20000/minute",
    "AURA_RATE_LIMIT_AUTH_FAILURES": "30/minute",
}


def save(client, user_id: int, headers: dict = AUTH) -> int:
    return client.post(SAVE_URL, json={"user_id": user_id, "content": "x"}, headers=headers).status_code


def test_a_burst_for_500_users_through_one_service_token_is_not_throttled(make_app, db):
    client = make_app(**DEFAULTS).test_client()
    codes = [save(client, user_id) for user_id in range(1, 501)]
    assert codes == [200] * 500


def test_a_burst_of_400_saves_for_one_user_is_throttled_at_that_users_limit(make_app, db):
    # The default's 120, per day rather than per minute: the sliding-window counter weighs the
    # previous window in, so a burst that straddles a minute boundary (400 saves on a slow
    # PostgreSQL leg) rightly gets a few more saves through, and the exact count below would not hold.
    client = make_app(**{**DEFAULTS, "AURA_RATE_LIMIT_WRITE": "120/day"}).test_client()
    codes = [save(client, 7) for _ in range(400)]
    assert codes[:120] == [200] * 120
    assert set(codes[120:]) == {429}
    assert save(client, 8) == 200  # the next user is unaffected


def test_a_user_token_counts_against_its_own_user(make_app, db):
    app = make_app(AURA_RATE_LIMIT_WRITE="2/minute")
    client = app.test_client()
    with app.app_context():
        token = {"Authorization": f"Bearer {mint_user_token(9)}"}
    assert [save(client, 9, token) for _ in range(3)] == [200, 200, 429]
    assert save(client, 9) == 200  # the service acting for user 9 has its own budget


def test_a_service_token_has_an_overall_ceiling(make_app, db):
    client = make_app(AURA_RATE_LIMIT_SERVICE="5/minute").test_client()
    codes = [save(client, user_id) for user_id in range(1, 8)]
    assert codes == [200] * 5 + [429] * 2
    response = client.post(SAVE_URL, json={"user_id": 99, "content": "x"}, headers=AUTH)
    assert "5 per 1 minute" in response.get_json()["message"]
    assert int(response.headers["Retry-After"]) >= 1


def test_chat_counts_per_user_too(make_app, db):
    client = make_app(AURA_RATE_LIMIT_CHAT="1/minute").test_client()
    chat = {"message": "hi", "dry_run": True}

    def post(user_id: int) -> int:
        return client.post("/api/v1/orcha/chat", json={"user_id": user_id, **chat}, headers=AUTH).status_code

    assert [post(1), post(1), post(2)] == [200, 429, 200]


def test_failed_authentication_is_limited_per_address(make_app, db):
    client = make_app(AURA_RATE_LIMIT_AUTH_FAILURES="3/minute").test_client()
    bad = {"Authorization": "Bearer wrong-token"}
    assert [client.get("/api/v1/memory/1", headers=bad).status_code for _ in range(3)] == [401] * 3
    blocked = client.get("/api/v1/memory/1", headers=bad)
    assert blocked.status_code == 429 and "Retry-After" in blocked.headers
    # Guessing stops paying off: even a right token from that address waits out the window.
    assert client.get("/api/v1/memory/1", headers=AUTH).status_code == 429
    other_address = client.get("/api/v1/memory/1", headers=AUTH, environ_base={"REMOTE_ADDR": "10.0.0.9"})
    assert other_address.status_code == 200


BAD_TOKEN = {"Authorization": "Bearer wrong-token"}


def _lockout_reads(redis_client) -> int:
    """How many scripts Redis has run: the lockout check is limits' sliding-window read script."""
    stats = redis_client.info("commandstats")
    return sum(stats.get(f"cmdstat_{name}", {}).get("calls", 0) for name in ("evalsha", "eval"))


def _new_address(subnet: int) -> str:
    """An address no earlier run has counted failures for (the Redis counts outlive a test)."""
    return f"10.{subnet}.{time.time_ns() % 250}.{os.getpid() % 250}"


def _get(client, address: str, headers: dict = AUTH) -> int:
    return client.get("/api/v1/memory/1", headers=headers, environ_base={"REMOTE_ADDR": address}).status_code


def test_an_address_in_good_standing_is_not_reread_from_shared_storage_on_every_request(
    make_app, db, shared_limits_redis
):
    redis_client = shared_limits_redis
    client, address = make_app(RATELIMIT_STORAGE_URI=SHARED_LIMITS).test_client(), _new_address(1)
    assert _get(client, address) == 200
    before = _lockout_reads(redis_client)
    assert {_get(client, address) for _ in range(20)} == {200}
    assert _lockout_reads(redis_client) - before <= 1  # one more at most, if the second ran out


def _two_instances(make_app):
    shared = {"RATELIMIT_STORAGE_URI": SHARED_LIMITS, "AURA_RATE_LIMIT_AUTH_FAILURES": "2/minute"}
    return make_app(**shared).test_client(), make_app(**shared).test_client()


def test_a_lockout_counted_by_another_instance_holds_here_within_a_second(make_app, db, shared_limits_redis):
    here, elsewhere = _two_instances(make_app)
    address = _new_address(2)
    assert _get(here, address) == 200
    assert [_get(elsewhere, address, BAD_TOKEN) for _ in range(3)] == [401, 401, 429]
    time.sleep(CLEAN_ADDRESS_SECONDS + 0.1)
    assert _get(here, address) == 429


def test_a_failure_seen_here_ends_good_standing_at_once(make_app, db, shared_limits_redis):
    here, elsewhere = _two_instances(make_app)
    address = _new_address(3)
    assert _get(here, address) == 200
    assert _get(elsewhere, address, BAD_TOKEN) == 401
    assert _get(here, address, BAD_TOKEN) == 401
    # The limit is spent; this process saw a failure itself, so it reads the count again.
    assert _get(here, address) == 429


def test_successful_requests_do_not_count_as_failures(make_app, db):
    client = make_app(AURA_RATE_LIMIT_AUTH_FAILURES="2/minute").test_client()
    assert {client.get("/api/v1/memory/1", headers=AUTH).status_code for _ in range(5)} == {200}


def test_empty_limit_settings_mean_the_defaults_not_unlimited(tmp_path):
    """Set-but-empty variables (a blank line in .env) used to switch limiting off."""
    settings = [*DEFAULTS, "AURA_RATE_LIMIT_LOGIN"]
    overrides = {"SQLALCHEMY_DATABASE_URI": "sqlite://", "AURA_AUTO_MIGRATE": False}
    script = (
        "from aura import create_app; "
        f"app = create_app('development', {overrides!r}); "
        f"print('|'.join(app.config[name] for name in {settings!r}))"
    )
    env = {**os.environ, **dict.fromkeys(settings, ""), "AURA_ENV": "development"}
    result = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().split("|") == [*DEFAULTS.values(), "10/minute"]


@pytest.mark.parametrize("value", ["", "lots", "120 per fortnight", "-5/minute"])
@pytest.mark.parametrize("setting", [*DEFAULTS, "AURA_RATE_LIMIT_LOGIN"])
def test_an_invalid_limit_refuses_to_start_naming_the_setting(setting, value):
    with pytest.raises(RuntimeError, match=f"{setting}=.*is not a rate limit"):
        create_app("testing", {setting: value})


def test_production_warns_when_several_workers_count_limits_apart(caplog):
    production = {
        "SECRET_KEY": "x" * 40,
        "AURA_SERVICE_TOKENS": "frontend=" + "t" * 40,
        "SQLALCHEMY_DATABASE_URI": "sqlite://",
        "AURA_WORKERS": 2,
    }
    caplog.set_level(logging.WARNING, logger="aura")
    create_app("production", production)
    assert "counted per process" in caplog.text
    caplog.clear()
    create_app("production", {**production, "RATELIMIT_STORAGE_URI": SHARED_LIMITS})
    create_app("production", {**production, "AURA_WORKERS": 1})
    assert "counted per process" not in caplog.text


def test_unreachable_shared_storage_refuses_with_503_and_writes_nothing(make_app, db):
    """Nothing can be counted, so nothing goes through uncounted, and nothing crashes."""
    from aura.models import UserMemory

    client = make_app(RATELIMIT_STORAGE_URI="redis://127.0.0.1:9/0").test_client()  # nothing listens
    response = client.post(SAVE_URL, json={"user_id": 5, "content": "x"}, headers=AUTH)
    assert response.status_code == 503
    assert response.json["status"] == "error" and "try again" in response.json["message"]
    assert db.session.get(UserMemory, 5) is None
    token = csrf_from(client, "/admin/login")
    page = client.post("/admin/login", data={"email": "a@example.com", "password": "x", "csrf_token": token})
    assert page.status_code == 503 and page.mimetype == "text/html"


def test_with_redis_down_reads_go_on_and_failed_authentications_are_counted_per_process(make_app, db):
    """Writes and chat need the shared per-user counts (503); reads need only the failure count."""
    app = make_app(RATELIMIT_STORAGE_URI="redis://127.0.0.1:9/0", AURA_RATE_LIMIT_AUTH_FAILURES="3/minute")
    client = app.test_client()
    assert client.get("/api/v1/memory/5", headers=AUTH).status_code == 200
    assert client.get("/api/v1/memory/5/revisions", headers=AUTH).status_code == 200
    assert client.post(SAVE_URL, json={"user_id": 5, "content": "x"}, headers=AUTH).status_code == 503
    wrong = {"Authorization": "Bearer not-a-token"}
    statuses = [client.get("/api/v1/memory/5", headers=wrong).status_code for _ in range(5)]
    assert statuses == [401, 401, 401, 429, 429]
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.get_json()["rate_limits"] == "unavailable"


def test_readiness_names_the_rate_limit_storage(make_app, db, shared_limits_redis):
    assert make_app().test_client().get("/readyz").get_json()["rate_limits"] == "per-process"
    shared = make_app(RATELIMIT_STORAGE_URI=SHARED_LIMITS).test_client()
    assert shared.get("/readyz").get_json()["rate_limits"] == "ok"
