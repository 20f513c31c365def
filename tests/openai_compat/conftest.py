"""A live AURA (real HTTP on loopback) wired to the loopback model, and the official OpenAI SDK
pointed at it the way an app would be: base_url and an API key, nothing else."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import openai
import pytest
from flask import Flask

from aura.memory import service
from tests.conftest import SERVICE_TOKEN, LiveServer, model_settings, token_minter


@pytest.fixture()
def openai_app(make_app, fake_llm, db) -> Flask:
    return make_app(
        **model_settings(fake_llm, AURA_LLM_TIMEOUT=2.0),
        AURA_OPENAI_MODELS="fake-large, fake-model",
        AURA_CONVERSATION_RECORDING=True,
    )


@pytest.fixture()
def aura(openai_app: Flask) -> Iterator[LiveServer]:
    server = LiveServer(openai_app).start()
    yield server
    server.stop()


@pytest.fixture()
def sdk(aura: LiveServer) -> Callable[..., openai.OpenAI]:
    """An OpenAI client on AURA: a service token by default, or any key."""
    made: list[openai.OpenAI] = []

    def client(api_key: str = SERVICE_TOKEN) -> openai.OpenAI:
        made.append(openai.OpenAI(base_url=f"{aura.url}/v1", api_key=api_key, max_retries=0, timeout=10))
        return made[-1]

    yield client
    for each in made:
        each.close()


@pytest.fixture()
def user_token(openai_app: Flask) -> Callable[[int], str]:
    return token_minter(openai_app)


@pytest.fixture()
def remember(openai_app: Flask) -> Callable[[int, str], None]:
    def save(user_id: int, content: str) -> None:
        with openai_app.app_context():
            service.save_memory(user_id, content)

    return save
