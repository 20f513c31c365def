"""Shared fixtures: an app on a migrated throwaway database, clients, and a live server."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from flask import Flask
from flask_migrate import upgrade
from sqlalchemy import delete
from werkzeug.serving import make_server

from aura import MIGRATIONS_DIR, create_app
from aura.extensions import db as _db
from tests.databases import fresh_database


@pytest.fixture(scope="session")
def database_url(tmp_path_factory) -> Iterator[str]:
    with fresh_database(tmp_path_factory.mktemp("db")) as url:
        yield url


@pytest.fixture(scope="session")
def app(database_url: str) -> Iterator[Flask]:
    """One app per session; its schema comes from the migrations, exactly as in production."""
    app = create_app("testing", {"SQLALCHEMY_DATABASE_URI": database_url})
    with app.app_context():
        upgrade(directory=MIGRATIONS_DIR)
    yield app
    with app.app_context():
        _db.engine.dispose()


@pytest.fixture()
def db(app: Flask):
    """The database, emptied after each test so tests never see each other's rows."""
    with app.app_context():
        yield _db
        _db.session.rollback()
        for table in reversed(_db.metadata.sorted_tables):
            _db.session.execute(delete(table))
        _db.session.commit()


@pytest.fixture()
def client(app: Flask, db):
    return app.test_client()


@pytest.fixture()
def runner(app: Flask, db):
    return app.test_cli_runner()


class LiveServer:
    """The app served over real HTTP on 127.0.0.1 by a threaded Werkzeug server."""

    def __init__(self, app: Flask) -> None:
        self._server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

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
