"""Nothing planted in the queue runs: jobs are signed with a key that never lives in the queue.

Huey serializes jobs with pickle. Before jobs were signed, one LPUSH of a crafted pickle into
the Redis AURA uses made the worker run a shell command (issue #34).
"""

from __future__ import annotations

import pickle
import time

import pytest

from aura.jobs.queue import REJECTED_MESSAGES, SignedJobs, UnsignedJob, build_queue, enqueue_consolidation
from tests.worker_process import worker


class Planted:
    """A pickle that, once loaded, creates a file: what an attacker's would do, harmlessly."""

    def __init__(self, path: str) -> None:
        self.path = path

    def __reduce__(self):
        return (open, (self.path, "w"))


def test_a_message_without_aura_s_signature_is_dropped_unread_and_counted():
    serializer = SignedJobs(secret="the key", salt="aura-jobs")
    job = serializer.serialize({"a": 1})
    assert serializer.deserialize(job) == {"a": 1}
    before = REJECTED_MESSAGES._value.get()
    for bad in (
        pickle.dumps({"a": 1}),
        SignedJobs(secret="another key", salt="aura-jobs").serialize({"a": 1}),
        job[:-1],
    ):
        with pytest.raises(UnsignedJob) as raised:
            serializer.deserialize(bad)
        assert str(raised.value) == "A queue message without AURA's signature was dropped unread."
    assert REJECTED_MESSAGES._value.get() == before + 3


def test_the_worker_drops_a_planted_pickle_without_running_it_and_keeps_working(
    web, db, database_url, job_settings, tmp_path
):
    planted = tmp_path / "planted-ran"
    unsigned = build_queue(job_settings["AURA_QUEUE_URL"], key="not AURA's key")
    unsigned.storage.enqueue(pickle.dumps(Planted(str(planted))))  # as a raw LPUSH would
    with worker(database_url, job_settings["AURA_QUEUE_URL"], **job_settings) as running:
        deadline = time.monotonic() + 20
        while "dropped a queue message" not in running.log() and time.monotonic() < deadline:
            time.sleep(0.1)
        with web.application.app_context():
            assert enqueue_consolidation(1, 0)  # a job AURA signed still runs afterwards
        while "consolidate_user" not in running.log().split("dropped a queue message")[-1]:
            assert time.monotonic() < deadline + 10, running.log()
            time.sleep(0.1)
        assert running.process.poll() is None  # still running
        log = running.log()
    assert not planted.exists()
    assert "dropped a queue message not signed with AURA's queue key" in log
    assert "planted-ran" not in log  # logged without its bytes
