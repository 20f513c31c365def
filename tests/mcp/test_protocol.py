"""/mcp on the wire: what an MCP client that does something wrong (or an attacker) gets back.

Every fault is a JSON-RPC error with the status its protocol version asks for, never a 500.
"""

from __future__ import annotations

import json
import time

import jwt
import pytest

from aura.mcp import protocol
from tests.conftest import AUTH

MODERN = "2026-07-28"
ENVELOPE = {
    protocol.META_VERSION: MODERN,
    protocol.META_CLIENT_CAPABILITIES: {},
    protocol.META_CLIENT_INFO: {"name": "probe", "version": "1"},
}


def _post(client, body, user: int | None = 5, **headers):
    sent = {**AUTH, "Content-Type": "application/json", **headers}
    if user is not None:
        sent["X-Aura-User"] = str(user)
    data = body if isinstance(body, str | bytes) else json.dumps(body)
    return client.post("/mcp", data=data, headers=sent)


def _request(method: str, params: dict | None = None, request_id: int | str = 1) -> dict:
    return {"jsonrpc": "2.0", "id": request_id, "method": method, "params": params or {}}


def _modern(method: str, params: dict | None = None, **headers) -> tuple[dict, dict]:
    body = _request(method, {**(params or {}), "_meta": dict(ENVELOPE)})  # a copy: tests change it
    sent = {"MCP-Protocol-Version": MODERN, "Mcp-Method": method, **headers}
    return body, sent


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ("{not json", 400, protocol.PARSE_ERROR),
        ('{"jsonrpc": "2.0", "id": 1, "method": "ping", "params": {"x": NaN}}', 400, protocol.PARSE_ERROR),
        ([_request("ping"), _request("ping", request_id=2)], 400, protocol.INVALID_REQUEST),  # a batch
        ({"jsonrpc": "1.0", "id": 1, "method": "ping"}, 400, protocol.INVALID_REQUEST),
        ({"jsonrpc": "2.0", "id": 1}, 400, protocol.INVALID_REQUEST),
        ({"jsonrpc": "2.0", "id": True, "method": "ping"}, 400, protocol.INVALID_REQUEST),
        ({"jsonrpc": "2.0", "id": 1, "method": "ping", "params": [1]}, 400, protocol.INVALID_REQUEST),
        ("[]", 400, protocol.INVALID_REQUEST),
        ("42", 400, protocol.INVALID_REQUEST),
    ],
    ids=[
        "not-json",
        "nan",
        "batch",
        "jsonrpc-1",
        "no-method",
        "bool-id",
        "list-params",
        "empty-batch",
        "number",
    ],
)
def test_malformed_messages_are_json_rpc_errors(client, body, status, code):
    response = _post(client, body)
    assert response.status_code == status
    answer = response.get_json()
    assert answer["jsonrpc"] == "2.0" and answer["error"]["code"] == code and answer["id"] is None


def test_an_unknown_method_is_method_not_found_in_both_generations(client):
    legacy = _post(client, _request("prompts/list"), **{"MCP-Protocol-Version": "2025-11-25"})
    assert legacy.status_code == 200 and legacy.get_json()["error"]["code"] == protocol.METHOD_NOT_FOUND
    body, headers = _modern("prompts/list")
    modern = _post(client, body, **headers)
    assert modern.status_code == 404 and modern.get_json()["error"]["code"] == protocol.METHOD_NOT_FOUND
    assert modern.get_json()["id"] == 1


def test_a_notification_is_accepted_without_a_body(client):
    response = _post(client, {"jsonrpc": "2.0", "method": "notifications/initialized"})
    assert response.status_code == 202 and response.data == b""


