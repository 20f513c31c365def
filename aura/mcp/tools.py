"""AURA's MCP tools and resource: what an agent sees (schemas written for a model) and what each does.

Each handler gets checked arguments and the caller, and returns the structured result; aura.mcp.calls
turns what it raises into an ``isError`` result.
"""

from __future__ import annotations

from marshmallow import ValidationError
from werkzeug.exceptions import TooManyRequests

from aura.mcp import service
from aura.mcp.calls import Caller, Tool, ToolFailure
from aura.memory.service import get_memory, list_revisions
from aura.memory.types import Memory
from aura.schemas import MAX_VERSION, validate_memory_content
from aura.web.rate_limits import count_for_user

HISTORY_PAGE_SIZE = 10
MAX_PAGE = 100_000  # past every revision AURA keeps (AURA_MAX_REVISIONS); beyond, not a database integer
MEMORY_URI = "aura://memory"


def _memory(memory: Memory | None) -> dict | None:
    if memory is None:
        return None
    return {"content": memory.content, "version": memory.version, "updated_at": memory.updated_at.isoformat()}


_MEMORY_SCHEMA = {
    "type": ["object", "null"],
    "description": "The memory, or null when the user has none.",
    "properties": {
        "content": {"type": "string", "description": "One fact per line."},
        "version": {"type": "integer", "description": "Pass as expected_version to update_memory."},
        "updated_at": {"type": "string", "format": "date-time"},
    },
    "required": ["content", "version", "updated_at"],
}


def _object(properties: dict, required: tuple[str, ...] = ()) -> dict:
    return {
        "type": "object",
        "properties": properties,
        "required": list(required),
        "additionalProperties": False,
    }


def _get_memory(caller: Caller, _: dict) -> dict:
    return {"memory": _memory(get_memory(caller.user_id))}


def _count_write(caller: Caller) -> None:
    try:
        count_for_user("write", caller.principal, caller.user_id)
    except TooManyRequests as limited:
        raise ToolFailure(
            f"{limited.description} Writes to this memory are rate-limited.", "rate_limited"
        ) from None


def _remember(caller: Caller, arguments: dict) -> dict:
    _count_write(caller)
    done = service.remember(caller.user_id, arguments["fact"], caller.actor, caller.details("remember"))
    if done.proposal is not None:
        status, message = "held_for_review", "Held for review: the user or staff will accept or reject it."
    elif done.added:
        status, message = "added", "Added to the memory."
    else:
        status, message = "already_known", "The memory already holds this fact; nothing changed."
    return {"status": status, "message": message, "memory": _memory(done.memory)}


def _update_memory(caller: Caller, arguments: dict) -> dict:
    try:
        validate_memory_content(arguments["content"])
    except ValidationError as invalid:
        raise ToolFailure(" ".join(map(str, invalid.messages)), "invalid") from None
    _count_write(caller)
    done = service.update_memory(
        caller.user_id,
        arguments["content"],
        arguments["expected_version"],
        caller.actor,
        caller.details("update_memory"),
    )
    return {"memory": _memory(done.memory), "credentials_removed": done.credentials_removed}


def _history(caller: Caller, arguments: dict) -> dict:
    page = list_revisions(caller.user_id, page=arguments.get("page", 1), per_page=HISTORY_PAGE_SIZE)
    revisions = [
        {
            "number": r.number,
            "content": r.content,
            "source": r.source,
            "actor": r.actor,
            "created_at": r.created_at.isoformat(),
        }
        for r in page.items
    ]
    return {"revisions": revisions, "page": page.page, "pages": page.pages, "total": page.total}


_REVISION = _object(
    {
        "number": {"type": "integer"},
        "content": {"type": "string"},
        "source": {"type": "string", "description": "frontend, staff, restore, consolidation or mcp"},
        "actor": {"type": ["string", "null"]},
        "created_at": {"type": "string", "format": "date-time"},
    },
    ("number", "content", "source", "created_at"),
)
TOOLS = {
    tool.name: tool
    for tool in (
        Tool(
            "get_memory",
            "Read the user's memory",
            "What AURA remembers about the user: one fact per line, and the version to pass to "
            "update_memory. Read it before changing it. memory is null when nothing is remembered yet.",
            _object({}),
            _object({"memory": _MEMORY_SCHEMA}, ("memory",)),
            {"readOnlyHint": True, "destructiveHint": False, "idempotentHint": True, "openWorldHint": False},
            _get_memory,
        ),
        Tool(
            "remember",
            "Remember a fact about the user",
            "Add one lasting fact about the user (a preference, a circumstance, a plan) as a new line "
            "of their memory, e.g. 'Allergic to peanuts.'. One fact per call, in the third person, "
            "no secrets: credentials are refused. A fact already remembered is not added twice. Where "
            "the user's memory is reviewed, the fact waits for approval (status held_for_review).",
            _object(
                {"fact": {"type": "string", "minLength": 1, "maxLength": service.MAX_FACT_CHARS}},
                ("fact",),
            ),
            _object(
                {
                    "status": {"type": "string", "enum": ["added", "already_known", "held_for_review"]},
                    "message": {"type": "string"},
                    "memory": _MEMORY_SCHEMA,
                },
                ("status", "message", "memory"),
            ),
            {"readOnlyHint": False, "destructiveHint": False, "idempotentHint": True, "openWorldHint": False},
            _remember,
        ),
        Tool(
            "update_memory",
            "Rewrite the user's memory",
            "Replace the whole memory with new text (one fact per line): to correct, condense or "
            "remove facts. Pass the version get_memory returned as expected_version (0 if there is "
            "no memory yet); if the memory changed since, nothing is written and the error names the "
            "current version: read it again and redo the change. Credentials are removed.",
            _object(
                {
                    "content": {"type": "string", "minLength": 1},
                    "expected_version": {"type": "integer", "minimum": 0, "maximum": MAX_VERSION},
                },
                ("content", "expected_version"),
            ),
            _object(
                {"memory": _MEMORY_SCHEMA, "credentials_removed": {"type": "boolean"}},
                ("memory", "credentials_removed"),
            ),
            {"readOnlyHint": False, "destructiveHint": True, "idempotentHint": True, "openWorldHint": False},
            _update_memory,
        ),
        Tool(
            "memory_history",
            "List earlier versions of the memory",
            f"Every text the memory has held, newest first, {HISTORY_PAGE_SIZE} per page, with who "
            "wrote each (frontend, staff, restore, consolidation, mcp).",
            _object({"page": {"type": "integer", "minimum": 1, "maximum": MAX_PAGE, "default": 1}}),
            _object(
                {
                    "revisions": {"type": "array", "items": _REVISION},
                    "page": {"type": "integer"},
                    "pages": {"type": "integer"},
                    "total": {"type": "integer"},
                },
                ("revisions", "page", "pages", "total"),
            ),
            {"readOnlyHint": True, "destructiveHint": False, "idempotentHint": True, "openWorldHint": False},
            _history,
        ),
    )
}


def memory_resource() -> dict:
    return {
        "uri": MEMORY_URI,
        "name": "memory",
        "title": "The user's memory",
        "description": "What AURA remembers about the user, one fact per line (empty when nothing yet).",
        "mimeType": "text/plain",
    }


def read_memory_resource(user_id: int) -> dict:
    memory = get_memory(user_id)
    return {
        "contents": [{"uri": MEMORY_URI, "mimeType": "text/plain", "text": memory.content if memory else ""}]
    }
