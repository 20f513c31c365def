"""The official `openai` Python SDK against a live AURA: an app changes only its base URL and key."""

from __future__ import annotations

import openai
import pytest

from tests.conftest import SERVICE_TOKEN, LiveServer, model_settings, service_client
from tests.fake_llm import Answer

MEMORY = "Enjoys hiking; prefers short answers."
WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather in a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    },
}
CALL = {
    "id": "call_1",
    "type": "function",
    "function": {"name": "get_weather", "arguments": '{"city":"Oslo"}'},
}


def memory_message(content: str = MEMORY) -> dict:
    return {"role": "system", "content": f"User Memory: {content}"}


def recorded_turns(openai_app, user_id: int) -> list[dict]:
    response = service_client(openai_app).get(f"/api/v1/memory/{user_id}/conversations")
    assert response.status_code == 200
    return response.get_json()["turns"]


def test_a_completion_carries_the_memory_after_the_callers_system_prompt(sdk, remember, fake_llm):
    remember(42, MEMORY)
    completion = sdk().chat.completions.create(
        model="fake-model",
        messages=[
            {"role": "system", "content": "You are terse."},
            {"role": "developer", "content": "Answer in English."},
            {"role": "user", "content": "Plan my weekend"},
        ],
        user="42",
        temperature=0.2,
    )
    assert completion.object == "chat.completion"
    assert completion.choices[0].message.content == "Hello from the fake model."
    assert completion.choices[0].finish_reason == "stop"
    assert completion.usage.total_tokens == 17
    sent = fake_llm.received[-1].body
    assert sent["messages"] == [
        {"role": "system", "content": "You are terse."},
        {"role": "developer", "content": "Answer in English."},
        memory_message(),
        {"role": "user", "content": "Plan my weekend"},
    ]
    assert sent["model"] == "fake-model" and sent["temperature"] == 0.2
    assert "user" not in sent  # AURA's user id is not the model provider's business


def test_without_a_system_prompt_the_memory_comes_first(sdk, remember, fake_llm):
    remember(42, MEMORY)
    sdk().chat.completions.create(
        model="fake-model",
        messages=[
            {"role": "user", "content": "Hi"},
            {"role": "assistant", "content": "Hello!"},
            {"role": "system", "content": "a later instruction stays where it was"},
            {"role": "user", "content": "Plan my weekend"},
        ],
        user="42",
    )
    sent = fake_llm.last_messages
    assert sent[0] == memory_message()
    assert [m["content"] for m in sent[1:]] == [
        "Hi",
        "Hello!",
        "a later instruction stays where it was",
        "Plan my weekend",
    ]


def test_a_user_without_memory_gets_the_conversation_unchanged(sdk, fake_llm):
    messages = [{"role": "system", "content": "You are terse."}, {"role": "user", "content": "Hi"}]
    sdk().chat.completions.create(model="fake-model", messages=messages, user="5")
    assert fake_llm.last_messages == messages


