"""The worker's tasks, registered on the app's Huey: each runs inside the app's context."""

from __future__ import annotations

from dataclasses import dataclass
from functools import wraps

from flask import Flask
from huey import Huey, crontab
from huey.api import TaskWrapper

from aura.jobs.consolidate import consolidate_user
from aura.jobs.metrics import count_job_events
from aura.jobs.sweep import prune_old_turns, sweep_due_users
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
