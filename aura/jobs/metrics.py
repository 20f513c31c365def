"""Job metrics: counted in the worker (its own /metrics, AURA_WORKER_METRICS_PORT) from Huey's
signals, plus what the web app's /metrics can tell from the queue and the database."""

from __future__ import annotations

import logging
import threading
import time

from huey import Huey
from huey import signals as huey_signals
from prometheus_client import Counter, Gauge, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric
from sqlalchemy import func, select

from aura.extensions import db
from aura.jobs.queue import job_queue
from aura.models import ConsolidationState, utcnow

JOBS = Counter("aura_jobs_total", "Background jobs finished, by task and outcome", ["task", "outcome"])
JOB_EVENTS = Counter(
    "aura_job_events_total",
    "Huey job events by task: executing, complete, error (failed), retrying, interrupted...",
    ["task", "event"],
)
JOBS_RUNNING = Gauge(
    "aura_jobs_running", "Jobs running now in this worker", ["task"], multiprocess_mode="livesum"
)
JOB_SECONDS = Histogram(
    "aura_job_seconds", "Time a job ran", ["task"], buckets=(0.1, 0.5, 1, 2, 5, 10, 30, 60, 120)
)
JOB_START_DELAY = Histogram(
    "aura_job_start_delay_seconds",
    "From when a job was due to when a worker started it",
    ["task"],
    buckets=(0.1, 0.5, 1, 2, 5, 10, 30, 60, 120, 300),
)
_ENDED = (
    huey_signals.SIGNAL_COMPLETE,
    huey_signals.SIGNAL_ERROR,
    huey_signals.SIGNAL_CANCELED,
    huey_signals.SIGNAL_INTERRUPTED,
    huey_signals.SIGNAL_TIMEOUT,
)


def task_label(task) -> str:
    return task.name.rsplit(".", 1)[-1]


def count_job_events(huey: Huey) -> None:
    """Follow every job through Huey's signals: running, duration, start delay, outcome events."""
    started: dict[str, float] = {}
    lock = threading.Lock()

    @huey.signal()
    def _on_event(signal: str, task, *_args) -> None:
        name = task_label(task)
        JOB_EVENTS.labels(name, signal).inc()
        if signal == huey_signals.SIGNAL_EXECUTING:
            JOBS_RUNNING.labels(name).inc()
            with lock:
                started[task.id] = time.monotonic()
            if task.eta is not None:
                due = task.eta.replace(tzinfo=utcnow().tzinfo) if task.eta.tzinfo is None else task.eta
                JOB_START_DELAY.labels(name).observe(max(0.0, (utcnow() - due).total_seconds()))
        elif signal in _ENDED:
            with lock:
                began = started.pop(task.id, None)
            if began is not None:
                JOBS_RUNNING.labels(name).dec()
                JOB_SECONDS.labels(name).observe(time.monotonic() - began)


def queue_families(huey: Huey | None, due: int | None) -> list:
    """Gauges the web app's /metrics computes at scrape time: jobs waiting in the queue (ready and
    delayed) and users whose consolidation is due. A store that does not answer is left out."""
    families = []
    if huey is not None:
        try:
            ready, delayed = huey.pending_count(), huey.scheduled_count()
        except Exception as error:  # noqa: BLE001 - an unreachable queue must not break the scrape
            logging.getLogger(__name__).warning("job queue unreadable for /metrics: %s", error)
        else:
            queued = GaugeMetricFamily("aura_jobs_queued", "Jobs in the queue", labels=["state"])
            queued.add_metric(["ready"], ready)
            queued.add_metric(["delayed"], delayed)
            families.append(queued)
    if due is not None:
        families.append(
            GaugeMetricFamily("aura_consolidations_due", "Users whose consolidation is due now", value=due)
        )
    return families


def job_gauges() -> list[Metric]:
    """The queue's length and the users due now, read when /metrics is scraped."""
    try:
        due = db.session.scalar(
            select(func.count()).select_from(ConsolidationState).where(ConsolidationState.due_at <= utcnow())
        )
    except Exception:  # noqa: BLE001 - a database that does not answer: the gauge is left out
        due = None
    finally:
        db.session.rollback()
    return queue_families(job_queue(), due)
