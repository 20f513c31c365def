"""Background consolidation end to end: turns recorded by the web app, jobs run by `flask worker`."""

from __future__ import annotations

import json
import threading
import time

from aura.jobs.state import Timing
from aura.memory import service
from aura.models import ConsolidationState
from tests.fake_llm import Answer
from tests.jobs.conftest import wait_for
from tests.worker_process import worker

CHAT = "/api/v1/orcha/chat"


def _chat(web, user_id: int, *messages: str) -> None:
    for message in messages:
        response = web.post(CHAT, json={"user_id": user_id, "message": message, "conversation_id": "conv"})
        assert response.status_code == 200, response.get_json()


def _memory(web, user_id: int):
    return web.get(f"/api/v1/memory/{user_id}").get_json()["memory"]


def _revisions(web, user_id: int) -> list[dict]:
    return web.get(f"/api/v1/memory/{user_id}/revisions").get_json()["revisions"]


def _consolidation_requests(fake_llm) -> list:
    """The model requests that were consolidations (chat turns have AURA's chat system prompt)."""
    return [r for r in fake_llm.received if "long-term memory" in r.body["messages"][0]["content"]]


def _state(db, user_id: int) -> ConsolidationState | None:
    db.session.rollback()
    return db.session.get(ConsolidationState, user_id)


def test_a_quiet_conversation_is_consolidated_by_the_worker(web, fake_llm, database_url, job_settings, db):
    fake_llm.default = Answer(reply="Lives in Oslo.")
    _chat(web, 1, "I moved to Oslo", "It is cold here")
    with worker(database_url, job_settings["AURA_QUEUE_URL"], **job_settings) as running:
        memory = wait_for(lambda: _memory(web, 1), what="the consolidated memory")
    assert memory["content"] == "Lives in Oslo.", running.log()
    newest = _revisions(web, 1)[0]
    assert newest["source"] == "consolidation" and newest["actor"] == "aura-worker"
    assert newest["details"]["trigger"] == "background" and newest["details"]["conversation_id"] == "conv"
    assert newest["details"]["turns_used"] == 4  # two turns: each the user's message and the reply
    data = _consolidation_requests(fake_llm)[0].body["messages"][1]["content"]
    assert "I moved to Oslo" in data and "It is cold here" in data
    state = _state(db, 1)
    assert state.pending_turns == 0 and state.due_at is None and state.lease_until is None
    assert state.last_outcome == "changed"


def test_newer_turns_postpone_the_pending_job_instead_of_adding_one(
    web, fake_llm, database_url, job_settings, db
):
    fake_llm.default = Answer(reply="Counts one, two, three, four.")  # what the turns said
    settings = {**job_settings, "AURA_CONSOLIDATE_AFTER_SECONDS": "2"}
    with worker(database_url, settings["AURA_QUEUE_URL"], **settings):
        for message in ("one", "two", "three", "four"):
            _chat(web, 2, message)
            time.sleep(0.8)  # each turn well inside the quiet period of the one before
        assert _consolidation_requests(fake_llm) == []  # still talking: nothing consolidated yet
        wait_for(lambda: _memory(web, 2), what="the consolidated memory")
        time.sleep(1.5)  # room for a second consolidation, were there one
    requests = _consolidation_requests(fake_llm)
    assert len(requests) == 1
    data = requests[0].body["messages"][1]["content"]
    assert all(f'"content": "{m}"' in data for m in ("one", "two", "three", "four"))
    assert len(_revisions(web, 2)) == 1


def test_every_n_turns_consolidates_without_waiting_for_quiet(
    make_app, fake_llm, database_url, job_settings, db
):
    from tests.conftest import service_client
    from tests.jobs.conftest import _typed

    settings = {**job_settings, "AURA_CONSOLIDATE_AFTER_SECONDS": "600", "AURA_CONSOLIDATE_EVERY_TURNS": "3"}
    web = service_client(make_app(**_typed(settings)))
    fake_llm.default = Answer(reply="Knows alpha, beta and gamma.")  # what the turns said
    with worker(database_url, settings["AURA_QUEUE_URL"], **settings):
        _chat(web, 3, "alpha", "beta")
        time.sleep(1.5)
        assert _memory(web, 3) is None  # two turns, ten minutes of quiet to go
        _chat(web, 3, "gamma")
        wait_for(lambda: _memory(web, 3), seconds=10, what="the third turn's consolidation")


