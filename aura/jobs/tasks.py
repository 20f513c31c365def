"""The app's job queue and the worker's tasks on it, each run inside the app's context.

The one place that knows every task (consolidation, webhook delivery, the periodic sweep and
pruning): the jobs' wiring, as the app factory is the blueprints'. Tasks queue others through
aura.jobs.queue by name, never by importing this module."""

from __future__ import annotations

from dataclasses import dataclass
from functools import wraps

from flask import Flask
from huey import Huey, crontab
from huey.api import TaskWrapper

from aura.jobs.consolidate import consolidate_user
from aura.jobs.metrics import count_job_events, job_gauges
from aura.jobs.queue import EXTENSION_KEY, TASKS_KEY, build_queue, queue_key, queue_url
from aura.jobs.state import Timing
from aura.jobs.sweep import prune_old_turns, sweep_due_users
from aura.web.metrics import collect_at_scrape
from aura.webhooks.delivery import deliver_webhook


@dataclass(frozen=True)
class Tasks:
    consolidate_user: TaskWrapper
    deliver_webhook: TaskWrapper
    sweep: TaskWrapper
    prune: TaskWrapper


def _every_check(_when) -> bool:
    """Huey checks periodic tasks once a minute; the sweep runs at every check."""
    return True


def register_tasks(huey: Huey, app: Flask) -> Tasks:
    def in_app(function):
        @wraps(function)
        def run(*args, **kwargs):
            with app.app_context():
                return function(*args, **kwargs)

        return run

    cfg = app.config
    consolidate = huey.task(
        name="aura.consolidate_user",
        retries=cfg["AURA_JOB_RETRIES"],
        retry_delay=cfg["AURA_JOB_RETRY_DELAY"],
        retry_backoff=2,
        context=True,  # the job reads its own retry delay, so the sweep leaves the retry to Huey
    )(in_app(consolidate_user))
    deliver = huey.task(
        name="aura.deliver_webhook",
        retries=cfg["AURA_WEBHOOK_RETRIES"],
        retry_delay=cfg["AURA_WEBHOOK_RETRY_DELAY"],
        retry_backoff=2,
        context=True,
    )(in_app(deliver_webhook))
    sweep = huey.periodic_task(_every_check, name="aura.sweep")(in_app(sweep_due_users))
    prune = huey.periodic_task(crontab(hour="3", minute="17"), name="aura.prune_turns")(
        in_app(prune_old_turns)
    )
    count_job_events(huey)
    return Tasks(consolidate, deliver, sweep, prune)


def init_jobs(app: Flask) -> None:
    """The app's queue and its tasks (the same in the web app, which enqueues, and the worker)."""
    Timing.from_config(app.config)  # refuse impossible timings at start-up
    collect_at_scrape(app, job_gauges)
    url = queue_url(app.config)
    if url is None:
        app.extensions[EXTENSION_KEY] = None
        if app.config["AURA_CONVERSATION_RECORDING"]:
            app.logger.warning(
                "conversation recording is on but there is no job queue: turns are kept, nothing "
                "consolidates them. Set AURA_QUEUE_URL=redis://... (or AURA_RATELIMIT_STORAGE_URI)."
            )
        return
    huey = build_queue(url, queue_key(app.config), float(app.config["AURA_REDIS_TIMEOUT"]))
    app.extensions[TASKS_KEY] = register_tasks(huey, app)
    app.extensions[EXTENSION_KEY] = huey
