"""The job queue: Huey, on Redis in production and on a SQLite file for the quick start.

Why Huey (docs/consolidation.md, "Background consolidation"): one small, maintained library that runs on both
stores AURA already uses, with delayed jobs, retries with exponential backoff, periodic tasks
and a worker that runs many jobs at once in threads. What Huey's stores cannot give (a job
redelivered after its worker was killed, per-user exclusion across machines, debounce) comes
from the database's ConsolidationState (aura.jobs.state), the source of truth, so a queue that
loses its contents delays consolidations but loses none.
"""

from __future__ import annotations

import logging
from pathlib import Path

import redis
from flask import current_app
from huey import Huey, RedisHuey, SqliteHuey
from sqlalchemy.engine import make_url

log = logging.getLogger(__name__)
EXTENSION_KEY = "aura_queue"
TASKS_KEY = "aura_tasks"
QUEUE_NAME = "aura"


def queue_url(config) -> str | None:
    """AURA_QUEUE_URL, else the store AURA already has: the rate-limit Redis, or a SQLite file
    beside a SQLite database. None: no queue (PostgreSQL with per-process limits and no setting)."""
    if config["AURA_QUEUE_URL"]:
        return config["AURA_QUEUE_URL"]
    limits = config["RATELIMIT_STORAGE_URI"]
    if limits.startswith(("redis://", "rediss://")):
        return limits
    database = make_url(config["SQLALCHEMY_DATABASE_URI"])
    if database.get_backend_name() == "sqlite" and database.database and database.database != ":memory:":
        path = Path(database.database)
        return f"sqlite:///{path.with_name(path.stem + '-queue.db')}"
    return None


def build_queue(url: str, timeout: float = 2.0) -> Huey:
    """A Huey for ``url`` (redis:// or sqlite:///path). No results are stored: jobs report
    through the database. ``timeout`` bounds every Redis call (a chat turn queues a job: a hung
    Redis must not hang it); it exceeds the worker's 1 s blocking read."""
    if url.startswith(("redis://", "rediss://")):
        pool = redis.ConnectionPool.from_url(
            url, socket_timeout=max(timeout, 1.5), socket_connect_timeout=timeout
        )
        return RedisHuey(QUEUE_NAME, connection_pool=pool, results=False, utc=True)
    if url.startswith("sqlite:///"):
        path = Path(url.removeprefix("sqlite:///"))
        path.parent.mkdir(parents=True, exist_ok=True)
        return SqliteHuey(QUEUE_NAME, filename=str(path), results=False, utc=True)
    raise RuntimeError(f"AURA_QUEUE_URL must be redis://... or sqlite:///path, not {url.split(':')[0]!r}")


def job_queue() -> Huey | None:
    return current_app.extensions.get(EXTENSION_KEY)


def _schedule(task: str, argument: int, delay: float, what: str) -> bool:
    """Queue ``task(argument)`` in ``delay`` seconds; False if it could not be.

    Never fails the caller (a chat turn, a save): the database already holds what is due, and
    the sweep queues it once the queue is back.
    """
    if job_queue() is None:
        return False
    try:
        getattr(current_app.extensions[TASKS_KEY], task).schedule(args=(argument,), delay=max(0.0, delay))
    except Exception as error:  # noqa: BLE001 - any queue failure; the sweep makes up for it
        log.error("could not queue %s %s (%s); the sweep will", what, argument, error)
        return False
    return True


def enqueue_consolidation(user_id: int, delay: float) -> bool:
    """Queue a consolidation job for the user in ``delay`` seconds."""
    return _schedule("consolidate_user", user_id, delay, "a consolidation for user")


def enqueue_delivery(delivery_id: int, delay: float = 0.0) -> bool:
    """Queue one webhook delivery."""
    return _schedule("deliver_webhook", delivery_id, delay, "webhook delivery")
