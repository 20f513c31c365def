"""Optimistic concurrency for memory writes: the version goes out as an ETag and comes back
as If-Match (or ``expected_version`` in the body), so no writer silently overwrites another.

Writes without either keep last-write-wins, which is what the frontend's saveMemory() relies on.
"""

from __future__ import annotations

import re

from werkzeug.exceptions import BadRequest, HTTPException

from aura.memory.service import get_memory
from aura.memory.types import VersionConflict
from aura.schemas import IF_MATCH_PATTERN
from aura.web.errors import error_response

_IF_MATCH = re.compile(IF_MATCH_PATTERN)


def etag(version: int) -> str:
    return f'"{version}"'


def _refused(error_class: type[HTTPException], message: str, location: str, field: str, detail: str):
    """An HTTP error carrying field details the way webargs reports them (see aura.web.errors)."""
    error = error_class(message)
    error.data = {"message": message, "messages": {location: {field: [detail]}}}
    return error


def _if_match(raw: str | None) -> int | None:
    if raw is None:
        return None
    match = _IF_MATCH.fullmatch(raw.strip())
    if match is None:
        raise _refused(
            BadRequest,
            'If-Match must be one ETag of this memory, as GET returned it (e.g. "3").',
            "headers",
            "If-Match",
            "Not an ETag AURA issued.",
        )
    return int(match.group(1).strip('"'))


def expected_version(user_id: int, body: dict, if_match: str | None) -> int | None:
    """The version a write requires, from If-Match and/or the body; None: any (last write wins).

    Sent together, both conditions must hold: if they name different versions at least one
    fails, so the write is refused (412) like any other stale write.
    """
    from_header, from_body = _if_match(if_match), body.get("expected_version")
    if from_header is not None and from_body is not None and from_header != from_body:
        current = get_memory(user_id)
        failing = from_body if (current.version if current else 0) == from_header else from_header
        raise VersionConflict(failing, current)
    return from_header if from_header is not None else from_body


def precondition_failed(conflict: VersionConflict):
    """412 with the version the memory is at now (and its ETag), so the client can re-read and retry."""
    current = conflict.current
    wanted = "no memory" if conflict.expected == 0 else f"version {conflict.expected}"
    now = "it has none now" if current is None else f"it is at version {current.version} now"
    return error_response(
        412,
        f"The memory changed since you read it: expected {wanted}, but {now}. "
        "Read it again, then retry. Nothing was written.",
        {"version": [f"Expected {wanted}."]},
        headers={"ETag": etag(current.version)} if current else None,
        extra={"current_version": current.version if current else None},
    )
