"""The /v1 routes as HTTP: OpenAI's error envelope for every failure, CORS for SDKs in browsers,
the same headers, metrics and deadlines as AURA's own chat."""

from __future__ import annotations

import json

import pytest

from tests.conftest import model_settings, service_client
from tests.fake_llm import Answer

HI = [{"role": "user", "content": "hi"}]


@pytest.fixture()
def v1(make_app, fake_llm, db):
    app = make_app(
        **model_settings(fake_llm), AURA_CORS_ORIGINS="https://app.example", MAX_CONTENT_LENGTH=4096
    )
    return service_client(app)


def error_of(response) -> dict:
    body = response.get_json()
    assert set(body) == {"error"}, body
    assert set(body["error"]) == {"message", "type", "param", "code"}
    return body["error"]


def test_malformed_json_is_a_400_in_openais_envelope(v1):
    response = v1.post("/v1/chat/completions", data="{not json", content_type="application/json")
    assert response.status_code == 400
    assert error_of(response)["type"] == "invalid_request_error"


def test_a_body_over_the_limit_is_a_400_that_says_so(v1):
    response = v1.post(
        "/v1/chat/completions", json={"model": "fake-model", "messages": HI, "user": "1", "x": "y" * 5000}
    )
    assert response.status_code == 400
    assert "4,096-byte limit" in error_of(response)["message"]


@pytest.mark.parametrize(
    ("field", "value", "param"),
    [
        ("temperature", 3, "temperature"),
        ("temperature", "hot", "temperature"),
        ("stream", "yes", "stream"),
        ("stop", ["a", "b", "c", "d", "e"], "stop"),
        ("tools", [{"function": {}}], "tools"),
        ("metadata", {"conversation_id": 5}, "metadata.conversation_id"),
        ("messages", [{"role": "user", "content": 5}], "messages[0].content"),
        ("messages", [{"content": "no role"}], "messages[0].role"),
        ("user", "-1", "user"),
    ],
)
def test_invalid_fields_are_400_naming_the_field_and_never_reach_the_model(v1, fake_llm, field, value, param):
    body = {"model": "fake-model", "messages": HI, "user": "1", field: value}
    response = v1.post("/v1/chat/completions", json=body)
    assert response.status_code == 400
    assert error_of(response)["param"] == param
    assert fake_llm.received == []


def test_an_unknown_v1_route_is_a_404_in_openais_envelope(v1):
    response = v1.post("/v1/embeddings", json={"model": "fake-model", "input": "x"})
    assert response.status_code == 404
    assert error_of(response)["type"] == "not_found_error"


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("post", "/v1/chat/completions", {"model": "gpt-9", "messages": HI, "user": "1"}),
        ("get", "/v1/models/gpt-9", None),
    ],
)
def test_an_unknown_model_is_a_404_naming_it_and_pointing_at_the_list(v1, fake_llm, method, path, body):
    response = getattr(v1, method)(path, json=body)
    assert response.status_code == 404
    error = error_of(response)
    assert error["code"] == "model_not_found" and "`gpt-9`" in error["message"]
    assert "GET /v1/models" in error["message"] and "No such endpoint" not in error["message"]
    assert fake_llm.received == []


def test_a_browser_sdk_may_send_its_own_headers_from_an_allowed_origin(v1):
    response = v1.options(
        "/v1/chat/completions",
        headers={
            "Origin": "https://app.example",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type, x-stainless-os, x-stainless-lang",
        },
    )
    assert response.headers["Access-Control-Allow-Origin"] == "https://app.example"
    allowed = response.headers["Access-Control-Allow-Headers"].lower()
    assert "x-stainless-os" in allowed and "authorization" in allowed
    other = v1.options(
        "/v1/chat/completions",
        headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
    )
    assert "Access-Control-Allow-Origin" not in other.headers


def test_answers_are_never_cached_and_chat_turns_are_counted(v1):
    from prometheus_client import REGISTRY

    def calls(outcome: str) -> float:
        return REGISTRY.get_sample_value("aura_chat_calls_total", {"outcome": outcome}) or 0.0

    before = calls("ok")
    response = v1.post("/v1/chat/completions", json={"model": "fake-model", "messages": HI, "user": "1"})
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    assert calls("ok") == before + 1


def test_a_model_that_is_not_configured_is_a_503_saying_so(make_app, db):
    unconfigured = service_client(make_app(AURA_LLM_BASE_URL="", AURA_LLM_MODEL="fake-model"))
    response = unconfigured.post(
        "/v1/chat/completions", json={"model": "fake-model", "messages": HI, "user": "1"}
    )
    assert response.status_code == 503
    assert error_of(response)["code"] == "model_not_configured"