def test_a_job_for_a_user_whose_memory_was_switched_off_does_nothing(
    web, fake_llm, database_url, job_settings, db
):
    _chat(web, 4, "remember this")
    web.put("/api/v1/memory/4/settings", json={"enabled": False})
    with worker(database_url, job_settings["AURA_QUEUE_URL"], **job_settings):
        wait_for(lambda: (s := _state(db, 4)) and s.last_outcome == "memory_off", what="the job")
    assert _consolidation_requests(fake_llm) == [] and _memory(web, 4) is None
    assert _state(db, 4).due_at is None


def test_a_job_queued_for_an_erased_user_does_nothing(web, fake_llm, database_url, job_settings, db):
    _chat(web, 5, "my secret plans")
    assert web.delete("/api/v1/memory/5").get_json()["deleted"] is True
    with worker(database_url, job_settings["AURA_QUEUE_URL"], **job_settings) as running:
        wait_for(lambda: "consolidation job: gone" in running.log(), what="the job to run")
    assert _consolidation_requests(fake_llm) == []
    assert _memory(web, 5) is None and _revisions(web, 5) == []
    assert web.get("/api/v1/memory/5/conversations").get_json()["turns"] == []


def test_an_erasure_while_the_job_runs_leaves_nothing_behind(web, fake_llm, database_url, job_settings, db):
    thinking, release = threading.Event(), threading.Event()

    def slow_consolidation(body: dict) -> Answer:
        if "long-term memory" in body["messages"][0]["content"]:
            thinking.set()
            release.wait(10)
            return Answer(reply="Plans a surprise party.")
        return Answer(reply="Sounds fun!")

    fake_llm.responder = slow_consolidation
    _chat(web, 6, "I am planning a surprise party")
    with worker(database_url, job_settings["AURA_QUEUE_URL"], **job_settings) as running:
        assert thinking.wait(20), running.log()
        assert web.delete("/api/v1/memory/6").get_json()["deleted"] is True
        release.set()
        wait_for(lambda: "consolidation job: lease_lost" in running.log(), what="the job to end")
    assert _memory(web, 6) is None and _revisions(web, 6) == []
    assert web.get("/api/v1/memory/6/conversations").get_json()["turns"] == []
    assert _state(db, 6) is None


def test_a_worker_killed_mid_job_has_its_job_run_again_once(web, fake_llm, database_url, job_settings, db):
    """SIGKILL while the model thinks: the lease runs out, the next worker's sweep queues the job
    again, and exactly one consolidation revision results."""
    first_call = threading.Event()

    def hang_first_time(body: dict) -> Answer:
        if "long-term memory" not in body["messages"][0]["content"]:
            return Answer(reply="Noted!")
        if not first_call.is_set():
            first_call.set()
            return Answer(reply="never delivered", delay=30)
        return Answer(reply="Has a dog named Rex.")

    fake_llm.responder = hang_first_time
    _chat(web, 7, "My dog is called Rex")
    with worker(database_url, job_settings["AURA_QUEUE_URL"], **job_settings) as doomed:
        assert wait_for(first_call.is_set, what="the first attempt"), doomed.log()
        doomed.kill()
    lease = Timing.from_config({**web.application.config}).lease_seconds
    state = _state(db, 7)
    assert state.lease_until is not None  # the dead worker's lease, still there
    time.sleep(max(0.0, (state.lease_until - service.utcnow()).total_seconds()) + 0.5)
    started = time.monotonic()
    with worker(database_url, job_settings["AURA_QUEUE_URL"], **job_settings) as rescuer:
        memory = wait_for(lambda: _memory(web, 7), seconds=30, what="the job to run again")
        assert memory["content"] == "Has a dog named Rex.", rescuer.log()
    assert time.monotonic() - started < 60 - lease  # the sweep at the worker's start found it
    assert [r["source"] for r in _revisions(web, 7)] == ["consolidation"]