def test_initialize_answers_the_version_asked_for_or_the_newest(client):
    def negotiated(asked: str) -> str:
        params = {"protocolVersion": asked, "capabilities": {}, "clientInfo": {"name": "x", "version": "1"}}
        return _post(client, _request("initialize", params)).get_json()["result"]["protocolVersion"]

    assert negotiated("2025-06-18") == "2025-06-18"
    assert negotiated("2025-11-25") == "2025-11-25"
    assert negotiated("2024-11-05") == "2025-11-25"  # the client decides whether it can speak that


def test_server_discover_names_what_aura_speaks(client):
    body, headers = _modern("server/discover")
    result = _post(client, body, **headers).get_json()["result"]
    assert result["supportedVersions"] == [MODERN] and result["resultType"] == "complete"
    assert set(result["capabilities"]) == {"tools", "resources"}
    assert result["_meta"][protocol.META_SERVER_INFO]["name"] == "aura"


@pytest.mark.parametrize(
    ("headers", "fault"),
    [
        ({"MCP-Protocol-Version": "2025-11-25"}, "protocol-version"),
        ({"Mcp-Method": "tools/list"}, "method"),
        ({"Mcp-Name": "remember"}, "name"),
    ],
)
def test_a_modern_request_whose_headers_disagree_with_its_body_is_refused(client, headers, fault):
    body, sent = _modern("tools/call", {"name": "get_memory", "arguments": {}}, **{"Mcp-Name": "get_memory"})
    response = _post(client, body, **{**sent, **headers})
    assert response.status_code == 400 and response.get_json()["error"]["code"] == protocol.HEADER_MISMATCH


def test_an_unsupported_version_is_refused_naming_the_supported_ones(client):
    body, headers = _modern("tools/list")
    body["params"]["_meta"][protocol.META_VERSION] = "2099-01-01"
    response = _post(client, body, **{**headers, "MCP-Protocol-Version": "2099-01-01"})
    error = response.get_json()["error"]
    assert response.status_code == 400 and error["code"] == protocol.UNSUPPORTED_VERSION
    assert error["data"] == {"supported": list(protocol.SUPPORTED_VERSIONS), "requested": "2099-01-01"}
    legacy = _post(client, _request("tools/list"), **{"MCP-Protocol-Version": "1999-01-01"})
    assert legacy.status_code == 400 and legacy.get_json()["error"]["code"] == protocol.UNSUPPORTED_VERSION


def test_an_oversized_message_is_413(client):
    fact = "x" * (300 * 1024)
    response = _post(client, _request("tools/call", {"name": "remember", "arguments": {"fact": fact}}))
    assert response.status_code == 413 and response.get_json()["error"]["code"] == protocol.INVALID_REQUEST


def test_without_a_token_the_401_points_at_the_resource_metadata(anonymous):
    response = anonymous.post("/mcp", json=_request("initialize"))
    assert response.status_code == 401
    challenge = response.headers["WWW-Authenticate"]
    assert challenge.startswith("Bearer ")
    assert 'resource_metadata="http://localhost/.well-known/oauth-protected-resource/mcp"' in challenge
    bad = anonymous.post("/mcp", json=_request("initialize"), headers={"Authorization": "Bearer nope"})
    assert bad.status_code == 401 and 'error="invalid_token"' in bad.headers["WWW-Authenticate"]


@pytest.mark.parametrize(
    "path", ["/.well-known/oauth-protected-resource", "/.well-known/oauth-protected-resource/mcp"]
)
def test_the_protected_resource_metadata_names_the_identity_provider(make_app, db, path):
    app = make_app(AURA_JWT_ISSUER="https://id.example.com/")
    document = app.test_client().get(path, base_url="https://aura.example.com").get_json()
    assert document["resource"] == "https://aura.example.com/mcp"
    assert document["authorization_servers"] == ["https://id.example.com/"]
    assert document["bearer_methods_supported"] == ["header"]
    documentation = document["resource_documentation"]
    assert documentation == "https://aura.example.com/api/v1/docs"
    assert app.test_client().get(documentation.removeprefix("https://aura.example.com")).status_code == 200