@pytest.mark.parametrize(
    "chunks",
    [
        [{"choices": "not a list"}],
        [{"choices": [{"delta": "not an object"}]}],
        [["a", "list"]],
        ["{not json"],
    ],
)
def test_a_stream_aura_cannot_read_ends_in_an_error_event_not_a_crash(v1, fake_llm, chunks):
    fake_llm.script(Answer(raw_chunks=chunks))
    response = v1.post(
        "/v1/chat/completions", json={"model": "fake-model", "messages": HI, "user": "1", "stream": True}
    )
    assert response.status_code == 200
    events = [line for line in response.get_data(as_text=True).split("\n") if line.startswith("data: ")]
    assert json.loads(events[-1].removeprefix("data: "))["error"]["message"].startswith("The language model")


@pytest.mark.parametrize(
    "reply",
    [
        {"choices": "nope"},
        {
            "id": "x",
            "object": "chat.completion",
            "model": "m",
            "choices": [{"message": {"content": ["odd"]}}],
        },
        ["not", "an", "object"],
    ],
)
def test_an_odd_reply_is_passed_on_or_refused_never_a_500(v1, fake_llm, reply):
    fake_llm.script(Answer(raw_body=reply))
    response = v1.post("/v1/chat/completions", json={"model": "fake-model", "messages": HI, "user": "1"})
    assert response.status_code in (200, 502)
    if response.status_code == 502:
        assert error_of(response)["type"] == "server_error"


class TestNamingTheUser:
    """A service token names the user in `user`, a gateway's X-Aura-User header, or a numeric
    safety_identifier (what SDKs send now that OpenAI deprecated `user`); none is forwarded."""

    @pytest.fixture()
    def memory_of_42(self, v1):
        v1.post("/api/v1/memory", json={"user_id": 42, "content": "Enjoys hiking."})

    @pytest.mark.parametrize(
        ("extra", "headers"),
        [
            ({"user": "42"}, {}),
            ({}, {"X-Aura-User": "42"}),
            ({"safety_identifier": "42"}, {}),
            ({"user": "42", "safety_identifier": "a1b2c3-hashed"}, {}),
            ({"user": "42"}, {"X-Aura-User": "42"}),
        ],
        ids=["user", "gateway-header", "safety-identifier", "hashed-safety-identifier-ignored", "both-agree"],
    )
    def test_each_way_carries_that_users_memory_and_none_is_forwarded(
        self, v1, fake_llm, memory_of_42, extra, headers
    ):
        response = v1.post(
            "/v1/chat/completions", json={"model": "fake-model", "messages": HI, **extra}, headers=headers
        )
        assert response.status_code == 200, response.get_json()
        sent = fake_llm.received[-1].body
        assert sent["messages"][0] == {"role": "system", "content": "User Memory: Enjoys hiking."}
        assert "user" not in sent and "safety_identifier" not in sent

    @pytest.mark.parametrize(
        ("extra", "headers"),
        [({}, {}), ({"safety_identifier": "a1b2c3-hashed"}, {}), ({"user": "42"}, {"X-Aura-User": "7"})],
        ids=["nobody", "hashed-safety-identifier", "user-and-header-disagree"],
    )
    def test_a_service_token_naming_nobody_or_two_users_is_a_400(self, v1, fake_llm, extra, headers):
        response = v1.post(
            "/v1/chat/completions", json={"model": "fake-model", "messages": HI, **extra}, headers=headers
        )
        assert response.status_code == 400
        assert error_of(response)["code"] == "user_required" and error_of(response)["param"] == "user"
        assert fake_llm.received == []

    def test_a_user_token_may_not_name_another_user_in_the_header(self, v1, fake_llm):
        from tests.test_auth import bearer, user_token

        headers = {**bearer(user_token("42")), "X-Aura-User": "7"}
        response = v1.post(
            "/v1/chat/completions", json={"model": "fake-model", "messages": HI}, headers=headers
        )
        assert response.status_code == 403 and fake_llm.received == []


