"""Odd request bodies get a clear 4xx that says what is wrong, never a 500."""

from __future__ import annotations

import logging

import pytest

from tests.memory.test_api import assert_error

SAVE_URL = "/api/v1/memory"


def post_raw(client, body: str, content_type: str | None = "application/json", url: str = SAVE_URL):
    headers = {"Content-Type": content_type} if content_type else {}
    return client.post(url, data=body.encode(), headers=headers)


def test_a_body_nested_5000_deep_is_400(client):
    body = assert_error(post_raw(client, "[" * 5000 + "]" * 5000), 400, "json")
    assert "nested too deeply" in body["message"]


@pytest.mark.parametrize("field", ["user_id", "content", "expected_version"])
def test_a_5000_digit_number_is_422_for_the_field(client, field):
    fields = {"user_id": "1", "content": '"x"', field: "1" * 5000}
    text = "{" + ", ".join(f'"{name}": {value}' for name, value in fields.items()) + "}"
    assert_error(post_raw(client, text), 422, field)
    assert client.get("/api/v1/memory/1").get_json()["memory"] is None


def test_a_5000_digit_user_id_in_the_path_is_422(client):
    assert_error(client.get("/api/v1/memory/" + "9" * 5000), 422, "user_id")


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", None])
def test_a_body_that_is_not_declared_json_is_415_saying_so(client, content_type):
    response = post_raw(client, '{"user_id": 1, "content": "x"}', content_type)
    body = assert_error(response, 415, "Content-Type")
    assert "Content-Type: application/json" in body["message"]


def test_a_restore_without_any_body_still_works(client):
    client.post(SAVE_URL, json={"user_id": 1, "content": "one"})
    revision = client.get("/api/v1/memory/1/revisions").get_json()["revisions"][0]["id"]
    assert client.post(f"/api/v1/memory/1/revisions/{revision}/restore").status_code == 200


def test_invalid_utf8_is_400(client):
    response = client.post(
        SAVE_URL, data=b'{"user_id": 1, "content": "\xff"}', content_type="application/json"
    )
    assert_error(response, 400, "json")


def test_an_unreachable_model_never_echoes_the_urls_credentials(make_app, db, caplog):
    app = make_app(
        AURA_LLM_BASE_URL="http://aura-user:s3cret-pw@127.0.0.1:9/v1?key=also-secret",
        AURA_LLM_MODEL="m",
        AURA_LLM_MAX_RETRIES=1,
        AURA_LLM_RETRY_BACKOFF=0.01,
    )
    client = app.test_client()
    caplog.set_level(logging.DEBUG)
    response = client.post(
        "/api/v1/orcha/chat",
        json={"user_id": 1, "message": "hi"},
        headers={"Authorization": "Bearer test-service-token-with-enough-entropy-0123456789"},
    )
    body = assert_error(response, 502)
    assert body["message"] == "The language model is unreachable."
    logged = caplog.text
    assert "127.0.0.1:9" in logged  # the host, so an operator knows where to look
    for secret in ("s3cret-pw", "aura-user", "also-secret"):
        assert secret not in response.get_data(as_text=True)
        assert secret not in logged
