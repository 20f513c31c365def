"""Shared fixtures: an app on a migrated throwaway database, clients, and a live server."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask_migrate import upgrade
from sqlalchemy import delete
from werkzeug.serving import make_server

from aura import MIGRATIONS_DIR, create_app
from aura.auth.tokens import mint_user_token
from aura.extensions import db as _db
from tests.databases import fresh_database
from tests.fake_llm import FakeLLM
from tests.pgbouncer import pgbouncer

FAKE_API_KEY = "sk-test-do-not-leak-0123456789"
SERVICE_TOKEN = "test-service-token-with-enough-entropy-0123456789"  # TestingConfig's "tests" token
AUTH = {"Authorization": f"Bearer {SERVICE_TOKEN}"}
# Redis database where tests share rate limits, as production instances do (14: scale-out tests).
SHARED_LIMITS = "redis://127.0.0.1:6379/15"


def close_app(app: Flask) -> None:
    """Release what an app holds: its database pool and its LLM clients' connections."""
    app.extensions["aura_llm"].close()
    app.extensions["aura_consolidation_llm"].close()
    with app.app_context():
        _db.engine.dispose()


@pytest.fixture(scope="session")
def database_url(tmp_path_factory) -> Iterator[str]:
    """The session's database; through a PgBouncer in that mode when AURA_TEST_PGBOUNCER names one.

    .ci/run's PgBouncer leg sets AURA_TEST_PGBOUNCER=transaction with
    AURA_DB_POOLER=pgbouncer-transaction, as production behind PgBouncer runs.
    """
    with fresh_database(tmp_path_factory.mktemp("db")) as url:
        mode = os.environ.get("AURA_TEST_PGBOUNCER")
        if not mode:
            yield url
            return
        with pgbouncer(url, mode=mode, pool_size=20) as bouncer:
            yield bouncer.url_for(url)


@pytest.fixture(scope="session")
def app(database_url: str) -> Iterator[Flask]:
    """One app per session; its schema comes from the migrations, exactly as in production."""
    app = create_app("testing", {"SQLALCHEMY_DATABASE_URI": database_url})
    with app.app_context():
        upgrade(directory=MIGRATIONS_DIR)
    yield app
    close_app(app)


@pytest.fixture()
def db(app: Flask):
    """The database, emptied after each test so tests never see each other's rows."""
    with app.app_context():
        yield _db
        _db.session.rollback()
        for table in reversed(_db.metadata.sorted_tables):
            _db.session.execute(delete(table))
        _db.session.commit()


def service_client(app: Flask):
    """A test client that calls the API as the trusted "tests" service, like the frontend's backend."""
    client = app.test_client()
    client.environ_base["HTTP_AUTHORIZATION"] = AUTH["Authorization"]
    return client


def token_minter(app: Flask) -> Callable[[int], str]:
    """Mints user tokens ``app`` accepts (HS256 with its AURA_JWT_SECRET), for tests acting as a user."""

    def mint(user_id: int) -> str:
        with app.app_context():
            return mint_user_token(user_id)

    return mint


@pytest.fixture()
def client(app: Flask, db):
    return service_client(app)


@pytest.fixture()
def anonymous(app: Flask, db):
    """A client with no credentials at all."""
    return app.test_client()


@pytest.fixture()
def runner(app: Flask, db):
    return app.test_cli_runner()


class LiveServer:
    """The app served over real HTTP on 127.0.0.1 by a threaded Werkzeug server."""

    def __init__(self, app: Flask) -> None:
        self._server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def start(self) -> LiveServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._thread.join(timeout=10)
        self._server.server_close()


@pytest.fixture()
def live_server(app: Flask, db) -> Iterator[LiveServer]:
    server = LiveServer(app).start()
    yield server
    server.stop()


@pytest.fixture()
def make_app(database_url: str):
    """Build extra apps on the test database with other settings (e.g. an LLM to talk to)."""
    made: list[Flask] = []

    def factory(**overrides) -> Flask:
        new_app = create_app("testing", {"SQLALCHEMY_DATABASE_URI": database_url, **overrides})
        made.append(new_app)
        return new_app

    yield factory
    for made_app in made:
        close_app(made_app)


@pytest.fixture()
def fake_llm() -> Iterator[FakeLLM]:
    server = FakeLLM().start()
    yield server
    server.stop()


def model_settings(fake_llm: FakeLLM, **overrides) -> dict:
    """Settings that wire an app to the fake model, with fast retries for tests."""
    return {
        "AURA_LLM_BASE_URL": fake_llm.url,
        "AURA_LLM_MODEL": "fake-model",
        "AURA_LLM_API_KEY": FAKE_API_KEY,
        "AURA_LLM_TIMEOUT": 1.0,
        "AURA_LLM_RETRY_BACKOFF": 0.01,
        **overrides,
    }


@pytest.fixture()
def chat_app(make_app, fake_llm: FakeLLM, db) -> Flask:
    """The app wired to the fake model."""
    return make_app(**model_settings(fake_llm))


@pytest.fixture()
def chat_client(chat_app: Flask):
    return service_client(chat_app)


CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture()
def browser_page():
    """A page in headless Debian Chromium (Playwright); skipped without it locally, failed under CI."""
    if not CHROMIUM.exists():
        message = "Debian's chromium is not installed (apt-get install chromium); .ci/run installs it"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1366, "height": 900})
        page.set_default_timeout(15_000)
        dialogs: list[str] = []
        page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
        page.dialogs = dialogs
        yield page
        browser.close()


@pytest.fixture()
def shared_limits_redis():
    """A client of the Redis database in SHARED_LIMITS; the test is skipped where none runs."""
    redis = pytest.importorskip("redis")
    client = redis.Redis.from_url(SHARED_LIMITS, socket_timeout=1)
    try:
        client.ping()
    except redis.exceptions.ConnectionError:
        pytest.skip("no Redis on 127.0.0.1:6379")
    yield client
    client.close()


# What makes a test slow: it starts gunicorn, `flask worker`, nginx, PgBouncer, Chromium or a
# real model. `scripts/test -m "not slow"` runs the rest in a few minutes.
_SLOW_MODULES = {"test_bursts", "test_nginx", "test_pgbouncer", "test_scale_out", "test_serving", "test_wsgi",
                 "test_slow_bodies", "test_real_model", "test_background", "test_browser"}  # fmt: skip
_SLOW_NAMES = {"gunicorn", "worker"}
_SLOW_FIXTURES = {
    "model_url",
    "streaming_model",
    "nginx_in_front",
    "two_instances",
    "browser_page",
    "served",
    "litellm",
}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        module = item.module.__name__.rsplit(".", 1)[-1] if getattr(item, "module", None) else ""
        function = getattr(item, "function", None)
        names = set(function.__code__.co_names) if function else set()
        if (
            module in _SLOW_MODULES
            or names & _SLOW_NAMES
            or _SLOW_FIXTURES & set(getattr(item, "fixturenames", ()))
            or item.get_closest_marker("browser")
        ):
            item.add_marker(pytest.mark.slow)
