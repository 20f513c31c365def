"""Prometheus metrics at /metrics, across all workers: what every feature counts, plus what it
computes at scrape time (collect_at_scrape). Each feature defines its own collectors beside its
code (aura.memory.metrics, aura.chat.metrics, ...); this module counts requests and serves them.

gunicorn runs several worker processes; prometheus-client's multiprocess mode lets each write
its samples to files in PROMETHEUS_MULTIPROC_DIR (gunicorn.conf.py sets it up), and one scrape
of any worker adds them all up. Without that variable (flask run, tests) the process's own
registry is served. Labels are route templates and outcomes, never ids or text.
"""

from __future__ import annotations

import hmac
import os
import time
from collections.abc import Callable

from flask import Blueprint, Flask, Response, current_app, g, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import Metric

REQUESTS = Counter("aura_http_requests_total", "HTTP requests answered", ["method", "endpoint", "status"])
LATENCY = Histogram(
    "aura_http_request_duration_seconds",
    "Time to answer an HTTP request (until the first byte of a stream)",
    ["method", "endpoint"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)

bp = Blueprint("metrics", __name__)
SCRAPE_COLLECTORS_KEY = "aura_scrape_collectors"

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
    return Response(generate_latest(_registry()) + _computed_at_scrape(), mimetype=CONTENT_TYPE_LATEST)


def collect_at_scrape(app: Flask, collector: Callable[[], list[Metric]]) -> None:
    """Serve what ``collector()`` computes at each scrape beside the counted metrics (a feature's
    gauges read from the queue or the database: one process's registry cannot hold them)."""
    app.extensions.setdefault(SCRAPE_COLLECTORS_KEY, []).append(collector)


def _computed_at_scrape() -> bytes:
    collectors = current_app.extensions.get(SCRAPE_COLLECTORS_KEY, ())
    if not collectors:
        return b""

    class _Computed:
        def collect(self):
            for collector in collectors:
                yield from collector()

    registry = CollectorRegistry()
    registry.register(_Computed())
    return generate_latest(registry)


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
