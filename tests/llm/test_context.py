"""The model's context window as its server reports it: vLLM, llama.cpp's server, gateways, or nothing.

Asked over real HTTP from the scripted loopback server; an operator's setting always wins.
"""

from __future__ import annotations

import pytest

from aura.llm import context
from aura.llm.client import LLMClient
from aura.llm.settings import LLMSettings
from tests.conftest import service_client
from tests.consolidation.conftest import consolidate_url, said
from tests.fake_llm import Answer

VLLM_MODELS = {
    "object": "list",
    "data": [
        {"id": "other", "object": "model", "max_model_len": 32768},
        {"id": "m", "object": "model", "owned_by": "vllm", "max_model_len": 2048},
    ],
}
LLAMA_CPP_PROPS = {"default_generation_settings": {"n_ctx": 4096, "temperature": 0.8}, "total_slots": 1}
SILENT_MODELS = {"object": "list", "data": [{"id": "m", "object": "model", "owned_by": "me"}]}


def _client(fake_llm, **settings) -> LLMClient:
    return LLMClient(LLMSettings(base_url=fake_llm.url, model="m", **settings))


@pytest.mark.parametrize(
    ("models", "props", "expected"),
    [
        (VLLM_MODELS, None, 2048),  # vLLM: the listed model's max_model_len, not another's
        (SILENT_MODELS, LLAMA_CPP_PROPS, 4096),  # llama.cpp's server: the running n_ctx
        ({"data": [{"id": "gateway-name", "context_length": 8192}]}, None, 8192),  # the only model listed
        ({"data": [{"id": "m", "max_model_len": True}]}, {"n_ctx": "big"}, 0),  # nonsense is not a size
    ],
    ids=["vllm", "llama.cpp", "gateway", "nonsense"],
)
def test_the_context_is_read_where_each_server_reports_it(fake_llm, models, props, expected):
    fake_llm.models, fake_llm.props = models, props
    client = _client(fake_llm)
    assert context.discover(client) == expected
    assert client.context_tokens == expected
    assert client.context_source == ("reported" if expected else "unknown")


def test_a_server_that_reports_nothing_is_asked_once(fake_llm):
    client = _client(fake_llm)
    assert context.discover(client) == 0 and context.discover(client) == 0
    assert fake_llm.gets == ["/v1/models", "/props"]


def test_an_operators_setting_is_never_overridden_nor_asked_about(fake_llm):
    fake_llm.models = VLLM_MODELS
    client = _client(fake_llm, context_tokens=1024)
    assert context.discover(client) == 1024 and fake_llm.gets == []


def test_an_unreachable_server_is_no_context_and_no_error():
    client = LLMClient(LLMSettings(base_url="http://127.0.0.1:9/v1", model="m"))
    assert context.discover(client) == 0 and client.context_source == "unknown"


def test_a_consolidation_fits_the_context_vllm_reports(make_app, fake_llm, db):
    fake_llm.models = VLLM_MODELS
    app = make_app(AURA_LLM_BASE_URL=fake_llm.url, AURA_LLM_MODEL="m")
    client = service_client(app)
    fake_llm.script(Answer(reply="Walks by the river."))
    turns = said(*[f"Day {day}: I walked by the river " + "and talked a lot " * 40 for day in range(30)])
    body = client.post(consolidate_url(31), json={"messages": turns}).get_json()
    request = fake_llm.received[-1].body
    sent = sum(len(m["content"]) for m in request["messages"])
    assert sent / 3 + request["max_tokens"] <= 2048  # fitted on the first try: no "too long" round trip
    assert len(fake_llm.received) == 1 and body["transcript_cut"] is True
    assert "Day 29" in request["messages"][1]["content"]