def test_a_service_token_must_name_the_user(client):
    response = _post(client, _request("tools/list"), user=None)
    assert response.status_code == 400 and "X-Aura-User" in response.get_json()["error"]["message"]
    assert _post(client, _request("tools/list"), user="abc").status_code == 400  # type: ignore[arg-type]


@pytest.mark.parametrize("user", [None, "VU66s,p=Y", "0", "12345678901234567890"])
def test_a_notification_is_refused_like_a_request_when_the_user_is_not_named_rightly(client, user):
    """Found by schemathesis: a notification used to be accepted (202) before X-Aura-User was read."""
    notification = {"jsonrpc": "2.0", "method": "notifications/initialized"}
    response = _post(client, notification, user=user)
    assert response.status_code == 400 and "X-Aura-User" in response.get_json()["error"]["message"]


def test_a_notification_from_a_user_token_naming_another_user_is_refused(client, user_token):
    notification = {"jsonrpc": "2.0", "method": "notifications/initialized"}
    response = _post(client, notification, user=6, Authorization=f"Bearer {user_token(5)}")
    assert response.status_code == 403


def test_a_foreign_origin_is_refused_and_a_configured_one_served(make_app, db):
    client = make_app(AURA_CORS_ORIGINS="https://app.example").test_client()
    foreign = _post(client, _request("tools/list"), Origin="https://evil.example")
    assert foreign.status_code == 403 and foreign.get_json()["error"]["code"] == protocol.INVALID_REQUEST
    assert _post(client, _request("tools/list"), Origin="https://app.example").status_code == 200
    assert _post(client, _request("tools/list")).status_code == 200  # desktop clients send no Origin


def test_a_client_that_accepts_only_a_stream_gets_one_event(client):
    response = _post(client, _request("tools/list"), Accept="text/event-stream")
    assert response.mimetype == "text/event-stream"
    event = response.get_data(as_text=True)
    assert event.startswith("event: message\ndata: ") and event.endswith("\n\n")
    assert json.loads(event.split("data: ", 1)[1])["result"]["tools"]


def test_get_and_delete_are_405_since_no_session_is_kept(client):
    for method in (client.get, client.delete):
        response = method("/mcp", headers={**AUTH, "X-Aura-User": "5"})
        assert response.status_code == 405 and "POST" in response.headers["Allow"]
        assert response.get_json()["jsonrpc"] == "2.0"


def test_tool_calls_are_counted_by_tool_and_outcome(client):
    def counted(outcome: str) -> float:
        metrics = client.get("/metrics").get_data(as_text=True)
        line = f'aura_mcp_tool_calls_total{{outcome="{outcome}",tool="remember"}}'
        return next((float(row.split()[-1]) for row in metrics.splitlines() if row.startswith(line)), 0.0)

    before_ok, before_refused = counted("ok"), counted("refused")
    call = _request("tools/call", {"name": "remember", "arguments": {"fact": "Likes tea."}})
    assert _post(client, call).get_json()["result"]["isError"] is False
    secret = _request("tools/call", {"name": "remember", "arguments": {"fact": "password: hunter2hunter2"}})
    assert _post(client, secret).get_json()["result"]["isError"] is True
    assert counted("ok") == before_ok + 1 and counted("refused") == before_refused + 1


def test_writes_count_against_the_users_write_limit(make_app, db):
    client = make_app(AURA_RATE_LIMIT_WRITE="2/minute").test_client()
    results = [
        _post(
            client, _request("tools/call", {"name": "remember", "arguments": {"fact": f"Fact {n}."}}), user=77
        ).get_json()["result"]
        for n in range(3)
    ]
    assert [r["isError"] for r in results] == [False, False, True]
    assert "Rate limit" in results[2]["content"][0]["text"]


