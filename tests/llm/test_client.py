"""The OpenAI-compatible client against a real HTTP server on loopback."""

from __future__ import annotations

import socket
import time

import pytest

from aura.llm.client import LLMClient
from aura.llm.errors import LLMError, LLMNotConfigured, LLMTimeout
from aura.llm.settings import LLMSettings
from tests.fake_llm import Answer

MESSAGES = [{"role": "system", "content": "sys"}, {"role": "user", "content": "hi"}]


@pytest.fixture()
def make_client(fake_llm):
    clients: list[LLMClient] = []

    def factory(**overrides) -> LLMClient:
        settings = {
            "base_url": fake_llm.url,
            "model": "m1",
            "api_key": "sk-abc",
            "backoff": 0.01,
            "timeout": 1.0,
        }
        client = LLMClient(LLMSettings(**{**settings, **overrides}))
        clients.append(client)
        return client

    yield factory
    for client in clients:
        client.close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_completion_sends_model_messages_and_bearer_key(make_client, fake_llm):
    completion = make_client().complete(MESSAGES)
    assert completion.reply == "Hello from the fake model."
    assert completion.model == "m1"
    assert completion.usage["total_tokens"] == 17
    received = fake_llm.received[-1]
    assert received.path == "/v1/chat/completions"
    assert received.body == {"model": "m1", "messages": MESSAGES, "stream": False}
    assert received.headers["Authorization"] == "Bearer sk-abc"


@pytest.mark.parametrize("suffix", ["", "/", "/v1", "/v1/"])
def test_base_url_with_or_without_v1(make_client, fake_llm, suffix):
    root = fake_llm.url.removesuffix("/v1")
    assert make_client(base_url=root + suffix).complete(MESSAGES).reply


def test_no_api_key_sends_no_authorization_header(make_client, fake_llm):
    make_client(api_key="").complete(MESSAGES)
    assert "Authorization" not in fake_llm.received[-1].headers


def test_5xx_is_retried_with_backoff_then_succeeds(make_client, fake_llm):
    fake_llm.script(Answer(status=500), Answer(status=503), Answer(reply="third time"))
    assert make_client(max_retries=2).complete(MESSAGES).reply == "third time"
    assert len(fake_llm.received) == 3


def test_429_waits_for_retry_after(make_client, fake_llm):
    fake_llm.script(Answer(status=429, headers={"Retry-After": "0.3"}), Answer(reply="ok now"))
    started = time.monotonic()
    assert make_client().complete(MESSAGES).reply == "ok now"
    assert time.monotonic() - started >= 0.3
    assert len(fake_llm.received) == 2


def test_retries_exhausted_is_502(make_client, fake_llm):
    fake_llm.script(*[Answer(status=502)] * 3)
    with pytest.raises(LLMError) as caught:
        make_client(max_retries=2).complete(MESSAGES)
    assert caught.value.status == 502
    assert "HTTP 502" in caught.value.message
    assert len(fake_llm.received) == 3


def test_persistent_429_reports_rate_limit_with_retry_after(make_client, fake_llm):
    fake_llm.script(*[Answer(status=429, headers={"Retry-After": "0"})] * 2)
    with pytest.raises(LLMError) as caught:
        make_client(max_retries=1).complete(MESSAGES)
    assert "rate-limiting" in caught.value.message


def test_client_errors_are_not_retried(make_client, fake_llm):
    fake_llm.script(Answer(status=400))
    with pytest.raises(LLMError):
        make_client(max_retries=3).complete(MESSAGES)
    assert len(fake_llm.received) == 1


def test_slow_model_is_a_timeout(make_client, fake_llm):
    fake_llm.script(Answer(delay=1.0))
    with pytest.raises(LLMTimeout) as caught:
        make_client(timeout=0.2).complete(MESSAGES)
    assert caught.value.status == 504


def test_unreachable_model_is_502_after_retries(make_client):
    client = make_client(base_url=f"http://127.0.0.1:{free_port()}", max_retries=1)
    with pytest.raises(LLMError) as caught:
        client.complete(MESSAGES)
    assert caught.value.status == 502
    assert "unreachable" in caught.value.message


