"""Database connections: bounded waits, and connections the server dropped cost no request an error."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import create_engine, text

from aura import database
from tests import databases
from tests.conftest import AUTH

postgresql_only = pytest.mark.skipif(databases.test_backend_url() is None, reason="PostgreSQL behaviour")


def drop_aura_connections(database_url: str) -> int:
    """What a server restart or failover does to the pool: every connection it holds is dead."""
    admin = create_engine(database_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            query = text(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = :app"
            )
            return conn.execute(query, {"app": "aura"}).scalar_one()
    finally:
        admin.dispose()


@postgresql_only
def test_reads_right_after_the_server_dropped_every_connection_succeed(client, database_url):
    client.post("/api/v1/memory", json={"user_id": 3, "content": "still here"})
    assert drop_aura_connections(database_url) >= 1
    assert client.get("/api/v1/memory/3").get_json()["memory"]["content"] == "still here"


@postgresql_only
def test_idle_connections_are_pinged_before_use_so_writes_survive_a_restart(
    client, database_url, monkeypatch
):
    monkeypatch.setattr(database, "IDLE_PING_SECONDS", 0.2)
    client.post("/api/v1/memory", json={"user_id": 4, "content": "one"})
    assert drop_aura_connections(database_url) >= 1
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
    }
    options = database.engine_options("postgresql+psycopg://u@h/db", config)
    assert options["pool_timeout"] == 4.0 and options["pool_size"] == 7 and options["max_overflow"] == 3
    assert options["connect_args"]["connect_timeout"] == 2
    assert "statement_timeout=1500" in options["connect_args"]["options"]
    assert "lock_timeout=1500" in options["connect_args"]["options"]
    assert database.engine_options("sqlite:///x.db", config) == {"connect_args": {"timeout": 30}}
