"""A client-side deadline on each request's database work, under gevent workers.

statement_timeout and lock_timeout are enforced by PostgreSQL itself, connect_timeout by
libpq; none helps when the server (or a proxy in between) accepts bytes and never answers:
the request would wait forever. Under gevent a request is a greenlet, so a gevent.Timeout
can interrupt it wherever it waits. The connection it interrupts is in an unknown state, so
it is marked as disconnected: SQLAlchemy discards it and every older pooled connection.

The deadline covers the request until its view hands over to a long wait of its own (the
chat model, with its own timeouts: see suspend_request_deadline). Without gevent (the
development server, tests) there is no greenlet to interrupt and only the server-side
timeouts apply.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext

from flask import Flask, g, has_request_context, request
from sqlalchemy import event
from sqlalchemy.engine import Engine
from werkzeug.exceptions import RequestTimeout


class DatabaseDeadlineExceeded(Exception):
    """The request's database work took longer than AURA_DB_REQUEST_TIMEOUT."""


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
    import gevent

    seconds = app.config["AURA_DB_REQUEST_TIMEOUT"]
    body_seconds = app.config["AURA_BODY_TIMEOUT"]

    @app.before_request
    def _start_deadline() -> None:
        _read_body_in_time(body_seconds)
        message = f"The database did not answer within {seconds:g} s."
        g.request_deadline = gevent.Timeout(seconds, DatabaseDeadlineExceeded(message))
        g.request_deadline.start()

    @app.teardown_request
    def _cancel_deadline(_error: BaseException | None) -> None:
        suspend_request_deadline()


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


@contextmanager
def outside_request_deadline() -> Iterator[None]:
    """Wait on something that is not the database (the identity provider) off the deadline's clock.

    The deadline resumes afterwards with its full length: it bounds the database work still to come.
    """
    deadline = g.get("request_deadline") if has_request_context() else None
    if deadline is None:
        yield
        return
    deadline.cancel()
    try:
        yield
    finally:
        deadline.start()


def suspend_request_deadline() -> None:
    """The request's database work is done: what follows has its own timeouts (e.g. the model)."""
    deadline = g.pop("request_deadline", None)
    if deadline is not None:
        deadline.close()


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
