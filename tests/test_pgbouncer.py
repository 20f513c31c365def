"""Through PgBouncer in transaction mode: no client's statement ever runs for another, timeouts hold.

PgBouncer hands a server connection to whichever client comes next after each transaction.
Statements psycopg prepares server-side, and settings made per session, would follow the
connection to that client: reads of one user answered with another's data, deletes applied to
users nobody deleted. AURA_DB_POOLER=pgbouncer-transaction must make that impossible.
"""

from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import psycopg
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from aura import database
from aura.extensions import db as _db
from tests import databases
from tests.conftest import AUTH
from tests.gunicorn_server import gunicorn
from tests.pgbouncer import pgbouncer

postgresql_only = pytest.mark.skipif(
    databases.test_backend_url() is None, reason="PostgreSQL behind PgBouncer (CI's PG leg)"
)
TRANSACTION_POOLING = {"AURA_DB_POOLER": "pgbouncer-transaction"}
SETTINGS = {
    "AURA_DB_CONNECT_TIMEOUT": 3,
    "AURA_DB_STATEMENT_TIMEOUT_MS": 1500,
    "AURA_DB_POOL_TIMEOUT": 5.0,
    "AURA_DB_POOL_SIZE": 16,
    "AURA_DB_POOL_OVERFLOW": 0,
    "AURA_DB_APPLICATION_NAME": "aura",
}


def psycopg_dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def test_transaction_pooling_prepares_nothing_and_sends_no_startup_options():
    options = database.engine_options("postgresql+psycopg://u@h/db", {**SETTINGS, **TRANSACTION_POOLING})
    assert options["connect_args"]["prepare_threshold"] is None
    assert "options" not in options["connect_args"]  # PgBouncer refuses the startup parameter


def test_an_unknown_pooler_refuses_to_start():
    with pytest.raises(RuntimeError, match="AURA_DB_POOLER='pgbouncer-transacton'"):
        database.engine_options(
            "postgresql+psycopg://u@h/db", {**SETTINGS, "AURA_DB_POOLER": "pgbouncer-transacton"}
        )


@postgresql_only
def test_timeouts_hold_in_every_transaction_and_never_reach_the_next_client(make_app, database_url):
    # One server connection: whatever AURA leaves on it, the next client gets.
    with pgbouncer(database_url, pool_size=1) as bouncer:
        app = make_app(
            SQLALCHEMY_DATABASE_URI=bouncer.url_for(database_url),
            AURA_DB_STATEMENT_TIMEOUT_MS=1500,
            **TRANSACTION_POOLING,
        )
        with app.app_context():
            for _ in range(3):  # each transaction sets its own
                assert _db.session.execute(text("SHOW statement_timeout")).scalar_one() == "1500ms"
                assert _db.session.execute(text("SHOW lock_timeout")).scalar_one() == "1500ms"
                _db.session.commit()
            with pytest.raises(OperationalError, match="statement timeout"):
                _db.session.execute(text("SELECT pg_sleep(5)"))
            _db.session.rollback()
            _db.session.remove()
            _db.engine.dispose()
        with psycopg.connect(psycopg_dsn(bouncer.url_for(database_url)), autocommit=True) as other_client:
            assert other_client.execute("SHOW statement_timeout").fetchone() == ("0",)


@postgresql_only
def test_stock_settings_behind_pgbouncer_log_the_refused_parameter_and_the_fix(
    make_app, database_url, caplog
):
    with pgbouncer(database_url) as bouncer:
        app = make_app(SQLALCHEMY_DATABASE_URI=bouncer.url_for(database_url), AURA_DB_POOLER="none")
        caplog.set_level(logging.ERROR, logger="aura")
        response = app.test_client().get("/api/v1/memory/1", headers=AUTH)
    assert response.status_code == 503
    logged = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith("aura"))
    assert "unsupported startup parameter" in logged and "AURA_DB_POOLER=pgbouncer-transaction" in logged


