"""An app whose consolidation model is the loopback fake, and helpers to call the endpoint."""

from __future__ import annotations

import pytest

from tests.conftest import FAKE_API_KEY, service_client
from tests.fake_llm import FakeLLM


@pytest.fixture()
def consolidation_app(make_app, fake_llm: FakeLLM, db):
    return make_app(
        AURA_LLM_BASE_URL=fake_llm.url,
        AURA_LLM_MODEL="chat-model",
        AURA_LLM_API_KEY=FAKE_API_KEY,
        AURA_LLM_RETRY_BACKOFF=0.01,
        AURA_CONSOLIDATION_MODEL="memory-model",
        AURA_CONSOLIDATION_TIMEOUT=2.0,
    )


@pytest.fixture()
def api(consolidation_app):
    return service_client(consolidation_app)


def consolidate_url(user_id: int) -> str:
    return f"/api/v1/memory/{user_id}/consolidate"


def said(*contents: str) -> list[dict]:
    """User turns, for requests where only what the user said matters."""
    return [{"role": "user", "content": content} for content in contents]