class TestOddButValidJson:
    """Python's JSON parser accepts what no encoder may write back: refused at the edge (400
    naming the field), never a 500, never counted against the chat limit (issue #34)."""

    BASE = '"model": "fake-model", "user": "1", "messages": [{"role": "user", "content": "hi"}]'

    @pytest.mark.parametrize(
        ("body", "param"),
        [
            ('{%s, "vendor_extra": NaN}', "vendor_extra"),
            ('{%s, "vendor_extra": {"deep": [1, -Infinity]}}', "vendor_extra"),
            ('{%s, "seed": 123456789012345678901234567890}', "seed"),
            (
                '{"model": "fake-model", "user": "1", "messages": [{"role": "user", "content": "\\ud800"}]}',
                "messages",
            ),
            (
                '{"model": "fake-model", "user": "1", '
                '"messages": [{"role": "user", "content": [{"type": "text", "text": "\\udfff"}]}]}',
                "messages",
            ),
            ('{%s, "metadata": {"note": "\\ud800"}}', "metadata"),
        ],
        ids=[
            "nan",
            "nested-infinity",
            "huge-integer",
            "lone-surrogate",
            "surrogate-in-a-part",
            "surrogate-in-metadata",
        ],
    )
    def test_is_a_400_naming_the_field_and_never_reaches_the_model(self, make_app, fake_llm, db, body, param):
        app = make_app(**model_settings(fake_llm), AURA_RATE_LIMIT_CHAT="1/minute")
        v1 = service_client(app)
        data = body % self.BASE if "%s" in body else body
        response = v1.post("/v1/chat/completions", data=data, content_type="application/json")
        assert response.status_code == 400, response.get_data(as_text=True)
        assert error_of(response)["param"] == param
        assert fake_llm.received == []
        ok = v1.post("/v1/chat/completions", json={"model": "fake-model", "user": "1", "messages": HI})
        assert ok.status_code == 200  # the refused body did not use up the one chat a minute

    def test_a_conversation_id_longer_than_aura_keeps_is_a_400(self, v1, fake_llm):
        body = {
            "model": "fake-model",
            "messages": HI,
            "user": "1",
            "metadata": {"conversation_id": "c" * 201},
        }
        response = v1.post("/v1/chat/completions", json=body)
        assert response.status_code == 400 and error_of(response)["param"] == "metadata"
        assert "at most 200" in error_of(response)["message"] and fake_llm.received == []


class TestWhatOneRequestMayCost:
    @pytest.mark.parametrize(
        ("field", "value"), [("n", 128), ("max_tokens", 1_000_000_000), ("max_completion_tokens", 40_000)]
    )
    def test_over_the_operators_cap_is_a_400_naming_the_field(self, v1, fake_llm, field, value):
        body = {"model": "fake-model", "messages": HI, "user": "1", field: value}
        response = v1.post("/v1/chat/completions", json=body)
        assert response.status_code == 400 and error_of(response)["param"] == field
        assert "At most" in error_of(response)["message"] and fake_llm.received == []

    def test_within_the_caps_is_served(self, v1, fake_llm):
        body = {"model": "fake-model", "messages": HI, "user": "1", "n": 8, "max_tokens": 32_768}
        assert v1.post("/v1/chat/completions", json=body).status_code == 200
        assert fake_llm.received[-1].body["n"] == 8

    def test_fields_that_steer_a_proxy_are_dropped_and_the_request_served(self, v1, fake_llm):
        steering = {
            "api_base": "http://evil.example",
            "api_key": "sk-x",
            "custom_llm_provider": "x",
            "base_url": "y",
        }
        body = {
            "model": "fake-model",
            "messages": HI,
            "user": "1",
            "top_k": 40,
            "temperature": 0.2,
            **steering,
        }
        assert v1.post("/v1/chat/completions", json=body).status_code == 200
        sent = fake_llm.received[-1].body
        assert not set(steering) & set(sent)
        assert sent["top_k"] == 40 and sent["temperature"] == 0.2  # the operator's allow-list, OpenAI's own


def test_a_model_server_echoing_the_request_in_its_error_never_puts_it_in_the_log(v1, fake_llm, caplog):
    """Some servers quote the request in a 400: the user's memory would land in AURA's log."""
    v1.post("/api/v1/memory", json={"user_id": 42, "content": "Secretly planning to propose to Ana."})
    echo = {"error": {"message": "bad request: User Memory: Secretly planning to propose to Ana.",
                      "type": "invalid_request_error", "code": "bad_param"}}  # fmt: skip
    fake_llm.script(Answer(status=400, error_body=echo))
    response = v1.post("/v1/chat/completions", json={"model": "fake-model", "messages": HI, "user": "42"})
    assert response.status_code == 400  # the caller's request, refused: passed on as a 400
    assert "propose" not in caplog.text
    assert "chat failed (answered 400): model_error: the model server answered HTTP 400" in caplog.text
    assert "invalid_request_error/bad_param" in caplog.text
