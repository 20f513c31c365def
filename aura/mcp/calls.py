"""Carrying out one tool call: arguments checked against the tool's schema, failures a model can act
on turned into ``isError`` results, every call counted by tool and outcome."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from prometheus_client import Counter

from aura.auth.tokens import Principal
from aura.mcp import service
from aura.memory.types import Actor, MemoryDisabled, VersionConflict
from aura.schemas import storable

TOOL_CALLS = Counter("aura_mcp_tool_calls_total", "MCP tool calls", ["tool", "outcome"])
MAX_CLIENT_NAME = 100


class ToolFailure(Exception):
    """A tool call AURA could not carry out, for a reason the model can act on (isError)."""

    def __init__(self, message: str, outcome: str) -> None:
        super().__init__(message)
        self.outcome = outcome


@dataclass(frozen=True)
class Caller:
    """Who calls a tool, for whom: the user whose memory it is, the token, the client's own name."""

    user_id: int
    principal: Principal
    client: str  # the MCP client's name, when it said it (clientInfo): any text the client chose

    @property
    def actor(self) -> Actor:
        return Actor(label=f"{self.principal.name} via MCP"[:120])

    def details(self, tool: str) -> dict:
        """Provenance kept with the revision: storable text only (PostgreSQL's JSON holds no NUL)."""
        return {"tool": tool, "client": storable(self.client)[:MAX_CLIENT_NAME] or None}


@dataclass(frozen=True)
class Tool:
    """One tool as tools/list shows it, and the handler that carries it out."""

    name: str
    title: str
    description: str
    input_schema: dict
    output_schema: dict
    annotations: dict
    run: Callable[[Caller, dict], dict]

    def definition(self) -> dict:
        return {
            "name": self.name,
            "title": self.title,
            "description": self.description,
            "inputSchema": self.input_schema,
            "outputSchema": self.output_schema,
            "annotations": {"title": self.title, **self.annotations},
        }


_JSON_TYPES = {"string": str, "integer": int}


def _checked(tool: Tool, arguments: Any) -> dict:
    """The arguments as the input schema states them, or ToolFailure naming what is wrong."""
    if not isinstance(arguments, dict):
        raise ToolFailure("arguments must be an object.", "invalid")
    properties = tool.input_schema["properties"]
    if unknown := sorted(set(arguments) - set(properties)):
        raise ToolFailure(
            f"Unknown argument(s): {', '.join(unknown)}. "
            f"{tool.name} takes {', '.join(properties) or 'no arguments'}.",
            "invalid",
        )
    for name in tool.input_schema["required"]:
        if name not in arguments:
            raise ToolFailure(f"{tool.name} needs {name}.", "invalid")
    for name, value in arguments.items():
        spec = properties[name]
        kind = _JSON_TYPES[spec["type"]]
        if isinstance(value, bool) or not isinstance(value, kind):
            raise ToolFailure(f"{name} must be a {spec['type']}.", "invalid")
        if kind is int and not spec.get("minimum", value) <= value <= spec.get("maximum", value):
            raise ToolFailure(
                f"{name} must be at least {spec.get('minimum')}"
                + (f" and at most {spec['maximum']}." if "maximum" in spec else "."),
                "invalid",
            )
    return arguments


def _failure_of(error: Exception) -> ToolFailure:
    if isinstance(error, VersionConflict):
        now = error.current.version if error.current else 0
        return ToolFailure(
            f"The memory is at version {now}, not {error.expected}: someone changed it. Call get_memory, "
            f"redo your change on what it holds now, and pass expected_version {now}.",
            "conflict",
        )
    if isinstance(error, MemoryDisabled):
        return ToolFailure(
            "The user switched memory off, so nothing is stored or remembered. Do not retry; the user "
            "can switch it back on in the app.",
            "memory_disabled",
        )
    assert isinstance(error, service.Refused)
    return ToolFailure(str(error), "refused")


def call(tool: Tool, arguments: Any, caller: Caller) -> dict:
    """The tools/call result for a known tool: structured content and its JSON as text, or isError."""
    try:
        try:
            result = tool.run(caller, _checked(tool, arguments))
        except (VersionConflict, MemoryDisabled, service.Refused) as error:
            raise _failure_of(error) from None
    except ToolFailure as failure:
        TOOL_CALLS.labels(tool.name, failure.outcome).inc()
        return {"content": [{"type": "text", "text": str(failure)}], "isError": True}
    TOOL_CALLS.labels(tool.name, "ok").inc()
    text = json.dumps(result, ensure_ascii=False, indent=2)
    return {"content": [{"type": "text", "text": text}], "structuredContent": result, "isError": False}
