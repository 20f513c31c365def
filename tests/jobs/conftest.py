"""Background consolidation under test: the web app records turns, a real worker process runs jobs.

The queue is the one production uses on each leg: Redis beside PostgreSQL, a SQLite file beside
SQLite.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from tests import databases
from tests.conftest import service_client
from tests.fake_llm import FakeLLM

QUEUE_REDIS = "redis://127.0.0.1:6379/13"  # a database of its own, emptied around each test


@pytest.fixture()
def queue_url(tmp_path):
    if databases.test_backend_url() is None:
        yield f"sqlite:///{tmp_path}/queue.db"
        return
    redis = pytest.importorskip("redis")
    client = redis.Redis.from_url(QUEUE_REDIS)
    client.flushdb()
    yield QUEUE_REDIS
    client.flushdb()
    client.close()


@pytest.fixture()
def job_settings(fake_llm: FakeLLM, queue_url: str) -> dict[str, str]:
    """What the web app and the worker share (the worker reads them from its environment)."""
    return {
        "AURA_LLM_BASE_URL": fake_llm.url,
        "AURA_LLM_MODEL": "memory-model",
        "AURA_LLM_RETRY_BACKOFF": "0.01",
        "AURA_CONVERSATION_RECORDING": "1",
        "AURA_CONSOLIDATE_AFTER_SECONDS": "1",
        "AURA_CONSOLIDATE_EVERY_TURNS": "20",
        "AURA_JOB_REDELIVERY_SECONDS": "70",  # a 10 s lease
        "AURA_JOB_RETRY_DELAY": "0.5",
        "AURA_QUEUE_URL": queue_url,
    }


def _typed(settings: dict[str, str]) -> dict:
    """The same settings as config values for an app built in-process."""
    converted = {}
    for name, value in settings.items():
        if name == "AURA_CONVERSATION_RECORDING":
            converted[name] = value == "1"
        elif value.replace(".", "", 1).isdigit():
            converted[name] = float(value) if "." in value else int(value)
        else:
            converted[name] = value
    return converted


@pytest.fixture()
def web(make_app, job_settings, db):
    """The web app recording turns, as a service-token client."""
    return service_client(make_app(**_typed(job_settings)))


def wait_for(condition: Callable[[], object], seconds: float = 20.0, what: str = "condition") -> object:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out after {seconds} s waiting for {what}")
