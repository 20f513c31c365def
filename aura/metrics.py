"""Prometheus metrics at /metrics: requests, saves, chat and the database pool, across all workers.

gunicorn runs several worker processes; prometheus-client's multiprocess mode lets each write
its samples to files in PROMETHEUS_MULTIPROC_DIR (gunicorn.conf.py sets it up), and one scrape
of any worker adds them all up. Without that variable (flask run, tests) the process's own
registry is served. Labels are route templates and outcomes, never ids or text.
"""

from __future__ import annotations

import hmac
import os
import time

from flask import Blueprint, Flask, Response, current_app, g, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from sqlalchemy import event
from sqlalchemy.engine import Engine

REQUESTS = Counter("aura_http_requests_total", "HTTP requests answered", ["method", "endpoint", "status"])
LATENCY = Histogram(
    "aura_http_request_duration_seconds",
    "Time to answer an HTTP request (until the first byte of a stream)",
    ["method", "endpoint"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
MEMORY_SAVES = Counter("aura_memory_saves_total", "Memories written", ["source"])
CHAT_CALLS = Counter("aura_chat_calls_total", "Chat turns by outcome", ["outcome"])
MODEL_LATENCY = Histogram(
    "aura_chat_model_seconds",
    "Time until the model's answer began (the whole reply, or a stream's headers)",
    buckets=(0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60),
)
# Consolidations by outcome: changed, unchanged, preview, conflict (lost the race twice, or a pinned
# version moved), memory_disabled, or the model failure (model_error, timeout, bad_answer...).
CONSOLIDATIONS = Counter("aura_consolidations_total", "Memory consolidations by outcome", ["outcome"])
CONSOLIDATION_SECONDS = Histogram(
    "aura_consolidation_seconds",
    "Time a consolidation took, model calls included",
    buckets=(0.5, 1, 2, 5, 10, 20, 30, 60, 120),
)
CONSOLIDATION_TOKENS = Counter(
    "aura_consolidation_tokens_total", "Model tokens spent on consolidations", ["kind"]
)
POOL_IN_USE = Gauge(
    "aura_db_pool_connections_in_use", "Database connections checked out", multiprocess_mode="livesum"
)

bp = Blueprint("metrics", __name__)

# Every label value fed by a request comes from a fixed set: a made-up method (anyone can send
# 2,000 of them) would otherwise be a new time series each, growing every scrape without end.
KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def method_label(method: str) -> str:
    return method if method in KNOWN_METHODS else "other"


def _registry() -> CollectorRegistry:
    if "PROMETHEUS_MULTIPROC_DIR" not in os.environ:
        return REGISTRY
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)
    return registry


@bp.get("/metrics")
def scrape():
    """Open unless AURA_METRICS_TOKEN is set; then it needs that bearer token."""
    token = current_app.config["AURA_METRICS_TOKEN"]
    if token:
        given = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        if not hmac.compare_digest(given.encode(), token.encode()):
            return Response("metrics need the AURA_METRICS_TOKEN bearer token\n", 401, mimetype="text/plain")
    return Response(generate_latest(_registry()) + _job_gauges(), mimetype=CONTENT_TYPE_LATEST)


def _job_gauges() -> bytes:
    """The queue's length and the users due now, read at scrape time (aura.jobs)."""
    from sqlalchemy import func, select

    from aura.extensions import db
    from aura.jobs.metrics import queue_families
    from aura.jobs.queue import job_queue
    from aura.models import ConsolidationState, utcnow

    try:
        due = db.session.scalar(
            select(func.count()).select_from(ConsolidationState).where(ConsolidationState.due_at <= utcnow())
        )
    except Exception:  # noqa: BLE001 - a database that does not answer: the gauge is left out
        due = None
    finally:
        db.session.rollback()

    class _Families:
        def collect(self):
            return queue_families(job_queue(), due)

    registry = CollectorRegistry()
    registry.register(_Families())
    return generate_latest(registry)


def count_pool_use(engine: Engine) -> None:
    """Track checked-out connections: a pool near its limit is where 503s come from."""
    event.listen(engine.pool, "checkout", lambda *_: POOL_IN_USE.inc())
    event.listen(engine.pool, "checkin", lambda *_: POOL_IN_USE.dec())


def init_metrics(app: Flask) -> None:
    """After configure_logging: the latency is timed from the request log's own start time."""
    app.register_blueprint(bp)

    @app.after_request
    def _observe(response):
        started = g.get("request_started")
        if started is not None and request.endpoint != "metrics.scrape":
            endpoint = request.url_rule.rule if request.url_rule else "(unmatched)"
            method = method_label(request.method)
            REQUESTS.labels(method, endpoint, str(response.status_code)).inc()
            LATENCY.labels(method, endpoint).observe(time.perf_counter() - started)
        return response
