"""The consolidation scenarios, run through the endpoint against a scripted loopback model.

The scripted model answers each case as a good model would, as JSON edits
(tests/consolidation/scripted_edits.py) and as a whole memory (``Case.scripted``); for the
credential cases it echoes the secret back. What is proven here is everything around the
model: what it is sent, what gets stored, what never does. `flask memory eval-consolidation`
runs the same cases against a real model.
"""

from __future__ import annotations

import json

import pytest

from aura.consolidation.cases import CASES, Case, check
from aura.consolidation.prompt import NOTHING_TO_REMEMBER
from tests.consolidation.conftest import consolidate_url
from tests.consolidation.scripted_edits import edits_reply
from tests.fake_llm import Answer

CREDENTIAL_CASES = {"api_key_removed", "card_number_removed", "password_removed", "private_key_removed",
                    "cloud_key_removed", "bearer_token_removed"}  # fmt: skip


def test_there_are_at_least_twenty_distinct_cases():
    assert len(CASES) >= 20 and len({case.name for case in CASES}) == len(CASES)


def _as_json(messages: list[dict]) -> list[dict]:
    return [
        {**turn, "created_at": turn["created_at"].isoformat()} if "created_at" in turn else turn
        for turn in messages
    ]


# A good model's change that a word-level check cannot tell from a lost fact ("Favourite food:
# steak." -> "Vegetarian since October." shares no word with it): held for review, not applied,
# in both formats (a citation shows the user said something, not that it replaces the line).
HELD = {"preference_updated"}


@pytest.mark.parametrize("answer", ["edits", "text"])
@pytest.mark.parametrize("case", CASES, ids=lambda case: case.name)
def test_scenario(api, fake_llm, case: Case, answer: str):
    """Each case answered by a good model as JSON edits, and as a whole memory (a server that
    ignores response_format): the same memory is stored either way."""
    user_id = 1000 + CASES.index(case)
    if case.memory:
        api.post("/api/v1/memory", json={"user_id": user_id, "content": case.memory})
    fake_llm.script(Answer(reply=edits_reply(case.name) if answer == "edits" else case.scripted))

    response = api.post(consolidate_url(user_id), json={"messages": _as_json(case.messages)})

    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    stored = api.get(f"/api/v1/memory/{user_id}").get_json()["memory"]
    held = case.name in HELD
    if held:
        assert body["held_for_review"] == "dropped_facts" and stored["content"] == case.memory
        stored = {"content": body["proposal"]["content"]}
    verdict = check(case, stored["content"] if stored else None)
    assert verdict.passed, verdict
    data = fake_llm.last_messages[1]["content"].replace("\\u003c", "<")
    for number, line in enumerate((case.memory or "").splitlines(), start=1):
        assert json.dumps({"line": number, "text": line}) in data
    keeps_memory = held or case.scripted.strip() in (NOTHING_TO_REMEMBER, (case.memory or "").strip())
    assert body["changed"] is not keeps_memory
    revisions = api.get(f"/api/v1/memory/{user_id}/revisions").get_json()["revisions"]
    assert len(revisions) == (1 if case.memory else 0) + (0 if keeps_memory else 1)
    if case.name in CREDENTIAL_CASES:  # never stored, and never even sent to the model
        for secret in case.absent:
            assert secret.casefold() not in json.dumps(revisions).casefold()
            assert secret.casefold() not in data.casefold()
    if case.name == "long_transcript_newest_kept":
        assert body["transcript_cut"] is True and body["turns_used"] < len(case.messages)
