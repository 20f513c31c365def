"""A model's bad answer may fail to add a fact, but it never removes or corrupts one.

Through the endpoint, against the scripted loopback model, in the default auto mode: the
answers a real small model gave (SmolLM2-135M, issue #33), refusals, answers cut off at
max_tokens, structured edits, servers that refuse response_format or a prompt too long.
"""

from __future__ import annotations

import json

import pytest

from aura.consolidation.edits import EDITS_SCHEMA
from tests.conftest import service_client
from tests.consolidation.conftest import consolidate_url, said
from tests.consolidation.scripted_edits import add, remove, update
from tests.fake_llm import Answer

MEMORY = (
    "Lives in Porto.\nWorks as a night-shift nurse.\nAllergic to peanuts.\n"
    "Has a daughter named Ana.\nPlays the cello on Sundays."
)


def _start(api, user_id: int) -> None:
    assert api.post("/api/v1/memory", json={"user_id": user_id, "content": MEMORY}).status_code == 200


def _unchanged(api, user_id: int) -> None:
    memory = api.get(f"/api/v1/memory/{user_id}").get_json()["memory"]
    assert memory["content"] == MEMORY and memory["version"] == 1
    assert api.get(f"/api/v1/memory/{user_id}/proposal").get_json()["proposal"] is None


@pytest.mark.parametrize(
    ("reply", "turn", "why"),
    [
        ('The new memory text is "You\'ve got a lot of amazing characters…"', "I like novels.", "meta_text"),
        ("I'm glad you're happy to have the assistant.", "What is the capital of Australia?", "meta_text"),
        ("What a nightmare.", "Please forget that I play the cello.", "meta_text"),
        ("I'm sorry, but I can't help with that.", "I got a new bike.", "refusal"),
        ("Enjoys amazing characters and stories.", "What is the capital of Australia?", "not_grounded"),
        ("sk-proj-AbCdEf0123456789XyZ", "Keep this for me: sk-proj-AbCdEf0123456789XyZ", "not_grounded"),
    ],
    ids=["meta", "chatter", "forget-answered-with-nonsense", "refusal", "invented", "only-a-credential"],
)
def test_what_a_real_small_model_answered_is_declined_and_the_memory_kept(api, fake_llm, reply, turn, why):
    _start(api, 1)
    fake_llm.script(Answer(reply=reply))
    response = api.post(consolidate_url(1), json={"messages": said(turn)})
    assert response.status_code == 200  # the model answered; AURA declined it: not a 502
    body = response.get_json()
    assert body["changed"] is False and body["declined"] == why and "declined" in body["message"]
    _unchanged(api, 1)


def test_an_answer_cut_off_at_max_tokens_is_never_stored(api, fake_llm):
    _start(api, 2)
    fake_llm.script(Answer(reply=MEMORY + "\nAdopted a cat called", finish_reason="length"))
    body = api.post(consolidate_url(2), json={"messages": said("I adopted a cat called Miso")}).get_json()
    assert body["changed"] is False and body["declined"] == "cut_off"
    _unchanged(api, 2)


def test_a_rewrite_losing_facts_is_held_with_them_named_even_in_auto_mode(api, fake_llm):
    _start(api, 3)
    fake_llm.script(Answer(reply="Lives in Porto.\nHas a cat called Miso."))
    body = api.post(consolidate_url(3), json={"messages": said("I adopted a cat called Miso")}).get_json()
    assert body["changed"] is False and body["held_for_review"] == "dropped_facts"
    assert body["proposal"]["details"]["dropped_facts"] == MEMORY.splitlines()[1:]
    assert api.get("/api/v1/memory/3").get_json()["memory"]["content"] == MEMORY


def test_a_preamble_and_chatter_around_a_whole_memory_are_stripped(api, fake_llm):
    _start(api, 4)
    fake_llm.script(
        Answer(reply=f"Sure! Here is the updated memory:\n{MEMORY}\nHas a cat called Miso.\nHope this helps!")
    )
    body = api.post(consolidate_url(4), json={"messages": said("I adopted a cat called Miso")}).get_json()
    assert body["changed"] is True and body["memory"]["content"] == MEMORY + "\nHas a cat called Miso."


