"""The Model Context Protocol's wire, as AURA serves it: stateless Streamable HTTP, both eras.

Handshake era (2025-06-18, 2025-11-25): ``initialize`` first, then plain JSON-RPC requests that
carry ``MCP-Protocol-Version`` as a header. 2026-07-28: no handshake; every request carries its
version, client info and capabilities in ``params._meta``, mirrors its method (and tool or
resource name) in headers, and may ask ``server/discover`` what the server speaks. AURA keeps no
session in either era, so any worker of any instance answers any message.

The official SDK's server is ASGI; AURA is a WSGI app on gevent, and the stateless subset it
needs is this module. The official clients are what proves it (tests/mcp).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

HANDSHAKE_VERSIONS = ("2025-06-18", "2025-11-25")
MODERN_VERSIONS = ("2026-07-28",)
SUPPORTED_VERSIONS = (*HANDSHAKE_VERSIONS, *MODERN_VERSIONS)
# A request without the header is 2025-03-26 by the spec; AURA answers it as the oldest it speaks.
DEFAULT_HANDSHAKE_VERSION = HANDSHAKE_VERSIONS[0]

META_VERSION = "io.modelcontextprotocol/protocolVersion"
META_CLIENT_INFO = "io.modelcontextprotocol/clientInfo"
META_CLIENT_CAPABILITIES = "io.modelcontextprotocol/clientCapabilities"
META_SERVER_INFO = "io.modelcontextprotocol/serverInfo"

VERSION_HEADER = "MCP-Protocol-Version"
METHOD_HEADER = "Mcp-Method"
NAME_HEADER = "Mcp-Name"
NAME_PARAMS = {"tools/call": "name", "resources/read": "uri"}  # mirrored in Mcp-Name

PARSE_ERROR = -32700
INVALID_REQUEST = -32600
METHOD_NOT_FOUND = -32601
INVALID_PARAMS = -32602
INTERNAL_ERROR = -32603
HEADER_MISMATCH = -32020
RESOURCE_NOT_FOUND = -32002
UNSUPPORTED_VERSION = -32022
# The HTTP status of an error answer (2026-07-28 fixes these; the handshake era answers 200
# once the message was read, 400 when it could not be).
HTTP_STATUS = {
    PARSE_ERROR: 400,
    INVALID_REQUEST: 400,
    INVALID_PARAMS: 400,
    HEADER_MISMATCH: 400,
    UNSUPPORTED_VERSION: 400,
    METHOD_NOT_FOUND: 404,
}


class ProtocolError(Exception):
    """A message AURA cannot serve: answered as a JSON-RPC error (never a 500)."""

    def __init__(
        self,
        code: int,
        message: str,
        data: Any = None,
        http_status: int | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.code, self.message, self.data = code, message, data
        self.http_status = http_status
        self.headers = headers or {}


@dataclass(frozen=True)
class Message:
    """One JSON-RPC request (``id`` set) or notification, with the era it speaks."""

    method: str
    params: dict[str, Any]
    id: str | int | None
    version: str
    modern: bool
    client_name: str = field(default="")

    @property
    def is_notification(self) -> bool:
        return self.id is None


def _no_constants(name: str) -> float:
    raise ValueError(f"{name} is not JSON")


def decode(body: bytes) -> dict[str, Any]:
    """The one JSON-RPC object in ``body``: a batch, which no version AURA speaks allows, or
    anything else is INVALID_REQUEST; text that is not JSON is PARSE_ERROR."""
    try:
        decoded = json.loads(body, parse_constant=_no_constants)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise ProtocolError(PARSE_ERROR, "The body is not JSON.") from None
    if isinstance(decoded, list):
        raise ProtocolError(INVALID_REQUEST, "Batches are not allowed: send one JSON-RPC message per POST.")
    if (
        not isinstance(decoded, dict)
        or decoded.get("jsonrpc") != "2.0"
        or not isinstance(decoded.get("method"), str)
    ):
        raise ProtocolError(
            INVALID_REQUEST, 'Send one JSON-RPC 2.0 request: {"jsonrpc": "2.0", "id", "method"}.'
        )
    if "id" in decoded and (isinstance(decoded["id"], bool) or not isinstance(decoded["id"], str | int)):
        raise ProtocolError(INVALID_REQUEST, "A request id is a string or an integer.")
    if not isinstance(decoded.get("params", {}), dict):
        raise ProtocolError(INVALID_REQUEST, "params must be an object.")
    return decoded


def _unsupported(requested: object) -> ProtocolError:
    return ProtocolError(
        UNSUPPORTED_VERSION,
        f"AURA does not speak MCP {requested!s}; it speaks {', '.join(SUPPORTED_VERSIONS)}.",
        {"supported": list(SUPPORTED_VERSIONS), "requested": requested},
    )


def _modern(decoded: dict, meta: dict, headers: Any) -> Message:
    """A 2026-07-28 request: its envelope complete and its headers agreeing with its body."""
    if missing := [key for key in (META_VERSION, META_CLIENT_CAPABILITIES) if key not in meta]:
        raise ProtocolError(INVALID_PARAMS, f"params._meta lacks {', '.join(missing)}.")
    version, method, params = meta[META_VERSION], decoded["method"], decoded.get("params") or {}
    if headers.get(VERSION_HEADER) != version:
        raise ProtocolError(HEADER_MISMATCH, f"The {VERSION_HEADER} header does not match params._meta.")
    if headers.get(METHOD_HEADER) != method:
        raise ProtocolError(HEADER_MISMATCH, f"The {METHOD_HEADER} header does not match the method.")
    named = NAME_PARAMS.get(method)
    if named and params.get(named) is not None and headers.get(NAME_HEADER) != params.get(named):
        raise ProtocolError(HEADER_MISMATCH, f"The {NAME_HEADER} header does not match params.{named}.")
    if version not in MODERN_VERSIONS:
        raise _unsupported(version)
    info = meta.get(META_CLIENT_INFO)
    name = info.get("name") if isinstance(info, dict) else None
    return Message(method, params, decoded.get("id"), version, True, name if isinstance(name, str) else "")


def classify(decoded: dict[str, Any], headers: Any) -> Message:
    """Which era ``decoded`` speaks, checked as that era asks (HEADER_MISMATCH, UNSUPPORTED_VERSION)."""
    params = decoded.get("params") or {}
    meta = params.get("_meta")
    header_version = headers.get(VERSION_HEADER)
    if (isinstance(meta, dict) and META_VERSION in meta) or header_version in MODERN_VERSIONS:
        return _modern(decoded, meta if isinstance(meta, dict) else {}, headers)
    if decoded["method"] == "initialize":
        requested = params.get("protocolVersion")
        version = requested if requested in HANDSHAKE_VERSIONS else HANDSHAKE_VERSIONS[-1]
        info = params.get("clientInfo")
        name = info.get("name") if isinstance(info, dict) and isinstance(info.get("name"), str) else ""
        return Message("initialize", params, decoded.get("id"), version, False, name)
    if header_version is not None and header_version not in HANDSHAKE_VERSIONS:
        raise _unsupported(header_version)
    return Message(
        decoded["method"], params, decoded.get("id"), header_version or DEFAULT_HANDSHAKE_VERSION, False
    )


# 2026-07-28 lets clients cache these answers; AURA's are per user and may change at any time.
CACHEABLE = {"server/discover", "tools/list", "resources/list", "resources/templates/list", "resources/read"}
NO_CACHE = {"cacheScope": "private", "ttlMs": 0}


def result_envelope(message: Message, result: dict[str, Any], server_info: dict) -> dict[str, Any]:
    """The JSON-RPC answer to ``message``; 2026-07-28 results say they are complete, whether they
    may be cached, and who answered."""
    if message.modern:
        caching = NO_CACHE if message.method in CACHEABLE else {}
        result = {**result, **caching, "resultType": "complete", "_meta": {META_SERVER_INFO: server_info}}
    return {"jsonrpc": "2.0", "id": message.id, "result": result}


def error_envelope(request_id: str | int | None, error: ProtocolError) -> dict[str, Any]:
    body: dict[str, Any] = {"code": error.code, "message": error.message}
    if error.data is not None:
        body["data"] = error.data
    return {"jsonrpc": "2.0", "id": request_id, "error": body}


def error_status(error: ProtocolError, modern: bool) -> int:
    """HTTP status of an error answer: the era's table, or what the error itself says (401, 413...)."""
    if error.http_status is not None:
        return error.http_status
    if modern or error.code in (PARSE_ERROR, INVALID_REQUEST, UNSUPPORTED_VERSION, HEADER_MISMATCH):
        return HTTP_STATUS.get(error.code, 200)
    return 200
