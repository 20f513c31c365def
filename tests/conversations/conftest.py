"""An app that records conversations, talking to the loopback model."""

from __future__ import annotations

import pytest

from tests.conftest import FAKE_API_KEY, service_client


@pytest.fixture()
def recording_app(make_app, fake_llm, db):
    return make_app(
        AURA_LLM_BASE_URL=fake_llm.url,
        AURA_LLM_MODEL="fake-model",
        AURA_LLM_API_KEY=FAKE_API_KEY,
        AURA_LLM_TIMEOUT=1.0,
        AURA_LLM_RETRY_BACKOFF=0.01,
        AURA_CONVERSATION_RECORDING=True,
    )


@pytest.fixture()
def recording(recording_app):
    return service_client(recording_app)


def turns_of(client, user_id: int, **query) -> dict:
    response = client.get(f"/api/v1/memory/{user_id}/conversations", query_string=query)
    assert response.status_code == 200, response.get_json()
    return response.get_json()