def test_the_model_down_is_retried_with_backoff_until_it_answers(
    web, fake_llm, database_url, job_settings, db
):
    attempts: list[float] = []

    def down_twice(body: dict) -> Answer:
        if "long-term memory" not in body["messages"][0]["content"]:
            return Answer(reply="Noted!")
        attempts.append(time.monotonic())
        return Answer(status=503) if len(attempts) <= 2 else Answer(reply="Runs marathons.")

    fake_llm.responder = down_twice
    settings = {**job_settings, "AURA_LLM_MAX_RETRIES": "0"}
    _chat(web, 8, "I run marathons")
    with worker(database_url, settings["AURA_QUEUE_URL"], **settings) as running:
        memory = wait_for(lambda: _memory(web, 8), seconds=30, what="a successful retry")
    assert memory["content"] == "Runs marathons.", running.log()
    assert len(attempts) == 3
    gaps = [b - a for a, b in zip(attempts, attempts[1:], strict=False)]
    assert gaps[0] >= 0.4 and gaps[1] >= 0.9  # 0.5 s, then 1 s: backoff
    assert json.dumps(_revisions(web, 8)).count('"consolidation"') == 1


def test_two_workers_never_consolidate_one_user_at_once(web, fake_llm, database_url, job_settings, db, app):
    running: dict[str, int] = {}
    overlaps: list[str] = []
    lock = threading.Lock()

    def watch(body: dict) -> Answer:
        if "long-term memory" not in body["messages"][0]["content"]:
            return Answer(reply="ok")
        marker = next(w for w in body["messages"][1]["content"].split() if w.startswith("user-"))
        with lock:
            running[marker] = running.get(marker, 0) + 1
            if running[marker] > 1:
                overlaps.append(marker)
        time.sleep(0.3)
        with lock:
            running[marker] -= 1
        return Answer(reply="Known as " + marker.strip('"'))

    fake_llm.responder = watch
    users = range(20, 30)
    for user_id in users:
        _chat(web, user_id, f"I am user-{user_id} ok")
    # Every user's job queued three more times, as duplicates from retries and sweeps might be.
    from aura.jobs.queue import TASKS_KEY

    tasks = web.application.extensions[TASKS_KEY]
    for _ in range(3):
        for user_id in users:
            tasks.consolidate_user.schedule(args=(user_id,), delay=1)
    with (
        worker(database_url, job_settings["AURA_QUEUE_URL"], **job_settings),
        worker(database_url, job_settings["AURA_QUEUE_URL"], **job_settings),
    ):
        wait_for(lambda: all(_memory(web, u) for u in users), seconds=40, what="every user's memory")
        time.sleep(2)  # the duplicates run out
    assert overlaps == []
    assert all(len(_revisions(web, u)) == 1 for u in users)