@pytest.mark.parametrize(
    ("params", "fault"),
    [
        ({"name": ["remember"]}, "error"),  # a name that is not a string
        ({"name": "update_memory", "arguments": {"content": "a\ud800b", "expected_version": 0}}, "tool"),
        ({"name": "remember", "arguments": {"fact": "\ud800\u200b \u00ad"}}, "tool"),  # nothing to remember
        ({"name": "memory_history", "arguments": {"page": 10**20}}, "tool"),  # past any database integer
        ({"name": "update_memory", "arguments": {"content": "x", "expected_version": 10**20}}, "tool"),
        ({"name": "remember", "arguments": ["Likes tea."]}, "tool"),
        ({"name": "remember", "arguments": {"fact": "Likes tea.", "fact2": "x"}}, "tool"),
        ({"name": "remember", "arguments": {"fact": True}}, "tool"),
    ],
    ids=["list-name", "surrogate", "no-letters", "huge-page", "huge-version", "list-args", "extra", "bool"],
)
def test_odd_arguments_are_answered_never_a_500_and_never_stored(client, params, fault):
    response = _post(client, _request("tools/call", params), user=31)
    assert response.status_code == 200
    answer = response.get_json()
    if fault == "error":
        assert answer["error"]["code"] == protocol.INVALID_PARAMS
    else:
        assert answer["result"]["isError"] is True and answer["result"]["content"][0]["text"]
    assert client.get("/api/v1/memory/31").get_json()["memory"] is None


def test_with_an_audience_set_a_token_issued_for_another_resource_is_refused(make_app, db):
    app = make_app(AURA_JWT_AUDIENCE="https://aura.example.com/mcp")
    client = app.test_client()

    def token(audience: str) -> str:
        now = int(time.time())
        claims = {"sub": "41", "iat": now, "exp": now + 600, "aud": audience}
        return jwt.encode(claims, app.config["AURA_JWT_SECRET"], algorithm="HS256")

    message = json.dumps(_request("tools/list"))
    for audience, status in (("https://other.example.com/api", 401), ("https://aura.example.com/mcp", 200)):
        response = client.post(
            "/mcp",
            data=message,
            headers={"Authorization": f"Bearer {token(audience)}", "Content-Type": "application/json"},
        )
        assert response.status_code == status, response.get_data(as_text=True)


def test_a_browser_client_on_a_configured_origin_may_call_mcp_and_read_the_challenge(make_app, db):
    client = make_app(AURA_CORS_ORIGINS="https://app.example").test_client()
    preflight = client.options(
        "/mcp",
        headers={
            "Origin": "https://app.example",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization,content-type,mcp-protocol-version,x-aura-user",
        },
    )
    assert preflight.status_code == 200
    assert preflight.headers["Access-Control-Allow-Origin"] == "https://app.example"
    allowed = set(preflight.headers["Access-Control-Allow-Headers"].lower().split(", "))
    assert {"mcp-protocol-version", "x-aura-user", "authorization"} <= allowed
    denied = client.post("/mcp", json=_request("tools/list"), headers={"Origin": "https://app.example"})
    assert denied.status_code == 401
    assert "WWW-Authenticate" in denied.headers["Access-Control-Expose-Headers"]
    evil = client.options(
        "/mcp", headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"}
    )
    assert "Access-Control-Allow-Origin" not in evil.headers


def test_a_client_name_of_any_text_is_kept_storable_and_short(client):
    envelope = {**ENVELOPE, protocol.META_CLIENT_INFO: {"name": "agent\x00" + "x" * 500, "version": "1"}}
    params = {"name": "remember", "arguments": {"fact": "Likes tea."}, "_meta": envelope}
    headers = {"MCP-Protocol-Version": MODERN, "Mcp-Method": "tools/call", "Mcp-Name": "remember"}
    response = _post(client, _request("tools/call", params), user=32, **headers)
    assert response.status_code == 200 and response.get_json()["result"]["isError"] is False
    details = client.get("/api/v1/memory/32/revisions").get_json()["revisions"][0]["details"]
    assert details["client"] == "agent" + "x" * 95
