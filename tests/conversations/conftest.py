"""An app that records conversations, talking to the loopback model."""

from __future__ import annotations

import pytest

from tests.conftest import model_settings, service_client


@pytest.fixture()
def recording_app(make_app, fake_llm, db):
    return make_app(**model_settings(fake_llm), AURA_CONVERSATION_RECORDING=True)


@pytest.fixture()
def recording(recording_app):
    return service_client(recording_app)


def turns_of(client, user_id: int, **query) -> dict:
    response = client.get(f"/api/v1/memory/{user_id}/conversations", query_string=query)
    assert response.status_code == 200, response.get_json()
    return response.get_json()