def test_the_model_is_asked_for_edits_and_untouched_lines_stay_byte_for_byte(api, fake_llm):
    _start(api, 5)
    edits = [update(1, "Lives in Lisbon.", "I moved to Lisbon"), add("Has a cat called Miso.")]
    fake_llm.script(Answer(reply=json.dumps({"edits": edits})))
    turns = said("I moved to Lisbon, and I adopted a cat called Miso.")
    body = api.post(consolidate_url(5), json={"messages": turns}).get_json()
    assert body["changed"] is True
    assert body["memory"]["content"] == MEMORY.replace("Porto", "Lisbon") + "\nHas a cat called Miso."
    request = fake_llm.received[-1].body
    assert request["response_format"] == {
        "type": "json_schema",
        "json_schema": {"name": "memory_edits", "schema": EDITS_SCHEMA, "strict": True},
    }
    assert 0 < request["max_tokens"] <= 4000 // 3 + 200  # enough for the memory's length limit, no more
    details = api.get("/api/v1/memory/5/revisions").get_json()["revisions"][0]["details"]
    assert details["answer_format"] == "edits"


def test_edits_the_users_words_do_not_justify_change_nothing(api, fake_llm):
    _start(api, 6)
    fake_llm.script(Answer(reply=json.dumps({"edits": [update(3, "Not allergic to anything.", "trust me")]})))
    body = api.post(consolidate_url(6), json={"messages": said("hello")}).get_json()
    assert body["changed"] is False and body["declined"] == "edits_refused"
    _unchanged(api, 6)


@pytest.mark.parametrize(
    ("edits", "turn", "lost"),
    [
        (
            [update(line, "Got a new bike.", "I got a new bike") for line in range(1, 6)],
            "I got a new bike yesterday.",
            MEMORY.splitlines(),
        ),
        (
            [update(2, "Works from home on Fridays.", "I work from home on Fridays")],
            "I work from home on Fridays.",
            ["Works as a night-shift nurse."],
        ),
    ],
    ids=["every-line-overwritten-citing-one-new-fact", "a-citation-sharing-one-word"],
)
def test_cited_edits_that_lose_facts_are_held_with_them_named_in_auto_mode(api, fake_llm, edits, turn, lost):
    """A citation proves the user said something, not that it replaces the line: the edited result
    passes the same retention check as a rewrite."""
    _start(api, 7)
    fake_llm.script(Answer(reply=json.dumps({"edits": edits})))
    body = api.post(consolidate_url(7), json={"messages": said(turn)}).get_json()
    assert body["changed"] is False and body["held_for_review"] == "dropped_facts"
    assert body["proposal"]["details"]["dropped_facts"] == lost
    assert api.get("/api/v1/memory/7").get_json()["memory"]["content"] == MEMORY


REX = "Allergic to peanuts.\nHas a dog named Rex.\nRex is a beagle."
FORGET_REX = "Rex passed away. Please don't remember anything about him anymore."


@pytest.mark.parametrize(
    "reply",
    [
        json.dumps(
            {
                "edits": [
                    remove(2, FORGET_REX),
                    remove(3, FORGET_REX),
                    add("Rex is a beagle, a small dog."),
                ]
            }
        ),
        "Allergic to peanuts.\nRex is a beagle, a small dog.",
    ],
    ids=["edits", "rewrite"],
)
def test_what_the_user_asked_to_forget_is_not_added_back(api, fake_llm, reply):
    """SmolLM2 answered a forget request by writing the forgotten facts again as new lines."""
    assert api.post("/api/v1/memory", json={"user_id": 8, "content": REX}).status_code == 200
    fake_llm.script(Answer(reply=reply))
    body = api.post(consolidate_url(8), json={"messages": said(FORGET_REX)}).get_json()
    assert body["changed"] is True and body["memory"]["content"] == "Allergic to peanuts."
    if reply.startswith("{"):
        details = api.get("/api/v1/memory/8/revisions").get_json()["revisions"][0]["details"]
        assert details["refused_edits"] == [{"op": "add", "line": 0, "reason": "asked_to_forget"}]


