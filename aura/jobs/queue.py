"""The job queue: Huey, on Redis in production and on a SQLite file for the quick start.

Why Huey (docs/consolidation.md, "Background consolidation"): one small, maintained library that runs on both
stores AURA already uses, with delayed jobs, retries with exponential backoff, periodic tasks
and a worker that runs many jobs at once in threads. What Huey's stores cannot give (a job
redelivered after its worker was killed, per-user exclusion across machines, debounce) comes
from the database's ConsolidationState (aura.jobs.state), the source of truth, so a queue that
loses its contents delays consolidations but loses none.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from pathlib import Path

import redis
from flask import current_app
from huey import Huey, RedisHuey, SqliteHuey
from huey.serializer import SignedSerializer
from prometheus_client import Counter
from sqlalchemy.engine import make_url

log = logging.getLogger(__name__)
EXTENSION_KEY = "aura_queue"
TASKS_KEY = "aura_tasks"
QUEUE_NAME = "aura"
REJECTED_MESSAGES = Counter(
    "aura_queue_messages_rejected_total",
    "Queue messages the worker dropped unread: not signed with AURA's queue key (forged, or from "
    "another deployment), or unreadable",
)


class UnsignedJob(ValueError):
    """A queue message AURA did not sign: dropped without being read."""


class SignedJobs(SignedSerializer):
    """Jobs signed with a key that never lives in the queue (HMAC over the serialized job).

    Huey serializes jobs with pickle, and unpickling runs code: anyone who can write to the
    Redis AURA uses (for rate limits too, by default) could have run commands on the worker,
    which holds the database credentials, the model key and the webhook secret. Now a message
    is unpickled only once its signature checks out; anything else is dropped, logged without
    its bytes and counted, and the worker carries on (Huey logs the error and reads the next).
    """

    def _deserialize(self, data: bytes):
        try:
            return super()._deserialize(data)
        except Exception:  # noqa: BLE001 - a bad signature, a missing one, bytes that are not a job
            REJECTED_MESSAGES.inc()
            log.error(
                "dropped a queue message not signed with AURA's queue key (%d bytes, unread)", len(data)
            )
            raise UnsignedJob("A queue message without AURA's signature was dropped unread.") from None


def queue_key(config) -> str:
    """AURA_QUEUE_SECRET, else a key derived from SECRET_KEY (never the key itself): neither is
    ever stored in the queue."""
    if config.get("AURA_QUEUE_SECRET"):
        return config["AURA_QUEUE_SECRET"]
    return hmac.new(config["SECRET_KEY"].encode(), b"aura job queue v1", hashlib.sha256).hexdigest()


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


def build_queue(url: str, key: str, timeout: float = 2.0) -> Huey:
    """A Huey for ``url`` (redis:// or sqlite:///path) whose jobs are signed with ``key``
    (queue_key). No results are stored: jobs report through the database. ``timeout`` bounds
    every Redis call (a chat turn queues a job: a hung Redis must not hang it); it exceeds the
    worker's 1 s blocking read."""
    options = {"results": False, "utc": True, "serializer": SignedJobs(secret=key, salt="aura-jobs")}
    if url.startswith(("redis://", "rediss://")):
        pool = redis.ConnectionPool.from_url(
            url, socket_timeout=max(timeout, 1.5), socket_connect_timeout=timeout
        )
        return RedisHuey(QUEUE_NAME, connection_pool=pool, **options)
    if url.startswith("sqlite:///"):
        path = Path(url.removeprefix("sqlite:///"))
        path.parent.mkdir(parents=True, exist_ok=True)
        return SqliteHuey(QUEUE_NAME, filename=str(path), **options)
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
