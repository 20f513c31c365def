"""A client-side deadline on each database conversation of a request, under gevent workers.

statement_timeout and lock_timeout are enforced by PostgreSQL itself, connect_timeout by
libpq; none helps when the server (or a proxy in between) accepts bytes and never answers:
the request would wait forever. Under gevent a request is a greenlet, so a gevent.Timeout
can interrupt it wherever it waits. The connection it interrupts is in an unknown state, so
it is marked as disconnected: SQLAlchemy discards it and every older pooled connection.

The clock runs while the request holds a pooled connection (from checkout to checkin), not
from the request's start: waiting in line for a connection (bounded by AURA_DB_POOL_TIMEOUT)
or for a CPU during a burst is not the database failing to answer. Measured on 2 loaded
cores, a request-wide clock answered 701 of a 1,000-stream burst "database unavailable"
while PostgreSQL was idle. A request that waits on something else while holding a connection
(the model in a synchronous consolidation, the identity provider) stops the clock meanwhile
(outside_request_deadline). Without gevent (the development server, tests) there is no
greenlet to interrupt and only the server-side timeouts apply.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext

from flask import Flask, g, has_app_context, has_request_context, request
from sqlalchemy import event
from sqlalchemy.engine import Engine
from werkzeug.exceptions import RequestTimeout

from aura.extensions import db

_ARMED = "aura_db_deadline"  # the running timer, in the pool entry's record_info


class DatabaseDeadlineExceeded(Exception):
    """A request held a database connection longer than AURA_DB_REQUEST_TIMEOUT without an answer."""


def gevent_is_active() -> bool:
    """True in a gevent-patched process (gunicorn's gevent worker patches before loading the app)."""
    try:
        from gevent import monkey
    except ImportError:
        return False
    return monkey.is_module_patched("socket")


def init_request_deadline(app: Flask) -> None:
    if not gevent_is_active():
        return
    seconds = app.config["AURA_DB_REQUEST_TIMEOUT"]
    body_seconds = app.config["AURA_BODY_TIMEOUT"]

    @app.before_request
    def _read_body_first() -> None:
        _read_body_in_time(body_seconds)
        g.db_deadlines = {}  # pool entry id -> its running timer, while this request holds it

    @app.teardown_request
    def _stop_leftover_clocks(_error: BaseException | None) -> None:
        # A greenlet serves the next request on its keep-alive connection: no timer of this
        # one may fire into it.
        suspend_request_deadline()
        g.pop("db_deadlines", None)

    with app.app_context():
        _arm_on_checkout(db.engine, seconds)


def _arm_on_checkout(engine: Engine, seconds: float) -> None:
    """Start the clock when a request checks a connection out, stop it when the connection returns.

    Registered first among the checkout listeners, so the idle ping (aura.database) is covered
    too. A checkout retried after a failed ping keeps the clock it already has.
    """
    import gevent

    message = f"The database did not answer within {seconds:g} s."

    @event.listens_for(engine.pool, "checkout", insert=True)
    def _arm(_dbapi_connection, record, _proxy) -> None:
        if not has_request_context() or "db_deadlines" not in g or _ARMED in record.record_info:
            return
        timer = gevent.Timeout(seconds, DatabaseDeadlineExceeded(message))
        timer.start()
        record.record_info[_ARMED] = timer
        g.db_deadlines[id(record)] = timer

    @event.listens_for(engine.pool, "checkin")
    def _disarm(_dbapi_connection, record) -> None:
        timer = record.record_info.pop(_ARMED, None)
        if timer is None:
            return
        timer.close()
        if has_app_context():
            g.get("db_deadlines", {}).pop(id(record), None)


class BodyTimeout(RequestTimeout):
    """The client did not send its whole request body within AURA_BODY_TIMEOUT.

    gunicorn discards whatever of the body still arrives before it reads a next request on
    that connection; under gevent that costs a waiting greenlet, not a worker.
    """


def _read_body_in_time(seconds: float) -> None:
    """Take in the whole body (at most MAX_CONTENT_LENGTH) before the database deadline starts.

    A client trickling its body is the client's delay, not the database's: read inside the
    deadline, it ran the deadline out, was answered "database unavailable" and emptied the
    pool. Read here, it gets 408 after AURA_BODY_TIMEOUT; the view later reads the cached body.
    """
    import gevent

    if not (request.content_length or request.headers.get("Transfer-Encoding")):
        return
    timeout = gevent.Timeout(seconds, BodyTimeout(f"The request body did not arrive within {seconds:g} s."))
    timeout.start()
    try:
        request.get_data(cache=True)
    finally:
        timeout.close()


def _running_clocks() -> list:
    return list(g.get("db_deadlines", {}).values()) if has_request_context() else []


@contextmanager
def outside_request_deadline() -> Iterator[None]:
    """Wait on something that is not the database (the model, the identity provider) off the clock.

    Each connection still held gets its full length again afterwards: it bounds the database
    work still to come. Connections checked out meanwhile get their own clock as usual.
    """
    clocks = _running_clocks()
    for clock in clocks:
        clock.cancel()
    try:
        yield
    finally:
        for clock in clocks:
            clock.start()


def suspend_request_deadline() -> None:
    """The view hands over to a long wait with its own timeouts (the model): a connection still
    held meanwhile is not the database failing to answer. Later checkouts get their own clock."""
    for clock in _running_clocks():
        clock.close()


def interrupted_by_deadline(error: BaseException | None) -> bool:
    """Whether ``error`` is the deadline or came from it (a driver error raised while cleaning up
    after the interruption, e.g. psycopg's "connection in transaction status ACTIVE")."""
    seen = set()
    while error is not None and id(error) not in seen:
        if isinstance(error, DatabaseDeadlineExceeded):
            return True
        seen.add(id(error))
        error = error.__cause__ or error.__context__
    return False


@event.listens_for(Engine, "handle_error")
def _discard_interrupted_connections(context) -> None:
    """A connection interrupted mid-conversation cannot be reused: treat it as disconnected.

    Not for the pool's pre-ping: a "disconnected" ping makes SQLAlchemy reconnect at once,
    which against a frozen server waits out the connect timeout. Left as an error, the ping
    fails fast and the pool discards that connection by itself.
    """
    if interrupted_by_deadline(context.original_exception) and not context.is_pre_ping:
        context.is_disconnect = True


def abandon_pool_if_deadline_hit(error: BaseException, engine: Engine) -> None:
    """After a deadline hit, the pool's idle connections most likely lead to the same frozen
    server: close them, so the next requests connect afresh (bounded by the connect timeout)."""
    if interrupted_by_deadline(error):
        engine.dispose()


def probe_deadline(seconds: float) -> AbstractContextManager:
    """A shorter deadline for one block (the readiness probe); a no-op without gevent."""
    if not gevent_is_active():
        return nullcontext()
    import gevent

    return gevent.Timeout(seconds, DatabaseDeadlineExceeded(f"No answer within {seconds:g} s."))
