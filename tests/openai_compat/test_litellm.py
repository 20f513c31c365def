"""A real LiteLLM proxy in front of AURA's /v1, as docs/openai.md sets one up: the caller holds
LiteLLM's key, LiteLLM holds AURA's service token, and the user reaches AURA as `user` (with
`allowed_openai_params`) or as the X-Aura-User header a route sets.

LiteLLM lives in its own virtualenv (scripts/install-litellm); without it these tests skip,
unless AURA_TEST_LITELLM=1 (CI's LiteLLM leg) says it must be there.
"""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import httpx
import openai
import pytest

from tests.conftest import SERVICE_TOKEN
from tests.processes import free_port, stop_process

LITELLM = Path(__file__).resolve().parents[2] / ".venv-litellm" / "bin" / "litellm"
MASTER_KEY = "sk-litellm-master-for-tests-0123456789"
MEMORY = "Enjoys hiking; prefers short answers."
CONFIG = """
model_list:
  - model_name: aura
    litellm_params:
      model: openai/fake-model
      api_base: {aura}/v1
      api_key: os.environ/AURA_SERVICE_TOKEN
      allowed_openai_params: ["user"]
  - model_name: aura-without-user-param
    litellm_params:
      model: openai/fake-model
      api_base: {aura}/v1
      api_key: os.environ/AURA_SERVICE_TOKEN
  - model_name: aura-for-user-42
    litellm_params:
      model: openai/fake-model
      api_base: {aura}/v1
      api_key: os.environ/AURA_SERVICE_TOKEN
      extra_headers: {{"X-Aura-User": "42"}}
"""


@pytest.fixture()
def litellm(aura, tmp_path):
    if not LITELLM.exists():
        reason = "LiteLLM is not installed: scripts/install-litellm (CI's LiteLLM leg runs it)"
        if os.environ.get("AURA_TEST_LITELLM"):
            pytest.fail(reason)
        pytest.skip(reason)
    config = tmp_path / "litellm.yaml"
    config.write_text(CONFIG.format(aura=aura.url))
    port = free_port()
    env = {
        **os.environ,
        "LITELLM_MASTER_KEY": MASTER_KEY,
        "LITELLM_LOCAL_MODEL_COST_MAP": "True",  # no internet: the cost map shipped in the package
        "AURA_SERVICE_TOKEN": SERVICE_TOKEN,
    }
    log = tmp_path / "litellm.log"
    with open(log, "w") as out:
        process = subprocess.Popen(
            [str(LITELLM), "--config", str(config), "--host", "127.0.0.1", "--port", str(port)],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                if httpx.get(f"{url}/health/liveliness", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"LiteLLM did not start:\n{log.read_text()[-3000:]}")
            time.sleep(0.3)
        with openai.OpenAI(base_url=f"{url}/v1", api_key=MASTER_KEY, max_retries=0, timeout=30) as client:
            yield client
    finally:
        stop_process(process, grace=5)


def test_the_user_reaches_aura_through_litellm_and_gets_their_memory(litellm, remember, fake_llm):
    remember(42, MEMORY)
    messages = [{"role": "user", "content": "Plan my weekend"}]

    reply = litellm.chat.completions.create(model="aura", messages=messages, user="42")
    assert reply.choices[0].message.content == "Hello from the fake model."
    sent = fake_llm.received[-1]
    assert {"role": "system", "content": f"User Memory: {MEMORY}"} in sent.body["messages"]
    assert "user" not in sent.body  # AURA's user id never reaches the model

    stream = litellm.chat.completions.create(model="aura", messages=messages, user="42", stream=True)
    assert "".join(chunk.choices[0].delta.content or "" for chunk in stream if chunk.choices) == (
        "Hello from the fake model."
    )
    assert f"User Memory: {MEMORY}" in str(fake_llm.received[-1].body["messages"])

    # A route that names the user itself: the caller sends no `user` at all.
    litellm.chat.completions.create(model="aura-for-user-42", messages=messages)
    assert f"User Memory: {MEMORY}" in str(fake_llm.received[-1].body["messages"])


def test_without_allowed_openai_params_litellm_drops_user_and_aura_says_so(litellm, remember, fake_llm):
    """Why docs/openai.md's config carries allowed_openai_params: LiteLLM forwards `user` only for
    OpenAI's own model names, so AURA gets no user and refuses rather than guess."""
    remember(42, MEMORY)
    asked = len(fake_llm.received)
    with pytest.raises(openai.BadRequestError) as refused:
        litellm.chat.completions.create(
            model="aura-without-user-param", messages=[{"role": "user", "content": "Hi"}], user="42"
        )
    assert "user" in str(refused.value) and "X-Aura-User" in str(refused.value)
    assert len(fake_llm.received) == asked  # refused before any model call