def test_unconfigured_client_is_503(make_client):
    with pytest.raises(LLMNotConfigured) as caught:
        make_client(base_url="").complete(MESSAGES)
    assert caught.value.status == 503
    assert "AURA_LLM_BASE_URL" in caught.value.message


def test_stream_yields_tokens_in_order_then_done(make_client, fake_llm):
    fake_llm.script(Answer(tokens=["a", "b", "c"]))
    events = list(make_client().open_stream(MESSAGES))
    assert [e.content for e in events if not e.done] == ["a", "b", "c"]
    assert events[-1].done and events[-1].model == "m1" and events[-1].usage["total_tokens"] == 17
    assert fake_llm.received[-1].body["stream"] is True


def test_stream_retries_before_the_first_byte(make_client, fake_llm):
    fake_llm.script(Answer(status=500), Answer(tokens=["x"]))
    events = list(make_client().open_stream(MESSAGES))
    assert [e.content for e in events if not e.done] == ["x"]


@pytest.mark.parametrize(
    "url", ["127.0.0.1:11434", "ftp://user:s3cret@host/v1", "http://", "http://:80/v1", "not a url"]
)
def test_an_unusable_model_url_stops_start_up_without_echoing_it(url):
    from aura import create_app

    with pytest.raises(RuntimeError, match="AURA_LLM_BASE_URL must be an http") as raised:
        create_app("testing", {"AURA_LLM_BASE_URL": url, "SQLALCHEMY_DATABASE_URI": "sqlite://"})
    assert "s3cret" not in str(raised.value)


def test_a_proxy_named_in_the_environment_carries_the_calls(make_client, fake_llm, monkeypatch):
    """As httpx.Client would: HTTP(S)_PROXY routes the call, NO_PROXY exempts the host."""
    proxy = fake_llm.url.removesuffix("/v1")
    monkeypatch.setenv("HTTP_PROXY", proxy)
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    with pytest.raises(LLMError):  # the fake is no real proxy: it answers 404 to what it got
        make_client(base_url="http://model.example/v1", max_retries=0).complete(MESSAGES)
    assert fake_llm.received[-1].path == "http://model.example/v1/chat/completions"

    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    assert make_client().complete(MESSAGES).reply  # straight to the model, not via the "proxy"
    assert fake_llm.received[-1].path == "/v1/chat/completions"


@pytest.mark.parametrize(
    ("body", "limit", "prompt"),
    [
        (  # OpenAI, vLLM, llama-cpp-python
            {
                "error": {
                    "message": "This model's maximum context length is 2048 tokens. However, you requested "
                    "3100 tokens (2900 in the messages, 200 in the completion)."
                }
            },
            2048,
            2900,
        ),
        (  # llama.cpp's own server states the numbers as fields
            {
                "error": {
                    "code": 400,
                    "message": "the request exceeds the available context size, try increasing it",
                    "type": "exceed_context_size_error",
                    "n_prompt_tokens": 5000,
                    "n_ctx": 4096,
                }
            },
            4096,
            5000,
        ),
    ],
    ids=["openai-vllm", "llama.cpp"],
)
def test_a_prompt_over_the_context_is_an_error_stating_the_limit(fake_llm, body, limit, prompt):
    from aura.llm.errors import LLMContextExceeded

    fake_llm.script(Answer(status=400, error_body=body))
    client = LLMClient(LLMSettings(base_url=fake_llm.url, model="m", max_retries=3, backoff=0.01))
    with pytest.raises(LLMContextExceeded) as raised:
        client.complete([{"role": "user", "content": "hi"}])
    assert (raised.value.context_tokens, raised.value.prompt_tokens) == (limit, prompt)
    assert len(fake_llm.received) == 1  # a 400 is never retried


def test_a_reply_cut_off_at_max_tokens_says_so(fake_llm):
    fake_llm.script(Answer(reply="Lives in", finish_reason="length"))
    client = LLMClient(LLMSettings(base_url=fake_llm.url, model="m"))
    assert client.complete([{"role": "user", "content": "hi"}]).finish_reason == "length"