def test_a_queue_store_that_restarts_empty_delays_consolidations_but_loses_none(
    make_app, fake_llm, database_url, job_settings, db, tmp_path
):
    """A Redis without persistence restarting loses every queued job; the database still says
    who is due, and the sweep queues them again once the lost job is overdue by a lease."""
    import shutil
    import subprocess

    import pytest

    from tests.conftest import service_client
    from tests.jobs.conftest import _typed
    from tests.processes import free_port, stop_process, wait_for_port

    server = shutil.which("redis-server")
    if server is None:
        pytest.skip("redis-server is not installed")
    port = free_port()
    command = [server, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    command += ["--dir", str(tmp_path)]

    def start_redis() -> subprocess.Popen:
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        wait_for_port(port, process, lambda: "redis-server did not start")
        return process

    queue = f"redis://127.0.0.1:{port}/0"
    settings = {**job_settings, "AURA_QUEUE_URL": queue, "AURA_CONSOLIDATE_AFTER_SECONDS": "0"}
    redis_process = start_redis()
    try:
        web = service_client(make_app(**_typed(settings)))
        fake_llm.default = Answer(reply="Grows tomatoes.")
        _chat(web, 40, "I grow tomatoes")  # queued in the Redis that is about to lose it
        stop_process(redis_process, grace=5)
        redis_process = start_redis()  # back, and empty
        state = _state(db, 40)
        lease = Timing.from_config(web.application.config).lease_seconds
        time.sleep(max(0.0, (state.job_at - service.utcnow()).total_seconds()) + lease + 0.5)
        with worker(database_url, queue, **settings) as running:
            memory = wait_for(lambda: _memory(web, 40), seconds=30, what="the swept job")
            assert memory["content"] == "Grows tomatoes.", running.log()
            assert "sweep queued 1 overdue consolidation" in running.log()
            # Redis restarts under a running worker: it reconnects and takes the next jobs.
            stop_process(redis_process, grace=5)
            redis_process = start_redis()
            _chat(web, 41, "I grow peppers")
            wait_for(lambda: _memory(web, 41), seconds=30, what="a job after the restart")
    finally:
        stop_process(redis_process, grace=5)


def _sample(text: str, name: str, **labels: str) -> float:
    """A sample's value from Prometheus text (0 if absent), whatever the order of its labels."""
    from prometheus_client.parser import text_string_to_metric_families

    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                return sample.value
    return 0.0


def test_metrics_show_queued_due_running_finished_and_failed_jobs(
    make_app, fake_llm, database_url, job_settings, db
):
    import httpx

    from tests.conftest import service_client
    from tests.jobs.conftest import _typed
    from tests.processes import free_port

    settings = {**job_settings, "AURA_CONSOLIDATE_AFTER_SECONDS": "0", "AURA_LLM_MAX_RETRIES": "0"}
    web = service_client(make_app(**_typed(settings)))
    _chat(web, 50, "I like kites")
    fake_llm.default = Answer(status=400)  # the first consolidation fails...
    scraped = web.get("/metrics").get_data(as_text=True)
    assert _sample(scraped, "aura_consolidations_due") == 1
    assert (
        _sample(scraped, "aura_jobs_queued", state="ready")
        + _sample(scraped, "aura_jobs_queued", state="delayed")
        == 1
    )
    port = free_port()
    job = {"task": "consolidate_user"}
    with worker(database_url, settings["AURA_QUEUE_URL"], AURA_WORKER_METRICS_PORT=str(port), **settings):

        def text() -> str:
            return httpx.get(f"http://127.0.0.1:{port}/metrics").text

        wait_for(lambda: _sample(text(), "aura_job_events_total", event="retrying", **job), what="a retry")
        fake_llm.default = Answer(reply="Flies kites.")  # ...a retry succeeds
        wait_for(lambda: _memory(web, 50), what="the memory")
        wait_for(
            lambda: _sample(text(), "aura_jobs_total", outcome="changed", **job), what="the success counted"
        )
        final = text()
    failures = _sample(final, "aura_job_events_total", event="error", **job)
    assert failures >= 1 and _sample(final, "aura_job_events_total", event="retrying", **job) == failures
    assert _sample(final, "aura_job_events_total", event="complete", **job) == 1
    assert _sample(final, "aura_jobs_total", outcome="model_error", **job) == failures
    assert _sample(final, "aura_job_seconds_count", **job) == failures + 1
    assert _sample(final, "aura_job_start_delay_seconds_count", **job) >= 1
    assert _sample(final, "aura_jobs_running", **job) == 0
    assert _sample(web.get("/metrics").get_data(as_text=True), "aura_consolidations_due") == 0


def test_the_web_apps_readiness_does_not_depend_on_the_worker_or_its_queue(make_app, db):
    from tests.conftest import service_client
    from tests.processes import free_port

    app = make_app(AURA_QUEUE_URL=f"redis://127.0.0.1:{free_port()}/0", AURA_CONVERSATION_RECORDING=True)
    client = service_client(app)
    assert client.get("/readyz").status_code == 200
    metrics = client.get("/metrics")
    assert metrics.status_code == 200 and "aura_jobs_queued" not in metrics.get_data(as_text=True)


def test_in_review_mode_the_job_leaves_a_proposal_and_the_memory_alone(
    make_app, fake_llm, database_url, job_settings, db
):
    from tests.conftest import service_client
    from tests.jobs.conftest import _typed

    settings = {**job_settings, "AURA_CONSOLIDATION_MODE": "review"}
    web = service_client(make_app(**_typed(settings)))
    web.post("/api/v1/memory", json={"user_id": 70, "content": "Likes tea."})
    fake_llm.default = Answer(reply="Likes tea.\nHas a cat.")
    _chat(web, 70, "I got a cat")
    with worker(database_url, settings["AURA_QUEUE_URL"], **settings):
        proposal = wait_for(
            lambda: web.get("/api/v1/memory/70/proposal").get_json()["proposal"], what="the proposal"
        )
        wait_for(lambda: (s := _state(db, 70)) and s.last_outcome == "proposed", what="the job's outcome")
    assert proposal["content"] == "Likes tea.\nHas a cat." and proposal["details"]["trigger"] == "background"
    assert _memory(web, 70)["content"] == "Likes tea."
    state = _state(db, 70)
    assert state.pending_turns == 0 and state.due_at is None and state.watermark_turn_id > 0