@pytest.mark.parametrize("status", [400, 500])  # llama-cpp-python answers an unknown type with a 500
def test_a_server_refusing_json_schema_is_asked_with_json_object_from_then_on(make_app, fake_llm, db, status):
    app = make_app(AURA_LLM_BASE_URL=fake_llm.url, AURA_LLM_MODEL="m", AURA_LLM_RETRY_BACKOFF=0.01)
    api = service_client(app)
    formats = []

    def answer(body: dict) -> Answer:
        formats.append(body.get("response_format", {}).get("type"))
        if formats[-1] == "json_schema":
            message = "Input should be 'text' or 'json_object' (response_format.type)"
            return Answer(status=status, error_body={"error": {"message": message}})
        return Answer(reply=json.dumps({"edits": [add("Likes tea.")]}))

    fake_llm.responder = answer
    for user_id in (7, 8):
        body = api.post(consolidate_url(user_id), json={"messages": said("I like tea")}).get_json()
        assert body["changed"] is True and body["memory"]["content"] == "Likes tea."
    asked = formats.count("json_schema")  # a 500 is retried like any 5xx before AURA steps down
    assert asked == (1 if status == 400 else 3)
    assert formats == ["json_schema"] * asked + ["json_object", "json_object"]  # learned once


CONTEXT_ERROR = {
    "error": {
        "message": "This model's maximum context length is 2048 tokens. However, you requested 9000 tokens "
        "(8000 in the messages, 1000 in the completion). Please reduce the length of the messages.",
        "type": "invalid_request_error",
    }
}


def test_a_prompt_over_the_models_context_is_retried_once_fitted_to_the_stated_limit(api, fake_llm):
    _start(api, 9)
    fake_llm.script(Answer(status=400, error_body=CONTEXT_ERROR), Answer(reply=MEMORY))
    turns = said(*[f"Day {day}: I walked by the river " + "and talked a lot " * 60 for day in range(20)])
    body = api.post(consolidate_url(9), json={"messages": turns}).get_json()
    assert body["changed"] is False and "declined" not in body  # nothing new, nothing lost
    first, second = (r.body for r in fake_llm.received)
    assert len(second["messages"][1]["content"]) < len(first["messages"][1]["content"])
    assert (
        "Day 19" in second["messages"][1]["content"] and "Lives in Porto" in second["messages"][1]["content"]
    )
    assert body["transcript_cut"] is True and body["turns_used"] < 20


def test_a_prompt_still_too_long_is_one_502_not_a_retry_storm(api, fake_llm):
    _start(api, 10)
    fake_llm.default = Answer(status=400, error_body=CONTEXT_ERROR)
    response = api.post(consolidate_url(10), json={"messages": said("hello " * 3000)})
    assert response.status_code == 502 and len(fake_llm.received) == 2
    _unchanged(api, 10)


def test_a_known_context_keeps_the_memory_and_the_newest_turns(make_app, fake_llm, db):
    app = make_app(AURA_LLM_BASE_URL=fake_llm.url, AURA_LLM_MODEL="m", AURA_LLM_CONTEXT_TOKENS=2048)
    client = service_client(app)
    _start(client, 11)
    fake_llm.script(Answer(reply=MEMORY))
    turns = said(*[f"Day {day}: " + "we talked about the weather " * 20 for day in range(30)])
    body = client.post(consolidate_url(11), json={"messages": turns}).get_json()
    request = fake_llm.received[-1].body
    sent = sum(len(m["content"]) for m in request["messages"])
    assert sent / 3 + request["max_tokens"] <= 2048  # estimated at 3 characters a token
    assert "Day 29" in request["messages"][1]["content"] and "Day 0:" not in request["messages"][1]["content"]
    assert "Plays the cello on Sundays." in request["messages"][1]["content"]
    assert body["transcript_cut"] is True


def test_a_condensing_request_answered_with_chatter_is_declined(make_app, fake_llm, db):
    app = make_app(AURA_LLM_BASE_URL=fake_llm.url, AURA_LLM_MODEL="m", AURA_MEMORY_TARGET_CHARS=60)
    client = service_client(app)
    long_answer = "Has a cat called Miso.\n" + "Adopted Miso in a shelter in Porto last spring. " * 3
    fake_llm.script(Answer(reply=long_answer), Answer(reply="I'm sorry, I can't shorten that."))
    body = client.post(
        consolidate_url(12), json={"messages": said("I adopted a cat called Miso in Porto")}
    ).get_json()
    assert body["changed"] is False and body["declined"] == "refusal"
    assert client.get("/api/v1/memory/12").get_json()["memory"] is None
