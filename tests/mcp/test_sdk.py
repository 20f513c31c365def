"""The official MCP Python SDK against AURA on gunicorn with two workers: both generations of the
protocol, every tool, the resource, and the house rules (confinement, versions, the memory
switch, review mode, OAuth discovery, Origin)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from mcp.shared.exceptions import MCPError

from tests.conftest import SERVICE_TOKEN
from tests.mcp.conftest import MODES, mcp_client, run


def _text(result) -> str:
    return " ".join(part.text for part in result.content)


@pytest.mark.parametrize("mode", MODES)
def test_an_agent_connects_in_either_generation_and_sees_the_tools(aura, mode):
    async def body():
        async with mcp_client(aura.url, user=7, mode=mode) as client:
            listed = await client.list_tools()
            return client.protocol_version, client.server_info, {tool.name: tool for tool in listed.tools}

    version, info, tools = run(body)
    assert version == ("2025-11-25" if mode == "legacy" else "2026-07-28")
    assert info.name == "aura"
    assert set(tools) == {"get_memory", "remember", "update_memory", "memory_history"}
    for tool in tools.values():
        assert tool.title and tool.description and tool.output_schema["type"] == "object"
        assert tool.input_schema["type"] == "object"
    assert tools["get_memory"].annotations.read_only_hint is True
    assert tools["update_memory"].annotations.destructive_hint is True
    assert tools["remember"].annotations.read_only_hint is False
    assert tools["remember"].annotations.destructive_hint is False
    assert tools["remember"].input_schema["required"] == ["fact"]


@pytest.mark.parametrize("mode", MODES)
def test_remember_adds_a_line_once_and_get_memory_reads_it(aura, rest, mode):
    rest.post("/api/v1/memory", json={"user_id": 7, "content": "Lives in Porto."}).raise_for_status()

    async def body():
        async with mcp_client(aura.url, user=7, mode=mode) as client:
            added = await client.call_tool("remember", {"fact": "Allergic to peanuts."})
            again = await client.call_tool("remember", {"fact": "allergic to  peanuts"})
            read = await client.call_tool("get_memory", {})
            return added, again, read

    added, again, read = run(body)
    assert added.is_error is False and added.structured_content["status"] == "added"
    assert again.structured_content["status"] == "already_known"
    assert read.structured_content["memory"]["content"] == "Lives in Porto.\nAllergic to peanuts."
    assert read.structured_content["memory"]["version"] == 2
    revisions = rest.get("/api/v1/memory/7/revisions").json()["revisions"]
    assert [(r["source"], r["actor"]) for r in revisions] == [
        ("mcp", "service:tests via MCP"),
        ("frontend", "service:tests"),
    ]
    assert revisions[0]["details"]["tool"] == "remember"


@pytest.mark.parametrize("mode", MODES)
def test_a_stale_version_is_a_tool_error_naming_the_current_one(aura, rest, mode):
    rest.post("/api/v1/memory", json={"user_id": 8, "content": "Likes tea."}).raise_for_status()
    rest.post("/api/v1/memory", json={"user_id": 8, "content": "Likes green tea."}).raise_for_status()

    async def body():
        async with mcp_client(aura.url, user=8, mode=mode) as client:
            stale = await client.call_tool(
                "update_memory", {"content": "Likes coffee.", "expected_version": 1}
            )
            fresh = await client.call_tool(
                "update_memory", {"content": "Likes coffee.", "expected_version": 2}
            )
            return stale, fresh

    stale, fresh = run(body)
    assert stale.is_error is True and "version 2" in _text(stale) and "get_memory" in _text(stale)
    assert fresh.is_error is False and fresh.structured_content["memory"]["version"] == 3
    assert rest.get("/api/v1/memory/8").json()["memory"]["content"] == "Likes coffee."


def test_invalid_input_is_a_tool_error_and_an_unknown_tool_a_protocol_error(aura):
    async def body():
        async with mcp_client(aura.url, user=9) as client:
            results = [
                await client.call_tool("remember", {}),
                await client.call_tool("remember", {"fact": "   "}),
                await client.call_tool("remember", {"fact": 42}),
                await client.call_tool("update_memory", {"content": "x", "expected_version": -1}),
                await client.call_tool("update_memory", {"content": "x\x00", "expected_version": 0}),
                await client.call_tool("memory_history", {"page": 0}),
                await client.call_tool("get_memory", {"user_id": 1}),
            ]
            with pytest.raises(MCPError) as unknown:
                await client.call_tool("forget_everything", {})
            return results, unknown.value

    results, unknown = run(body)
    assert all(result.is_error for result in results), [_text(r) for r in results]
    assert "fact" in _text(results[0]) and "user_id" in _text(results[6])
    assert unknown.code == -32602 and "get_memory" in unknown.error.message


def test_credentials_never_reach_the_memory(aura, rest):
    async def body():
        async with mcp_client(aura.url, user=10) as client:
            refused = await client.call_tool(
                "remember", {"fact": "My OpenAI key is sk-proj-4bXk29VnQp7LmZr8TqWs3YdE"}
            )
            replaced = await client.call_tool(
                "update_memory",
                {
                    "content": "Likes tea.\nGitHub token ghp_0123456789abcdefghijABCDEFGHIJ0123",
                    "expected_version": 0,
                },
            )
            return refused, replaced

    refused, replaced = run(body)
    assert refused.is_error is True and "credential" in _text(refused)
    assert replaced.structured_content["credentials_removed"] is True
    stored = rest.get("/api/v1/memory/10").json()["memory"]["content"]
    assert stored.startswith("Likes tea.") and "ghp_" not in stored


def test_a_switched_off_memory_is_a_tool_error_and_nothing_is_stored(aura, rest):
    rest.put("/api/v1/memory/11/settings", json={"enabled": False}).raise_for_status()

    async def body():
        async with mcp_client(aura.url, user=11) as client:
            return await client.call_tool("remember", {"fact": "Likes tea."})

    result = run(body)
    assert result.is_error is True and "switched memory off" in _text(result)
    assert rest.get("/api/v1/memory/11").json()["memory"] is None


def test_in_review_mode_a_fact_waits_as_a_proposal(aura, rest):
    rest.post("/api/v1/memory", json={"user_id": 12, "content": "Lives in Porto."}).raise_for_status()
    rest.put(
        "/api/v1/memory/12/settings", json={"enabled": True, "consolidation": "review"}
    ).raise_for_status()

    async def body():
        async with mcp_client(aura.url, user=12) as client:
            first = await client.call_tool("remember", {"fact": "Has a cat called Miso."})
            second = await client.call_tool("remember", {"fact": "Plays the cello."})
            return first, second

    first, second = run(body)
    assert first.structured_content["status"] == second.structured_content["status"] == "held_for_review"
    assert rest.get("/api/v1/memory/12").json()["memory"]["content"] == "Lives in Porto."
    proposal = rest.get("/api/v1/memory/12/proposal").json()["proposal"]
    assert proposal["content"] == "Lives in Porto.\nHas a cat called Miso.\nPlays the cello."  # one review
    assert proposal["source"] == "mcp" and proposal["reason"] == "review"
    accepted = rest.post("/api/v1/memory/12/proposal/accept", json={})
    assert accepted.status_code == 200, accepted.text
    assert rest.get("/api/v1/memory/12/revisions").json()["revisions"][0]["source"] == "mcp"


@pytest.mark.parametrize("mode", MODES)
def test_the_memory_resource_and_the_history(aura, rest, mode):
    for content in ("Likes tea.", "Likes tea.\nLives in Oslo."):
        rest.post("/api/v1/memory", json={"user_id": 13, "content": content}).raise_for_status()

    async def body():
        async with mcp_client(aura.url, user=13, mode=mode) as client:
            resources = await client.list_resources()
            read = await client.read_resource("aura://memory")
            history = await client.call_tool("memory_history", {})
            return resources, read, history

    resources, read, history = run(body)
    assert [str(r.uri) for r in resources.resources] == ["aura://memory"]
    assert read.contents[0].text == "Likes tea.\nLives in Oslo."
    assert [r["content"] for r in history.structured_content["revisions"]] == [
        "Likes tea.\nLives in Oslo.",
        "Likes tea.",
    ]
    assert history.structured_content["total"] == 2


def test_a_user_token_acts_for_its_own_user_only(aura, rest, user_token):
    rest.post("/api/v1/memory", json={"user_id": 14, "content": "Likes tea."}).raise_for_status()

    async def own():
        async with mcp_client(aura.url, token=user_token(14)) as client:
            return await client.call_tool("get_memory", {})

    async def other():
        async with mcp_client(aura.url, token=user_token(14), user=15) as client:
            return await client.call_tool("get_memory", {})

    assert run(own).structured_content["memory"]["content"] == "Likes tea."
    with pytest.raises(Exception) as refused:  # noqa: PT011 - the SDK's connect fails, whatever it wraps
        run(other)
    assert "403" in repr(refused.value) or "own user" in repr(refused.value)


@pytest.mark.parametrize("mode", MODES)
def test_a_connection_is_served_by_whichever_worker_takes_each_message(aura, mode):
    user = 900 if mode == "legacy" else 901

    async def body():
        async with mcp_client(aura.url, user=user, mode=mode) as client:
            statuses = [
                (await client.call_tool("remember", {"fact": f"Fact number {n}."})).structured_content[
                    "status"
                ]
                for n in range(12)
            ]
            read = await client.call_tool("get_memory", {})
            history = await client.call_tool("memory_history", {"page": 2})
            return statuses, read.structured_content["memory"], history.structured_content

    statuses, memory, history = run(body)
    assert statuses == ["added"] * 12
    assert memory["version"] == 12 and memory["content"].splitlines()[-1] == "Fact number 11."
    assert history["total"] == 12 and history["pages"] == 2 and len(history["revisions"]) == 2


def test_a_service_token_without_the_user_header_cannot_connect(aura):
    async def body():
        async with mcp_client(aura.url) as client:
            return await client.list_tools()

    with pytest.raises(Exception) as refused:  # noqa: PT011 - the SDK's connect fails, whatever it wraps
        run(body)
    assert "400" in repr(refused.value) or "X-Aura-User" in repr(refused.value)


def test_discovery_the_401_and_a_foreign_origin_over_the_wire(aura):
    message = {"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}}
    unauthenticated = httpx.post(f"{aura.url}/mcp", json=message)
    assert unauthenticated.status_code == 401
    metadata_url = f"{aura.url}/.well-known/oauth-protected-resource/mcp"
    assert f'resource_metadata="{metadata_url}"' in unauthenticated.headers["WWW-Authenticate"]
    document = httpx.get(metadata_url).json()
    assert document["resource"] == f"{aura.url}/mcp" and document["bearer_methods_supported"] == ["header"]
    headers = {"Authorization": f"Bearer {SERVICE_TOKEN}", "X-Aura-User": "5"}
    foreign = httpx.post(
        f"{aura.url}/mcp", json=message, headers={**headers, "Origin": "https://evil.example"}
    )
    assert foreign.status_code == 403 and foreign.json()["error"]["code"] == -32600
    own = httpx.post(f"{aura.url}/mcp", json=message, headers={**headers, "Origin": aura.url})
    assert own.status_code == 200 and own.json()["result"]["tools"]


def test_facts_remembered_at_the_same_moment_are_all_kept(aura, rest):
    """remember is a conditional write retried on a race: five agents at once, five lines, no loss."""
    facts = [f"Concurrent fact {n}." for n in range(5)]
    headers = {"Authorization": f"Bearer {SERVICE_TOKEN}", "X-Aura-User": "950"}

    def remember(fact: str) -> dict:
        call = {"name": "remember", "arguments": {"fact": fact}}
        message = {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": call}
        return httpx.post(f"{aura.url}/mcp", json=message, headers=headers, timeout=30).json()["result"]

    with ThreadPoolExecutor(len(facts)) as pool:
        results = list(pool.map(remember, facts))
    assert [r["structuredContent"]["status"] for r in results] == ["added"] * 5, results
    memory = rest.get("/api/v1/memory/950").json()["memory"]
    assert sorted(memory["content"].splitlines()) == facts and memory["version"] == 5
