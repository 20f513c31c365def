"""Database connections: bounded waits, and connections the server dropped cost no request an error."""

from __future__ import annotations

import os
import time

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from aura import database
from aura.extensions import db as _db
from tests import databases
from tests.conftest import AUTH

postgresql_only = pytest.mark.skipif(databases.test_backend_url() is None, reason="PostgreSQL behaviour")


def drop_connections(database_url: str, application_name: str = "aura") -> int:
    """What a server restart or failover does to a pool: every connection it holds is dead.

    Only this test database's connections of that application, so nothing else is disturbed.
    Behind the tests' PgBouncer (AURA_TEST_PGBOUNCER) its server connections are the ones to
    kill, whichever client last named them, so every other connection to the database goes;
    the kill itself runs on a direct connection, which is never one of them.
    """
    behind_pgbouncer = bool(os.environ.get("AURA_TEST_PGBOUNCER"))
    direct_url = make_url(databases.test_backend_url()).set(database=make_url(database_url).database)
    admin = create_engine(direct_url, isolation_level="AUTOCOMMIT")
    query = text(
        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
        " WHERE (application_name = :app OR :any_application) AND datname = current_database()"
        " AND pid <> pg_backend_pid() AND backend_type = 'client backend'"
    )
    try:
        with admin.connect() as conn:
            return conn.execute(
                query, {"app": application_name, "any_application": behind_pgbouncer}
            ).scalar_one()
    finally:
        admin.dispose()


@pytest.fixture()
def fresh_pool_afterwards(app):
    """The tests below kill the session app's connections: later tests get a clean pool."""
    yield
    with app.app_context():
        _db.session.remove()
        _db.engine.dispose()


@postgresql_only
def test_reads_right_after_the_server_dropped_every_connection_succeed(
    client, database_url, fresh_pool_afterwards
):
    client.post("/api/v1/memory", json={"user_id": 3, "content": "still here"})
    assert drop_connections(database_url) >= 1
    assert client.get("/api/v1/memory/3").get_json()["memory"]["content"] == "still here"


@postgresql_only
def test_idle_connections_are_pinged_before_use_so_writes_survive_a_restart(
    client, database_url, monkeypatch, fresh_pool_afterwards
):
    monkeypatch.setattr(database, "IDLE_PING_SECONDS", 0.2)
    client.post("/api/v1/memory", json={"user_id": 4, "content": "one"})
    assert drop_connections(database_url) >= 1
    time.sleep(0.3)  # the pool's connections are now idle (and dead)
    response = client.post("/api/v1/memory", json={"user_id": 4, "content": "two"}, headers=AUTH)
    assert response.status_code == 200, response.get_json()


def test_postgresql_waits_are_bounded_by_configuration():
    config = {
        "AURA_DB_CONNECT_TIMEOUT": 2,
        "AURA_DB_STATEMENT_TIMEOUT_MS": 1500,
        "AURA_DB_POOL_TIMEOUT": 4.0,
        "AURA_DB_POOL_SIZE": 7,
        "AURA_DB_POOL_OVERFLOW": 3,
        "AURA_DB_APPLICATION_NAME": "aura-web-1",
    }
    options = database.engine_options("postgresql+psycopg://u@h/db", config)
    assert options["pool_timeout"] == 4.0 and options["pool_size"] == 7 and options["max_overflow"] == 3
    assert options["connect_args"]["connect_timeout"] == 2
    assert "statement_timeout=1500" in options["connect_args"]["options"]
    assert "lock_timeout=1500" in options["connect_args"]["options"]
    assert options["connect_args"]["application_name"] == "aura-web-1"
    assert database.engine_options("sqlite:///x.db", config) == {"connect_args": {"timeout": 30}}
