"""Errors under /v1/ in OpenAI's envelope and statuses, so the SDKs raise their typed errors
(BadRequestError, AuthenticationError, PermissionDeniedError, NotFoundError, RateLimitError...).

Every failure AURA already knows (auth, limits, validation, body size, the database, the model)
comes through the app's one error handler; only the shape differs. AURA's own statuses that
OpenAI does not use for a bad request (413, 415, 422) become 400, as OpenAI answers them.
"""

from __future__ import annotations

from typing import Any

from flask import Response, jsonify

from aura.llm.errors import LLMError
from aura.web.error_codes import DEFAULT_CODES

# AURA's status -> (OpenAI's status, error type)
_STATUS = {
    400: (400, "invalid_request_error"),
    401: (401, "authentication_error"),
    403: (403, "permission_error"),
    404: (404, "not_found_error"),
    405: (405, "invalid_request_error"),
    409: (409, "invalid_request_error"),
    413: (400, "invalid_request_error"),
    415: (400, "invalid_request_error"),
    422: (400, "invalid_request_error"),
    429: (429, "rate_limit_error"),
}
# AURA's codes that OpenAI's clients know under another name
_CODES = {"unauthorized": "invalid_api_key", "rate_limited": "rate_limit_exceeded"}
# A model server that refused the request itself (its tools, a field it does not know) blames
# the caller: 400, not a 502 saying AURA's model is broken.
CALLER_FAULTS = frozenset({400, 404, 413, 422})


def first_param(errors: dict) -> str | None:
    """The first invalid field as OpenAI names it: ``messages[0].role``."""
    path: list[str] = []
    node: Any = errors
    while isinstance(node, dict) and node:
        key = next(iter(node))
        path.append(f"[{key}]" if isinstance(key, int) or str(key).isdigit() else f".{key}")
        node = node[key]
    if len(path) > 1 and path[-1] in (".key", ".value"):  # marshmallow's Dict: the entry is the field
        path.pop()
    return "".join(path).lstrip(".") or None


def _detail(errors: dict) -> str:
    """The first field message, to make the one-line message specific."""
    node: Any = errors
    while isinstance(node, dict) and node:
        node = node[next(iter(node))]
    if isinstance(node, list) and node:
        node = node[0]
    return node if isinstance(node, str) else ""


def openai_error(
    status: int,
    message: str,
    errors: dict | None = None,
    headers: dict | None = None,
    code: str | None = None,
) -> Response:
    """The error as OpenAI sends it: {"error": {message, type, param, code}}."""
    errors = errors or {}
    code = code or DEFAULT_CODES.get(status)
    openai_status, kind = _STATUS.get(
        status, (status, "server_error" if status >= 500 else "invalid_request_error")
    )
    param = first_param(errors)
    detail = _detail(errors)
    if param and detail and detail not in message:
        message = f"{message} {param}: {detail}"
    response = jsonify(
        {"error": {"message": message, "type": kind, "param": param, "code": _CODES.get(code, code)}}
    )
    response.status_code = openai_status
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def model_failure(error: LLMError) -> Response:
    """A failed model call: the caller's fault when the model server refused the request as such,
    else 502/503/504 as on AURA's own chat (with Retry-After when it is worth waiting)."""
    headers = error.headers()
    if error.upstream_status in CALLER_FAULTS:
        return openai_error(400, error.message, headers=headers, code="upstream_rejected")
    return openai_error(error.status, error.message, headers=headers, code=error.code)
