"""One log line per request (method, path, status, latency); never bodies, tokens or memory text."""

from __future__ import annotations

import logging
import time

from flask import Flask, g, request


def configure_logging(app: Flask) -> None:
    level = getattr(logging, str(app.config.get("AURA_LOG_LEVEL", "INFO")).upper(), logging.INFO)
    app.logger.setLevel(level)

    @app.before_request
    def _start_timer() -> None:
        g.request_started = time.perf_counter()

    @app.after_request
    def _log_request(response):
        started = g.get("request_started")
        elapsed_ms = (time.perf_counter() - started) * 1000 if started else 0.0
        app.logger.info("%s %s %s %.1fms", request.method, request.path, response.status_code, elapsed_ms)
        return response
