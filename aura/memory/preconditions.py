"""Optimistic concurrency for memory writes: the version goes out as an ETag and comes back
as If-Match (or ``expected_version`` in the body), so no writer silently overwrites another.

Writes without either keep last-write-wins, which is what the frontend's saveMemory() relies on.
"""

from __future__ import annotations

import re

from flask import request
from werkzeug.exceptions import BadRequest, HTTPException, UnprocessableEntity

from aura.errors import error_response
from aura.memory.service import VersionConflict
from aura.schemas import MAX_VERSION

# One strong ETag as GET sends it ("3"); the quotes may be left out by hand-written clients.
_IF_MATCH = re.compile(r'"?([1-9][0-9]{0,9})"?')
IF_MATCH_PATTERN = r'^"?[1-9][0-9]{0,9}"?$'
IF_MATCH_PARAMETER = {
    "in": "header",
    "name": "If-Match",
    "required": False,
    "description": "The ETag of the memory this write is based on (from GET); 412 if it changed since.",
    "schema": {"type": "string", "pattern": IF_MATCH_PATTERN, "example": '"3"'},
}


def etag(version: int) -> str:
    return f'"{version}"'


def _refused(error_class: type[HTTPException], message: str, location: str, field: str, detail: str):
    """An HTTP error carrying field details the way webargs reports them (see aura.errors)."""
    error = error_class(message)
    error.data = {"message": message, "messages": {location: {field: [detail]}}}
    return error


def _if_match() -> int | None:
    raw = request.headers.get("If-Match")
    if raw is None:
        return None
    match = _IF_MATCH.fullmatch(raw.strip())
    if match is None or int(match.group(1)) > MAX_VERSION:
        raise _refused(
            BadRequest,
            'If-Match must be one ETag of this memory, as GET returned it (e.g. "3").',
            "headers",
            "If-Match",
            "Not an ETag AURA issued.",
        )
    return int(match.group(1))


def expected_version(body: dict) -> int | None:
    """The version a write requires, from If-Match or the body (they must agree); None: any."""
    from_header, from_body = _if_match(), body.get("expected_version")
    if from_header is not None and from_body is not None and from_header != from_body:
        raise _refused(
            UnprocessableEntity,
            "If-Match and expected_version name different versions.",
            "json",
            "expected_version",
            "Disagrees with If-Match.",
        )
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