READ_ONLY_USERS = range(20000, 20100)
CHURNED_USERS = range(30000, 30016)
# The churners save and delete their users as fast as the server answers: on a fast machine that
# passes the per-user write limit (120/minute) within the run, and the limit is not under test here.
LIMITS_OUT_OF_THE_WAY = {
    "AURA_RATE_LIMIT_WRITE": "1000000/minute",
    "AURA_RATE_LIMIT_SERVICE": "100000000/minute",
}


@postgresql_only
def test_readers_savers_and_deleters_through_transaction_pooling_never_touch_each_others_users(
    app, db, database_url
):
    """The operator's reproduction: 32 readers of 100 users beside 16 savers and 16 deleters of others.

    psycopg prepares a statement after 5 runs on a connection; through a shared server
    connection that DELETE ran with the read-only users' ids. Every request must succeed and
    every read-only user must keep exactly its memory and its one revision.
    """
    with (
        pgbouncer(database_url, pool_size=6) as bouncer,
        gunicorn(
            bouncer.url_for(database_url), WEB_CONCURRENCY="2", **TRANSACTION_POOLING, **LIMITS_OUT_OF_THE_WAY
        ) as url,
        httpx.Client(base_url=url, headers=AUTH, timeout=30) as seeding,
    ):
        for user_id in READ_ONLY_USERS:
            seeding.post(
                "/api/v1/memory", json={"user_id": user_id, "content": f"kept {user_id}"}
            ).raise_for_status()
        failures: list[str] = []
        stop = threading.Event()

        def reader(worker: int) -> None:
            with httpx.Client(base_url=url, headers=AUTH, timeout=30) as http:
                n = worker
                while not stop.is_set():
                    user_id = READ_ONLY_USERS[n % len(READ_ONLY_USERS)]
                    got = http.get(f"/api/v1/memory/{user_id}")
                    memory = got.json().get("memory") if got.status_code == 200 else None
                    if memory is None or memory["content"] != f"kept {user_id}":
                        failures.append(f"GET {user_id}: {got.status_code} {got.text[:200]}")
                    revisions = http.get(f"/api/v1/memory/{user_id}/revisions")
                    if revisions.status_code != 200 or len(revisions.json()["revisions"]) != 1:
                        failures.append(
                            f"revisions {user_id}: {revisions.status_code} {revisions.text[:200]}"
                        )
                    n += 7

        def churner(worker: int) -> None:
            """Even workers save a user of their own, the odd one after each deletes it again."""
            user_id = CHURNED_USERS[worker // 2]
            with httpx.Client(base_url=url, headers=AUTH, timeout=30) as http:
                n = 0
                while not stop.is_set():
                    if worker % 2 == 0:
                        got = http.post("/api/v1/memory", json={"user_id": user_id, "content": f"churn {n}"})
                    else:
                        got = http.delete(f"/api/v1/memory/{user_id}")
                    if got.status_code != 200:
                        failures.append(f"{got.request.method} {user_id}: {got.status_code} {got.text[:200]}")
                    n += 1

        with ThreadPoolExecutor(max_workers=64) as pool:
            tasks = [pool.submit(reader, i) for i in range(32)] + [pool.submit(churner, i) for i in range(32)]
            time.sleep(6)
            stop.set()
            for task in tasks:
                task.result()
        assert not failures, (len(failures), failures[:5], url.log()[-3000:])

    direct = create_engine(database_url)
    try:
        with direct.connect() as conn:
            memories = dict(
                conn.execute(
                    text("SELECT user_id, content FROM user_memories WHERE user_id BETWEEN 20000 AND 20099")
                ).all()
            )
            revisions = dict(
                conn.execute(
                    text(
                        "SELECT user_id, count(*) FROM memory_revisions"
                        " WHERE user_id BETWEEN 20000 AND 20099 GROUP BY user_id"
                    )
                ).all()
            )
    finally:
        direct.dispose()
    assert memories == {user_id: f"kept {user_id}" for user_id in READ_ONLY_USERS}
    assert revisions == dict.fromkeys(READ_ONLY_USERS, 1)