def test_a_stream_assembled_by_the_sdk_with_usage_at_the_end(sdk, remember, fake_llm):
    remember(42, MEMORY)
    stream = sdk().chat.completions.create(
        model="fake-model",
        messages=[{"role": "user", "content": "Plan my weekend"}],
        user="42",
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "Hello from the fake model."
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "stop"
    assert chunks[-1].choices == [] and chunks[-1].usage.total_tokens == 17
    assert fake_llm.last_messages[0] == memory_message()
    assert fake_llm.received[-1].body["stream_options"] == {"include_usage": True}


def test_the_sdks_stream_helper_gets_the_final_completion(sdk, remember):
    remember(42, MEMORY)
    with sdk().chat.completions.stream(
        model="fake-model", messages=[{"role": "user", "content": "Hi"}], user="42"
    ) as stream:
        final = stream.get_final_completion()
    assert final.choices[0].message.content == "Hello from the fake model."


def test_completed_turns_are_recorded_with_the_conversation_id(sdk, openai_app):
    client = sdk()
    client.chat.completions.create(
        model="fake-model",
        messages=[
            {"role": "user", "content": "earlier question"},
            {"role": "assistant", "content": "earlier answer"},
            {"role": "user", "content": [{"type": "text", "text": "I moved to Oslo"}]},
        ],
        user="42",
        metadata={"conversation_id": "conv-9"},
    )
    list(
        client.chat.completions.create(
            model="fake-model", messages=[{"role": "user", "content": "streamed one"}], user="42", stream=True
        )
    )
    turns = recorded_turns(openai_app, 42)  # newest first
    assert [(t["message"], t["reply"], t["conversation_id"]) for t in turns] == [
        ("streamed one", "Hello from the fake model.", None),
        ("I moved to Oslo", "Hello from the fake model.", "conv-9"),
    ]


@pytest.mark.parametrize("how", ["metadata", "header"])
def test_memory_off_for_a_temporary_chat(sdk, remember, fake_llm, openai_app, how):
    remember(42, MEMORY)
    switch = (
        {"metadata": {"aura_memory": "off"}}
        if how == "metadata"
        else {"extra_headers": {"X-Aura-Memory": "off"}}
    )
    sdk().chat.completions.create(
        model="fake-model", messages=[{"role": "user", "content": "secret"}], user="42", **switch
    )
    assert fake_llm.last_messages == [{"role": "user", "content": "secret"}]
    assert "metadata" not in fake_llm.received[-1].body
    assert recorded_turns(openai_app, 42) == []


def test_a_user_token_acts_for_its_own_user_only(sdk, user_token, remember, fake_llm):
    remember(7, "Seven's memory.")
    mine = sdk(user_token(7))
    mine.chat.completions.create(model="fake-model", messages=[{"role": "user", "content": "hi"}])
    assert fake_llm.last_messages[0] == memory_message("Seven's memory.")
    mine.chat.completions.create(model="fake-model", messages=[{"role": "user", "content": "hi"}], user="7")
    with pytest.raises(openai.PermissionDeniedError) as denied:
        mine.chat.completions.create(
            model="fake-model", messages=[{"role": "user", "content": "hi"}], user="8"
        )
    assert denied.value.status_code == 403
    assert denied.value.body["type"] == "permission_error"


def test_a_bad_key_is_an_authentication_error(sdk, fake_llm):
    with pytest.raises(openai.AuthenticationError) as error:
        sdk("sk-not-an-aura-token").chat.completions.create(
            model="fake-model", messages=[{"role": "user", "content": "hi"}], user="1"
        )
    assert error.value.code == "invalid_api_key"
    assert error.value.body["type"] == "authentication_error"
    assert fake_llm.received == []


def test_empty_messages_are_a_bad_request_naming_the_field(sdk):
    with pytest.raises(openai.BadRequestError) as error:
        sdk().chat.completions.create(model="fake-model", messages=[], user="1")
    assert error.value.param == "messages"
    assert error.value.body["type"] == "invalid_request_error"


def test_an_invalid_field_deep_in_a_message_is_named(sdk):
    with pytest.raises(openai.BadRequestError) as error:
        sdk().chat.completions.create(
            model="fake-model",
            messages=[{"role": "user", "content": "hi"}, {"role": "robot", "content": "x"}],
            user="1",
        )
    assert error.value.param == "messages[1].role"


def test_a_service_token_must_name_the_user(sdk, fake_llm):
    with pytest.raises(openai.BadRequestError) as error:
        sdk().chat.completions.create(model="fake-model", messages=[{"role": "user", "content": "hi"}])
    assert error.value.param == "user" and "service token" in error.value.message
    with pytest.raises(openai.BadRequestError):
        sdk().chat.completions.create(
            model="fake-model", messages=[{"role": "user", "content": "hi"}], user="alice"
        )
    assert fake_llm.received == []


def test_models_lists_the_configured_ones_and_an_unknown_model_is_not_found(sdk, fake_llm):
    client = sdk()
    assert [model.id for model in client.models.list()] == ["fake-model", "fake-large"]
    assert client.models.retrieve("fake-large").owned_by == "aura"
    with pytest.raises(openai.NotFoundError):
        client.models.retrieve("gpt-9")
    with pytest.raises(openai.NotFoundError) as error:
        client.chat.completions.create(model="gpt-9", messages=[{"role": "user", "content": "hi"}], user="1")
    assert error.value.code == "model_not_found"
    client.chat.completions.create(model="fake-large", messages=[{"role": "user", "content": "hi"}], user="1")
    assert fake_llm.received[-1].body["model"] == "fake-large"


def test_tool_calls_go_both_ways_unchanged(sdk, fake_llm, openai_app):
    client = sdk()
    fake_llm.script(Answer(tool_calls=[CALL]))
    asked = client.chat.completions.create(
        model="fake-model",
        messages=[{"role": "user", "content": "Weather in Oslo?"}],
        user="42",
        tools=[WEATHER_TOOL],
        tool_choice="auto",
    )
    assert asked.choices[0].finish_reason == "tool_calls"
    assert asked.choices[0].message.tool_calls[0].function.name == "get_weather"
    assert fake_llm.received[-1].body["tools"] == [WEATHER_TOOL]
    assert fake_llm.received[-1].body["tool_choice"] == "auto"
    assert recorded_turns(openai_app, 42) == []  # a tool call is not an answer yet

    history = [
        {"role": "user", "content": "Weather in Oslo?"},
        {"role": "assistant", "content": None, "tool_calls": [CALL]},
        {"role": "tool", "tool_call_id": "call_1", "content": "4 degrees, rain"},
    ]
    fake_llm.script(Answer(reply="Rainy, 4 degrees."))
    answered = client.chat.completions.create(
        model="fake-model", messages=history, user="42", tools=[WEATHER_TOOL]
    )
    assert answered.choices[0].message.content == "Rainy, 4 degrees."
    assert fake_llm.last_messages == history  # no memory stored: nothing inserted, nothing changed
    assert [(t["message"], t["reply"]) for t in recorded_turns(openai_app, 42)] == [
        ("Weather in Oslo?", "Rainy, 4 degrees.")
    ]


def test_a_streamed_tool_call_comes_through(sdk, fake_llm):
    fake_llm.script(Answer(tool_calls=[CALL]))
    chunks = list(
        sdk().chat.completions.create(
            model="fake-model",
            messages=[{"role": "user", "content": "Weather in Oslo?"}],
            user="42",
            tools=[WEATHER_TOOL],
            stream=True,
        )
    )
    calls = [call for c in chunks if c.choices for call in (c.choices[0].delta.tool_calls or [])]
    assert calls[0].function.name == "get_weather" and calls[0].function.arguments == '{"city":"Oslo"}'
    assert chunks[-1].choices[0].finish_reason == "tool_calls"


def test_openai_fields_and_the_operators_extras_reach_the_model_as_sent_and_nothing_else(sdk, fake_llm):
    sdk().chat.completions.create(
        model="fake-model",
        messages=[{"role": "user", "content": "hi"}],
        user="1",
        seed=7,
        stop=["\n\n"],
        max_completion_tokens=64,
        response_format={"type": "json_object"},
        extra_body={"logprobs": True, "top_k": 40, "vendor_option": {"nested": [1, 2]}},
    )
    sent = fake_llm.received[-1].body
    assert sent["seed"] == 7 and sent["stop"] == ["\n\n"] and sent["max_completion_tokens"] == 64
    assert sent["response_format"] == {"type": "json_object"}
    assert sent["logprobs"] is True and sent["top_k"] == 40  # OpenAI's own; AURA_OPENAI_EXTRA_PARAMS
    assert "vendor_option" not in sent  # on neither list: dropped, the request served


def test_a_failure_mid_stream_is_raised_by_the_sdk(sdk, fake_llm, openai_app):
    fake_llm.script(Answer(cut_after_first_token=True))
    stream = sdk().chat.completions.create(
        model="fake-model", messages=[{"role": "user", "content": "hi"}], user="42", stream=True
    )
    received = []
    with pytest.raises(openai.APIError) as error:
        for chunk in stream:
            received.append(chunk.choices[0].delta.content)
    assert received == ["Hello"]
    assert "before the reply was complete" in error.value.message
    assert recorded_turns(openai_app, 42) == []  # a cut-off reply is never learned from


def test_model_failures_raise_the_sdks_typed_errors(sdk, fake_llm):
    client = sdk()
    fake_llm.script(Answer(status=400, error_body={"error": {"message": "tools[0] is invalid"}}))
    with pytest.raises(openai.BadRequestError) as refused:
        client.chat.completions.create(
            model="fake-model", messages=[{"role": "user", "content": "hi"}], user="1"
        )
    assert "tools[0] is invalid" in refused.value.message
    fake_llm.script(*[Answer(status=500)] * 3)
    with pytest.raises(openai.InternalServerError) as broken:
        client.chat.completions.create(
            model="fake-model", messages=[{"role": "user", "content": "hi"}], user="1"
        )
    assert broken.value.status_code == 502


def test_the_chat_rate_limit_is_a_rate_limit_error_with_retry_after(make_app, fake_llm, db):
    app = make_app(**model_settings(fake_llm), AURA_RATE_LIMIT_CHAT="1/minute")
    server = LiveServer(app).start()
    try:
        client = openai.OpenAI(base_url=f"{server.url}/v1", api_key=SERVICE_TOKEN, max_retries=0)
        client.chat.completions.create(
            model="fake-model", messages=[{"role": "user", "content": "hi"}], user="3"
        )
        with pytest.raises(openai.RateLimitError) as error:
            client.chat.completions.create(
                model="fake-model", messages=[{"role": "user", "content": "hi"}], user="3"
            )
        assert int(error.value.response.headers["Retry-After"]) >= 1
        assert error.value.code == "rate_limit_exceeded"
        client.close()
    finally:
        server.stop()


def test_with_several_choices_the_first_is_the_one_recorded(sdk, fake_llm, openai_app):
    def chunk(index: int, text: str, finish: str | None = None) -> dict:
        delta = {"content": text} if text else {}
        return {"id": "c", "object": "chat.completion.chunk", "model": "fake-model",
                "choices": [{"index": index, "delta": delta, "finish_reason": finish}]}  # fmt: skip

    fake_llm.script(
        Answer(
            raw_chunks=[chunk(0, "Tea"), chunk(1, "Coffee"), chunk(0, " it is", "stop"), chunk(1, "", "stop")]
        )
    )
    chunks = list(
        sdk().chat.completions.create(
            model="fake-model",
            messages=[{"role": "user", "content": "Tea or coffee?"}],
            user="42",
            n=2,
            stream=True,
        )
    )
    assert [c.choices[0].index for c in chunks] == [0, 1, 0, 1]
    assert [(t["message"], t["reply"]) for t in recorded_turns(openai_app, 42)] == [
        ("Tea or coffee?", "Tea it is")
    ]
