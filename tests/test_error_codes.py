"""Every JSON error names its reason in a stable ``code``, so clients never parse messages."""

from __future__ import annotations

from aura.web.error_codes import DEFAULT_CODES, ERROR_CODES
from tests.fake_llm import Answer


def _code(response) -> str:
    body = response.get_json()
    assert body["status"] == "error" and body["message"]  # the existing fields stay
    return body["code"]


def test_malformed_json_is_invalid_json(client):
    response = client.post("/api/v1/memory", data="{", content_type="application/json")
    assert response.status_code == 400
    assert _code(response) == "invalid_json"


def test_a_field_that_fails_validation_is_validation_failed(client):
    response = client.post("/api/v1/memory", json={"user_id": 1, "content": ""})
    assert response.status_code == 422
    assert _code(response) == "validation_failed"
    assert "content" in response.get_json()["errors"]


def test_no_token_is_unauthorized(anonymous):
    assert _code(anonymous.get("/api/v1/memory/1")) == "unauthorized"


def test_a_stale_if_match_is_version_conflict(client):
    client.post("/api/v1/memory", json={"user_id": 5, "content": "one"})
    response = client.post("/api/v1/memory", json={"user_id": 5, "content": "two", "expected_version": 9})
    assert response.status_code == 412
    assert _code(response) == "version_conflict"
    assert response.get_json()["current_version"] == 1


def test_a_save_while_memory_is_off_is_memory_disabled(client):
    client.put("/api/v1/memory/6/settings", json={"enabled": False})
    response = client.post("/api/v1/memory", json={"user_id": 6, "content": "x"})
    assert response.status_code == 409
    assert _code(response) == "memory_disabled"


def test_an_unknown_endpoint_is_not_found(client):
    assert _code(client.get("/api/v1/nowhere")) == "not_found"


def test_a_spent_limit_is_rate_limited(make_app, db):
    from tests.conftest import service_client

    limited = service_client(make_app(AURA_RATE_LIMIT_WRITE="1/minute"))
    limited.post("/api/v1/memory", json={"user_id": 7, "content": "x"})
    response = limited.post("/api/v1/memory", json={"user_id": 7, "content": "y"})
    assert response.status_code == 429
    assert _code(response) == "rate_limited"


def test_model_failures_say_which_failure(chat_client, fake_llm):
    fake_llm.script(Answer(status=400))
    response = chat_client.post("/api/v1/orcha/chat", json={"user_id": 1, "message": "hi"})
    assert (response.status_code, _code(response)) == (502, "model_error")
    fake_llm.script(Answer(delay=1.5))
    response = chat_client.post("/api/v1/orcha/chat", json={"user_id": 1, "message": "hi"})
    assert (response.status_code, _code(response)) == (504, "model_timeout")


def test_an_unreachable_model_is_model_unavailable(make_app, db):
    from tests.conftest import service_client
    from tests.processes import free_port

    app = make_app(
        AURA_LLM_BASE_URL=f"http://127.0.0.1:{free_port()}/v1",
        AURA_LLM_MODEL="m",
        AURA_LLM_MAX_RETRIES=0,
    )
    response = service_client(app).post("/api/v1/orcha/chat", json={"user_id": 1, "message": "hi"})
    assert (response.status_code, _code(response)) == (502, "model_unavailable")


def test_every_code_is_documented_in_the_openapi_document(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    description = spec["components"]["schemas"]["Error"]["properties"]["code"]["description"]
    for code in {*DEFAULT_CODES.values(), *ERROR_CODES}:
        assert f"`{code}`" in description
    assert "code" in spec["components"]["schemas"]["Error"]["required"]
