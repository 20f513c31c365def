"""Answering one MCP message for one user: the methods AURA serves, in the era the message speaks."""

from __future__ import annotations

from functools import cache
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from aura.mcp import calls, protocol, tools
from aura.mcp.protocol import Message, ProtocolError

INSTRUCTIONS = (
    "AURA keeps one memory per user: short lasting facts, one per line. Call get_memory (or read "
    "aura://memory) before answering questions about the user; call remember for one new lasting fact; "
    "call update_memory with the version you read to correct or remove facts."
)
CAPABILITIES = {"tools": {"listChanged": False}, "resources": {"listChanged": False, "subscribe": False}}


@cache  # reading the installed package's metadata costs ~160 us: once per process, not per message
def server_info() -> dict[str, str]:
    try:
        own = version("aura")
    except PackageNotFoundError:  # run from a checkout, not installed
        own = "0"
    return {"name": "aura", "title": "AURA memory", "version": own}


def _initialize(message: Message) -> dict[str, Any]:
    return {
        "protocolVersion": message.version,
        "capabilities": CAPABILITIES,
        "serverInfo": server_info(),
        "instructions": INSTRUCTIONS,
    }


def _discover(_: Message) -> dict[str, Any]:
    return {
        "supportedVersions": list(protocol.MODERN_VERSIONS),
        "capabilities": CAPABILITIES,
        "instructions": INSTRUCTIONS,
    }


def _call_tool(message: Message, caller: calls.Caller) -> dict[str, Any]:
    name = message.params.get("name")
    if not isinstance(name, str) or name not in tools.TOOLS:
        raise ProtocolError(
            protocol.INVALID_PARAMS,
            f"No tool named {name!r}; tools/list names them: {', '.join(tools.TOOLS)}.",
        )
    return calls.call(tools.TOOLS[name], message.params.get("arguments") or {}, caller)


def _read_resource(message: Message, caller: calls.Caller) -> dict[str, Any]:
    uri = message.params.get("uri")
    if uri != tools.MEMORY_URI:
        why = f"No resource {uri!r}; AURA serves {tools.MEMORY_URI}."
        raise ProtocolError(protocol.RESOURCE_NOT_FOUND, why, {"uri": uri})
    return tools.read_memory_resource(caller.user_id)


def answer(message: Message, caller: calls.Caller) -> dict[str, Any]:
    """The result of ``message`` (a request), or ProtocolError."""
    method = message.method
    if method == "initialize" and not message.modern:
        return _initialize(message)
    if method == "server/discover" and message.modern:
        return _discover(message)
    if method == "ping" and not message.modern:
        return {}
    if method == "tools/list":
        return {"tools": [tool.definition() for tool in tools.TOOLS.values()]}
    if method == "tools/call":
        return _call_tool(message, caller)
    if method == "resources/list":
        return {"resources": [tools.memory_resource()]}
    if method == "resources/templates/list":
        return {"resourceTemplates": []}
    if method == "resources/read":
        return _read_resource(message, caller)
    raise ProtocolError(protocol.METHOD_NOT_FOUND, f"AURA's MCP server has no method {method!r}.")
