"""Job metrics. Counted in the worker process; see DEPLOY.md for scraping them."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

JOBS = Counter("aura_jobs_total", "Background jobs finished, by task and outcome", ["task", "outcome"])
JOBS_RUNNING = Gauge("aura_jobs_running", "Jobs running now", multiprocess_mode="livesum")
JOBS_RETRIED = Counter("aura_jobs_retried_total", "Jobs that failed and were queued again", ["task"])
JOB_SECONDS = Histogram(
    "aura_job_seconds",
    "Time a job ran",
    ["task"],
    buckets=(0.1, 0.5, 1, 2, 5, 10, 30, 60, 120),
)
JOB_DELAY = Histogram(
    "aura_job_start_delay_seconds",
    "From when a job was due to when a worker started it",
    buckets=(0.1, 0.5, 1, 2, 5, 10, 30, 60, 120, 300),
)
