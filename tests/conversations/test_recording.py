"""Which chat turns are recorded: completed ones, of users who keep a memory, credentials removed."""

from __future__ import annotations

import threading

from tests.conversations.conftest import turns_of
from tests.fake_llm import Answer

CHAT = "/api/v1/orcha/chat"


def test_a_completed_turn_is_recorded_with_its_conversation(recording, fake_llm):
    fake_llm.script(Answer(reply="Try the coast path."))
    response = recording.post(
        CHAT, json={"user_id": 5, "message": "Where to hike?", "conversation_id": "c-1"}
    )
    assert response.status_code == 200
    turns = turns_of(recording, 5)["turns"]
    assert len(turns) == 1
    assert turns[0]["conversation_id"] == "c-1"
    assert turns[0]["message"] == "Where to hike?" and turns[0]["reply"] == "Try the coast path."
    assert turns[0]["created_at"].endswith("+00:00")


def test_a_stream_read_to_the_end_is_recorded_once_with_the_whole_reply(recording, fake_llm):
    fake_llm.script(Answer(tokens=["Cats", " are", " great"]))
    response = recording.post(CHAT, json={"user_id": 6, "message": "Cats?", "stream": True})
    assert "event: done" in response.get_data(as_text=True)
    turns = turns_of(recording, 6)["turns"]
    assert [(t["message"], t["reply"], t["conversation_id"]) for t in turns] == [
        ("Cats?", "Cats are great", None)
    ]


def test_a_stream_the_client_abandons_is_not_recorded(recording, fake_llm):
    release = threading.Event()
    fake_llm.script(Answer(tokens=["first", " rest"], hold_after_first_token=release))
    response = recording.post(CHAT, json={"user_id": 7, "message": "Hi", "stream": True}, buffered=False)
    chunks = iter(response.response)
    assert "first" in next(chunks).decode()
    response.close()  # the client hangs up mid-reply
    release.set()
    assert turns_of(recording, 7)["turns"] == []


def test_temporary_chats_dry_runs_and_failed_calls_are_not_recorded(recording, fake_llm):
    recording.post(CHAT, json={"user_id": 8, "message": "secret plans", "use_memory": False})
    recording.post(CHAT, json={"user_id": 8, "message": "preview only", "dry_run": True})
    fake_llm.script(Answer(status=400))
    assert recording.post(CHAT, json={"user_id": 8, "message": "fails"}).status_code == 502
    assert turns_of(recording, 8)["turns"] == []


def test_nothing_is_recorded_while_the_users_memory_is_off_and_nothing_is_deleted(recording, fake_llm):
    recording.post(CHAT, json={"user_id": 9, "message": "first"})
    recording.put("/api/v1/memory/9/settings", json={"enabled": False})
    recording.post(CHAT, json={"user_id": 9, "message": "while off"})
    recording.put("/api/v1/memory/9/settings", json={"enabled": True})
    recording.post(CHAT, json={"user_id": 9, "message": "back on"})
    assert [t["message"] for t in turns_of(recording, 9)["turns"]] == ["back on", "first"]


def test_credentials_are_removed_before_a_turn_is_stored(recording, fake_llm):
    fake_llm.script(Answer(reply="Saved your key sk-proj-AbCdEf0123456789XyZ."))
    recording.post(CHAT, json={"user_id": 10, "message": "my key is sk-proj-AbCdEf0123456789XyZ"})
    turn = turns_of(recording, 10)["turns"][0]
    assert turn["message"] == "my key is [removed]" and turn["reply"] == "Saved your key [removed]."


def test_deployments_that_do_not_record_keep_nothing(chat_client, fake_llm):
    chat_client.post(CHAT, json={"user_id": 11, "message": "hello"})
    assert turns_of(chat_client, 11)["turns"] == []


def test_a_conversation_id_over_200_characters_is_422(recording, fake_llm):
    response = recording.post(CHAT, json={"user_id": 12, "message": "hi", "conversation_id": "c" * 201})
    assert response.status_code == 422 and "conversation_id" in response.get_json()["errors"]
    assert fake_llm.received == []


def test_recording_is_opt_in_except_in_the_development_quick_start(app):
    from aura.config import DevelopmentConfig, ProductionConfig

    assert DevelopmentConfig.AURA_CONVERSATION_RECORDING is True
    assert ProductionConfig.AURA_CONVERSATION_RECORDING is False
    assert app.config["AURA_CONVERSATION_RECORDING"] is False


def test_text_a_database_cannot_keep_is_made_storable_so_no_turn_is_lost_behind_a_200(recording, fake_llm):
    """A NUL from a /v1 client or the model, or a model's lone surrogate, once got a 200 while
    PostgreSQL refused the turn (and logged an ERROR per request)."""
    fake_llm.script(Answer(reply="ok\x00 then \ud800 broken"))
    body = {"model": "fake-model", "user": "13", "messages": [{"role": "user", "content": "a\x00b"}]}
    assert recording.post("/v1/chat/completions", json=body).status_code == 200
    turn = turns_of(recording, 13)["turns"][0]
    assert turn["message"] == "ab" and turn["reply"] == "ok then \ufffd broken"


def test_a_turn_the_database_still_refuses_is_counted_and_logged_without_its_text(
    recording, fake_llm, caplog, monkeypatch
):
    from sqlalchemy.exc import OperationalError

    from aura.chat import service
    from aura.chat.metrics import TURNS_NOT_RECORDED

    def refused(*_args):  # as PostgreSQL refusing the INSERT would
        raise OperationalError("INSERT INTO conversation_turns ...", {}, Exception("value too long"))

    monkeypatch.setattr(service, "record_turn", refused)
    before = TURNS_NOT_RECORDED._value.get()
    response = recording.post(CHAT, json={"user_id": 14, "message": "secret plans for Friday"})
    assert response.status_code == 200  # the user still gets the reply
    assert TURNS_NOT_RECORDED._value.get() == before + 1
    assert "chat turn not recorded" in caplog.text and "secret plans" not in caplog.text
