"""One error shape for every API failure; HTML pages keep HTML errors."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Flask, Response, current_app, jsonify, render_template, request
from flask.globals import request_ctx
from limits.errors import StorageError
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from werkzeug.exceptions import HTTPException, InternalServerError, ServiceUnavailable

from aura.extensions import db
from aura.web.deadline import DatabaseDeadlineExceeded, abandon_pool_if_deadline_hit, interrupted_by_deadline
from aura.web.error_codes import DEFAULT_CODES

FRIENDLY_MESSAGES = {
    400: "The request body is not valid JSON.",
    404: "No such endpoint.",
    405: "Method not allowed on this endpoint.",
    413: "The request body is too large.",
    422: "The request failed validation.",
    500: "Internal server error.",
}


def error_response(
    status: int,
    message: str,
    errors: dict | None = None,
    headers: dict | None = None,
    extra: dict[str, Any] | None = None,
    code: str | None = None,
):
    """Build the standard JSON error response (``extra``: fields some errors add, e.g. current_version;
    ``code``: the machine-readable code, by default the status's)."""
    payload: dict[str, Any] = {
        "status": "error",
        "code": code or DEFAULT_CODES.get(status, "error"),
        "message": message,
        "errors": errors or {},
        **(extra or {}),
    }
    response = jsonify(payload)
    response.status_code = status
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def with_code(error: HTTPException, code: str) -> HTTPException:
    """Give a raised HTTP error a precise JSON ``code`` (see ERROR_CODES)."""
    error.data = {**(getattr(error, "data", None) or {}), "error_code": code}
    return error


ERROR_FORMATS_KEY = "aura_error_formats"
# (status, message, field errors, headers, code) -> the response, in a protocol's own error shape
ErrorFormat = Callable[[int, str, dict, dict, "str | None"], Response]


def register_error_format(app: Flask, path_prefix: str, error_format: ErrorFormat) -> None:
    """Answer errors under ``path_prefix`` in another protocol's shape (OpenAI's under /v1/)."""
    app.extensions.setdefault(ERROR_FORMATS_KEY, {})[path_prefix] = error_format


def _error_format() -> ErrorFormat | None:
    """The JSON error shape for this request's path; None: an HTML page."""
    for prefix, error_format in current_app.extensions.get(ERROR_FORMATS_KEY, {}).items():
        if request.path.startswith(prefix):
            return error_format
    if request.path.startswith("/api/"):
        return _standard_error
    return None


def _standard_error(status: int, message: str, errors: dict, headers: dict, code: str | None) -> Response:
    return error_response(status, message, errors, headers, code=code)


def _field_errors(data: dict) -> dict:
    """Flatten webargs' {"json": {"field": [...]}} into {"field": [...]}."""
    messages = data.get("messages") or data.get("errors") or {}
    flat: dict[str, Any] = {}
    for location, detail in messages.items():
        if isinstance(detail, dict):
            flat.update(detail)
        else:
            flat[location] = detail
    return flat


def _message_for(error: HTTPException, data: dict) -> str:
    if data.get("message"):
        return data["message"]
    if error.code == 400 and data.get("messages"):
        return FRIENDLY_MESSAGES[400]
    if error.code == 413:
        limit = current_app.config.get("MAX_CONTENT_LENGTH")
        return (
            f"The request body is larger than the {limit:,}-byte limit." if limit else FRIENDLY_MESSAGES[413]
        )
    if error.description and error.description != type(error).description:
        return error.description  # the raiser said what is wrong (which model, which page...)
    return FRIENDLY_MESSAGES.get(error.code or 500) or error.description or error.name


def handle_http_exception(error: HTTPException, code: str | None = None):
    """JSON under /api, an HTML page elsewhere (also replaces flask-smorest's handler).

    The JSON ``code`` is ``code``, else what the raiser put in ``error.data["error_code"]``
    (flask-smorest's abort(..., error_code=...)), else the status's default.
    """
    if error.response is not None:  # the raiser already built the response (rate_limited does)
        return error.response
    if error.code and error.code >= 500:
        db.session.rollback()
    data = getattr(error, "data", None) or {}
    # Keep what the exception says about itself (Allow, WWW-Authenticate, Retry-After).
    headers = {name: value for name, value in error.get_headers() if name.lower() != "content-type"}
    headers.update(data.get("headers") or {})
    error_format = _error_format()
    if error_format is None:
        # No URL adapter: Flask could not bind the request to a host (an untrusted Host header),
        # so the usual page, whose links are built with url_for, cannot be rendered.
        template = "error.html" if request_ctx.url_adapter is not None else "bare_error.html"
        response = render_template(template, error=error), error.code or 500
        return response if not headers else (*response, headers)
    code = code or data.get("error_code")
    status = error.code or 500
    return error_format(status, _message_for(error, data), _field_errors(data), headers, code)


def handle_database_unavailable(error: Exception):
    """A database that is down, hung or saturated is not the client's fault, nor a crash: 503.

    Covers connection failures and server-side timeouts (OperationalError), no free pooled
    connection within AURA_DB_POOL_TIMEOUT, and the request deadline (aura.web.deadline).
    """
    db.session.rollback()
    abandon_pool_if_deadline_hit(error, db.engine)
    current_app.logger.error("database unavailable: %s", describe_driver_error(error))
    return handle_http_exception(
        ServiceUnavailable("The database is unavailable; try again shortly."), code="database_unavailable"
    )


# Driver messages that have a known cause in AURA's own settings, and what to change.
_POOLER_FIX = "set AURA_DB_POOLER=pgbouncer-transaction"
_HINTS = {
    "unsupported startup parameter": f"behind PgBouncer in transaction mode, {_POOLER_FIX}",
    "prepared statement": f"a pooler in transaction mode mixes prepared statements: {_POOLER_FIX}",
}
_LOGGED_MESSAGE_CHARS = 300


def describe_driver_error(error: BaseException) -> str:
    """The driver's class and first message line (e.g. which parameter PgBouncer refused), plus a hint.

    Operational messages name servers, parameters and timeouts, not memory text; the line is
    still cut short so a long server detail never floods the log.
    """
    cause = getattr(error, "orig", None) or error
    first_line = (str(cause).strip().splitlines() or [""])[0][:_LOGGED_MESSAGE_CHARS]
    described = f"{cause.__class__.__name__}: {first_line}" if first_line else cause.__class__.__name__
    hint = next((hint for needle, hint in _HINTS.items() if needle in first_line), None)
    return f"{described} ({hint})" if hint else described


def handle_database_error(error: DBAPIError):
    """Other driver errors are bugs (500), unless the connection was lost or the deadline hit (503)."""
    if error.connection_invalidated or interrupted_by_deadline(error):
        return handle_database_unavailable(error)
    return handle_unexpected(error)


def handle_unexpected(error: Exception):
    """Log the traceback server-side; the client gets a generic 500 with no details."""
    db.session.rollback()
    current_app.logger.exception("unhandled error on %s %s", request.method, request.path)
    return handle_http_exception(InternalServerError())


def handle_rate_limit_storage_down(error: StorageError):
    """Redis (the shared rate-limit counters) unreachable: nothing can be counted, so nothing is
    let through unlimited and nothing crashes; the client is told to retry (503)."""
    current_app.logger.error("rate-limit storage unavailable: %s", describe_driver_error(error.storage_error))
    unavailable = ServiceUnavailable("Rate limits cannot be checked; try again shortly.")
    return handle_http_exception(unavailable, code="rate_limits_unavailable")


def register_error_handlers(app: Flask) -> None:
    app.register_error_handler(HTTPException, handle_http_exception)
    for database_trouble in (OperationalError, PoolTimeoutError, DatabaseDeadlineExceeded):
        app.register_error_handler(database_trouble, handle_database_unavailable)
    app.register_error_handler(DBAPIError, handle_database_error)
    app.register_error_handler(StorageError, handle_rate_limit_storage_down)
    app.register_error_handler(Exception, handle_unexpected)
