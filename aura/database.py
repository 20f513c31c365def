"""The database below every service: one transaction per service call, and engine tuning per backend
(bounded waits and idle pings for PostgreSQL, WAL + busy timeout for SQLite)."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from weakref import WeakSet

from prometheus_client import Gauge
from sqlalchemy import event, exc
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.orm import scoped_session

from aura.extensions import db

# A pooled PostgreSQL connection idle longer than this is pinged before use (a restarted or
# failed-over server leaves dead connections behind). One in steady use is not: under load
# the ping was a second round trip on every GET and every chat turn.
IDLE_PING_SECONDS = 2.0


POOLERS = ("none", "pgbouncer-transaction")
POOL_IN_USE = Gauge(
    "aura_db_pool_connections_in_use", "Database connections checked out", multiprocess_mode="livesum"
)


@contextmanager
def transaction() -> Iterator[scoped_session]:
    """Commit everything done inside, or nothing: one transaction per service call."""
    try:
        yield db.session
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise


def count_pool_use(engine: Engine) -> None:
    """Track checked-out connections: a pool near its limit is where 503s come from."""
    event.listen(engine.pool, "checkout", lambda *_: POOL_IN_USE.inc())
    event.listen(engine.pool, "checkin", lambda *_: POOL_IN_USE.dec())


def engine_options(database_uri: str, config: dict) -> dict:
    """Options that make each backend survive restarts and hangs (PostgreSQL) and concurrent writers (SQLite).

    PostgreSQL: every wait is bounded. Connecting (AURA_DB_CONNECT_TIMEOUT), a statement or a lock
    wait on the server (AURA_DB_STATEMENT_TIMEOUT_MS), and waiting for a pooled connection
    (AURA_DB_POOL_TIMEOUT): each ends in an error the API answers with 503, never a hung request.

    Behind PgBouncer in transaction mode (AURA_DB_POOLER=pgbouncer-transaction) a server
    connection serves another client after each transaction. A statement psycopg prepared on it
    would then run for whoever comes next (its name reused with other SQL and other users' ids),
    so nothing is prepared server-side; and the timeouts, which would be a startup parameter
    PgBouncer refuses, are set per transaction instead (scope_timeouts_to_transactions).
    """
    url = make_url(database_uri)
    if url.get_backend_name() == "sqlite":
        # Writers wait up to 30 s for the lock instead of failing with "database is locked".
        return {"connect_args": {"timeout": 30}}
    statement_ms = int(config["AURA_DB_STATEMENT_TIMEOUT_MS"])
    connect_args = postgresql_connect_args(
        pooler_of(config),
        statement_ms=statement_ms,
        lock_ms=statement_ms,
        connect_timeout=int(config["AURA_DB_CONNECT_TIMEOUT"]),
        application_name=config["AURA_DB_APPLICATION_NAME"],
    )
    return {
        # Checked on checkout only after sitting idle (see _ping_idle_connections), not every time.
        "pool_pre_ping": False,
        "pool_size": int(config["AURA_DB_POOL_SIZE"]),
        "max_overflow": int(config["AURA_DB_POOL_OVERFLOW"]),
        "pool_timeout": float(config["AURA_DB_POOL_TIMEOUT"]),
        "pool_recycle": 1800,
        "connect_args": connect_args,
    }


def postgresql_connect_args(
    pooler: str, statement_ms: int, lock_ms: int, connect_timeout: int, application_name: str
) -> dict:
    """psycopg's connect arguments: the timeouts as a startup option when connected directly;
    behind a transaction pooler nothing prepared and no startup option (set per transaction,
    with ``local_timeouts``, instead). The app's engine and the migrations' share it."""
    args: dict = {"connect_timeout": max(1, connect_timeout), "application_name": application_name}
    if pooler == "pgbouncer-transaction":
        args["prepare_threshold"] = None
    else:
        args["options"] = f"-c statement_timeout={statement_ms} -c lock_timeout={lock_ms}"
    return args


def local_timeouts(statement_ms: int, lock_ms: int) -> str:
    """The SQL that sets both timeouts for the current transaction only (one round trip)."""
    return f"SET LOCAL statement_timeout = {statement_ms}; SET LOCAL lock_timeout = {lock_ms}"


def pooler_of(config: dict) -> str:
    """AURA_DB_POOLER, checked: a misspelt pooler must not silently mean "direct"."""
    pooler = (config.get("AURA_DB_POOLER") or "none").strip().lower()
    if pooler not in POOLERS:
        raise RuntimeError(f"AURA_DB_POOLER={pooler!r} is not one of {', '.join(POOLERS)}")
    return pooler


def scope_timeouts_to_transactions(engine: Engine, config: dict) -> None:
    """Behind a transaction pooler: statement and lock timeouts as SET LOCAL at each transaction's start.

    SET LOCAL ends with the transaction, so it never leaks to the next client of the server
    connection (a plain SET would). One extra round trip per transaction, both settings in it.
    AURA's own single statements run in a transaction there (``single_statement``); a
    connection someone opens in autocommit gets none (SET LOCAL means nothing outside a
    transaction). Migrations connect on their own (migrations/env.py).
    """
    if engine.dialect.name == "sqlite" or pooler_of(config) != "pgbouncer-transaction":
        return
    statement_ms = int(config["AURA_DB_STATEMENT_TIMEOUT_MS"])
    set_timeouts = local_timeouts(statement_ms, statement_ms)

    @event.listens_for(engine, "begin")
    def _set_local_timeouts(conn: Connection) -> None:
        if not conn.connection.driver_connection.autocommit:
            conn.exec_driver_sql(set_timeouts)

    _TIMEOUTS_PER_TRANSACTION.add(engine)


_TIMEOUTS_PER_TRANSACTION: WeakSet[Engine] = WeakSet()


@contextmanager
def single_statement(engine: Engine) -> Iterator[Connection]:
    """A connection for one statement that is atomic by itself (the hot GET and save).

    Directly connected it runs in autocommit: no BEGIN and no COMMIT, one round trip. Behind a
    transaction pooler its timeouts exist only inside a transaction, so it runs in one there:
    three more round trips, and no statement AURA sends is ever without its timeouts.
    """
    if engine in _TIMEOUTS_PER_TRANSACTION:
        with engine.begin() as conn:
            yield conn
    else:
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            yield conn


def ensure_sqlite_directory(database_uri: str) -> None:
    """Create the folder of a SQLite file so a fresh clone starts with no set-up."""
    url = make_url(database_uri)
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)


@event.listens_for(Engine, "connect")
def _configure_sqlite(dbapi_connection, _record) -> None:
    """WAL lets readers run beside the writer; foreign keys are off in SQLite unless asked."""
    if not isinstance(dbapi_connection, sqlite3.Connection):
        return
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


@contextmanager
def read_snapshot(engine: Engine) -> Iterator[Connection]:
    """A connection on which every read sees the same consistent state of the database.

    PostgreSQL: a REPEATABLE READ transaction. SQLite: an explicit BEGIN, because pysqlite
    otherwise runs each SELECT on its own (WAL then pins the snapshot at the first read).
    Always rolled back: it is for reading.
    """
    with engine.connect() as conn:
        if conn.dialect.name == "sqlite":
            conn.exec_driver_sql("BEGIN")
        else:
            conn = conn.execution_options(isolation_level="REPEATABLE READ")
        yield conn


@event.listens_for(Engine, "handle_error")
def _discard_connections_out_of_step(context) -> None:
    """A connection whose replies no longer match its commands cannot be used again.

    PgBouncer passes on the FATAL error of a server connection PostgreSQL terminated (a
    restart, a failover) and keeps the client connection open: psycopg then reads two results
    for its next command ("received 2 results from command 'BEGIN'", an InternalError). It is
    a lost connection, not a bug: marked disconnected, the pool drops it and the API says 503.
    """
    message = str(context.original_exception)
    if "results from command" in message and message.startswith("received "):
        context.is_disconnect = True


def ping_idle_connections(engine: Engine) -> None:
    """Pessimistic disconnect handling (SQLAlchemy's recipe), only for connections that sat idle.

    A failed ping raises DisconnectionError, on which the pool discards this connection (and
    every older one) and checks out a fresh one: a restarted database costs no request a 503.
    """
    if engine.dialect.name == "sqlite":
        return
    dialect = engine.dialect

    @event.listens_for(engine.pool, "checkin")
    def _note_last_use(dbapi_connection, record) -> None:
        record.info["aura_checked_in"] = time.monotonic()

    @event.listens_for(engine.pool, "checkout")
    def _ping_if_idle(dbapi_connection, record, proxy) -> None:
        idle_since = record.info.get("aura_checked_in")
        if idle_since is None or time.monotonic() - idle_since < IDLE_PING_SECONDS:
            return
        try:
            dialect.do_ping(dbapi_connection)
        except dialect.loaded_dbapi.Error as error:
            if dialect.is_disconnect(error, dbapi_connection, None):
                raise exc.DisconnectionError(str(error)) from error
            raise
