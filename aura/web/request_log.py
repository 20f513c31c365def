"""One log line per request (id, method, path, status, latency); never bodies, tokens or memory text.

With AURA_LOG_FORMAT=json the line is a JSON object that also names the endpoint template,
the kind of caller and the user acted for (aura.web.log_format).
"""

from __future__ import annotations

import logging
import re
import time
import uuid

from flask import Flask, g, request

from aura.web.log_format import install_log_handler

REQUEST_ID_HEADER = "X-Request-ID"
# A caller's id is reused only if it is short and plain, so it cannot forge log lines.
_SAFE_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")


def _request_id() -> str:
    given = request.headers.get(REQUEST_ID_HEADER, "")
    return given if _SAFE_REQUEST_ID.fullmatch(given) else uuid.uuid4().hex


def _request_fields(request_id: str, status: int, elapsed_ms: float) -> dict:
    """The structured form of the request line (JSON logs); ids and numbers, never content."""
    principal = g.get("principal")
    user_id = g.get("acting_for") or (principal.user_id if principal else None)
    return {
        "request_id": request_id,
        "method": request.method,
        "endpoint": request.url_rule.rule if request.url_rule else None,
        "path": request.path,
        "status": status,
        "latency_ms": round(elapsed_ms, 1),
        "principal": principal.kind if principal else None,
        "user_id": user_id,
    }


def configure_logging(app: Flask) -> None:
    level = getattr(logging, str(app.config.get("AURA_LOG_LEVEL", "INFO")).upper(), logging.INFO)
    app.logger.setLevel(level)
    install_log_handler(app.logger, app.config["AURA_LOG_FORMAT"])

    @app.before_request
    def _start_timer() -> None:
        g.request_started = time.perf_counter()
        g.request_id = _request_id()

    @app.after_request
    def _log_request(response):
        started = g.get("request_started")
        elapsed_ms = (time.perf_counter() - started) * 1000 if started else 0.0
        request_id = g.get("request_id") or _request_id()
        response.headers[REQUEST_ID_HEADER] = request_id
        if not app.logger.isEnabledFor(logging.INFO):
            return response  # the line's fields cost more than the check
        app.logger.info(
            "%s %s %s %s %.1fms",
            request_id,
            request.method,
            request.path,
            response.status_code,
            elapsed_ms,
            extra={"aura_request": _request_fields(request_id, response.status_code, elapsed_ms)},
        )
        return response
