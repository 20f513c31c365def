"""POST /mcp: AURA as a remote MCP server (docs/mcp.md), and the OAuth discovery document clients read.

Stateless Streamable HTTP: every message is one POST answered at once (JSON, or one SSE event
where the client accepts only a stream), so any worker of any instance answers it. Tokens as on
every JSON route; a service token names the user in X-Aura-User. Every fault is a JSON-RPC
error, never a 500 or an HTML page.
"""

from __future__ import annotations

import json
from typing import Any

from flask import Flask, Response, current_app, g, request
from flask_smorest import Blueprint
from werkzeug.exceptions import Forbidden, TooManyRequests, Unauthorized

from aura.auth.tokens import USER_HEADER, Principal, authenticate_request, authorize_user
from aura.extensions import csrf
from aura.mcp import protocol
from aura.mcp.calls import Caller
from aura.mcp.dispatch import answer, server_info
from aura.mcp.protocol import ProtocolError
from aura.schemas import USER_ID_STRING
from aura.web.errors import register_error_format
from aura.web.rate_limits import count_auth_failure, refuse_if_too_many_auth_failures

blp = Blueprint(
    "mcp", __name__, description="Model Context Protocol: the user's memory as MCP tools (docs/mcp.md)"
)
csrf.exempt(blp)  # bearer tokens, not cookies
MAX_MESSAGE_BYTES = 256 * 1024
METADATA_PATH = "/.well-known/oauth-protected-resource"
JSONRPC_SCHEMA = {"type": "object", "description": "A JSON-RPC 2.0 response (see docs/mcp.md)"}
MESSAGE_SCHEMA = {
    "type": "object",
    "description": "One JSON-RPC 2.0 request (with id) or notification (without) of MCP",
    "properties": {
        "jsonrpc": {"type": "string", "enum": ["2.0"]},
        "id": {"oneOf": [{"type": "string"}, {"type": "integer"}]},
        "method": {"type": "string", "example": "tools/list"},
        "params": {"type": "object"},
    },
    "required": ["jsonrpc", "method"],
}
METADATA_SCHEMA = {
    "type": "object",
    "description": "OAuth 2.0 Protected Resource Metadata (RFC 9728)",
    "properties": {
        "resource": {"type": "string", "format": "uri"},
        "authorization_servers": {"type": "array", "items": {"type": "string"}},
        "bearer_methods_supported": {"type": "array", "items": {"type": "string"}},
        "resource_name": {"type": "string"},
        "resource_documentation": {"type": "string"},
    },
    "required": ["resource", "authorization_servers", "bearer_methods_supported"],
}


def init_mcp(app: Flask) -> None:
    """Every error under /mcp (the database down, a method not allowed...) as a JSON-RPC error."""
    register_error_format(app, "/mcp", _http_error)


def _http_error(status: int, message: str, _errors: dict, headers: dict, _code: str | None) -> Response:
    code = protocol.INTERNAL_ERROR if status >= 500 else protocol.INVALID_REQUEST
    return _rpc_response(protocol.error_envelope(None, ProtocolError(code, message)), status, headers)


def _rpc_response(payload: dict[str, Any] | None, status: int, headers: dict | None = None) -> Response:
    if payload is None:
        return Response(status=status, headers=headers)
    wants_stream = (
        "text/event-stream" in request.accept_mimetypes and not request.accept_mimetypes["application/json"]
    )
    if wants_stream and status == 200:
        data = f"event: message\ndata: {json.dumps(payload, separators=(',', ':'))}\n\n"
        return Response(data, status=200, headers=headers, mimetype="text/event-stream")
    return Response(json.dumps(payload), status=status, headers=headers, mimetype="application/json")


def _own_origin() -> str:
    """AURA's own scheme://host[:port] as this request reached it (behind trusted proxies, theirs)."""
    return request.host_url.rstrip("/")


def _metadata_url() -> str:
    return _own_origin() + METADATA_PATH + "/mcp"


def _check_origin() -> None:
    """DNS-rebinding protection: a browser page of a foreign origin may not drive /mcp."""
    origin = request.headers.get("Origin")
    if origin is None:
        return  # desktop clients and servers send none
    allowed = current_app.config["AURA_CORS_ORIGIN_LIST"]
    if origin.rstrip("/") != _own_origin() and origin.rstrip("/") not in allowed and "*" not in allowed:
        raise ProtocolError(
            protocol.INVALID_REQUEST, f"Origin {origin} may not use this MCP server.", http_status=403
        )


def _principal() -> Principal:
    try:
        refuse_if_too_many_auth_failures()
    except TooManyRequests as limited:
        raise ProtocolError(
            protocol.INVALID_REQUEST,
            limited.description,
            http_status=429,
            headers=dict(limited.get_headers()),
        ) from None
    try:
        g.principal = authenticate_request()
        return g.principal
    except Unauthorized as refused:
        count_auth_failure()
        challenge = f'Bearer realm="aura", resource_metadata="{_metadata_url()}"'
        if request.headers.get("Authorization"):
            challenge += ', error="invalid_token"'
        raise ProtocolError(
            protocol.INVALID_REQUEST,
            refused.description,
            http_status=401,
            headers={"WWW-Authenticate": challenge},
        ) from None


def _user_id(principal: Principal) -> int:
    """The user whose memory this session touches: a user token's own; a service token's X-Aura-User."""
    named = request.headers.get(USER_HEADER, "").strip()
    if named and not USER_ID_STRING.fullmatch(named):  # at most 18 digits: within MAX_USER_ID
        raise ProtocolError(
            protocol.INVALID_REQUEST, f"{USER_HEADER} must be a numeric user id.", http_status=400
        )
    if not named and principal.user_id is None:
        raise ProtocolError(
            protocol.INVALID_REQUEST,
            f"A service token acts for every user: name the user in the {USER_HEADER} header.",
            http_status=400,
        )
    user_id = int(named) if named else principal.user_id
    try:
        authorize_user(user_id)
    except Forbidden:
        raise ProtocolError(
            protocol.INVALID_REQUEST,
            f"This token may only use its own user's memory, not {USER_HEADER} {named}.",
            http_status=403,
        ) from None
    return user_id


@blp.route("/mcp", methods=["POST"])
@blp.doc(
    summary="One MCP message (Streamable HTTP, stateless)",
    description="A JSON-RPC 2.0 request or notification of the Model Context Protocol (2025-06-18, "
    "2025-11-25 or 2026-07-28), answered at once: tools get_memory, remember, update_memory, "
    "memory_history and the resource aura://memory. See docs/mcp.md.",
    requestBody={"required": True, "content": {"application/json": {"schema": MESSAGE_SCHEMA}}},
    parameters=[
        {
            "name": USER_HEADER,
            "in": "header",
            "required": False,
            "schema": {"type": "string", "pattern": "^" + USER_ID_STRING.pattern + "$"},
            "description": "With a service token: the user whose memory this is (required then)",
        }
    ],
    responses={
        "200": {
            "description": "The JSON-RPC response",
            "content": {"application/json": {"schema": JSONRPC_SCHEMA}},
        },
        "202": {"description": "A notification, accepted"},
        **{
            str(code): {"description": why, "content": {"application/json": {"schema": JSONRPC_SCHEMA}}}
            for code, why in (
                (400, "Malformed JSON-RPC, a batch, a header that disagrees with the body, no X-Aura-User"),
                (401, "No valid bearer token (WWW-Authenticate names the resource metadata)"),
                (403, "A foreign Origin, or a user token naming another user"),
                (404, "No such method"),
                (413, "Message too large"),
                (429, "Too many failed authentications from this address"),
                (503, "The database is unavailable; retry shortly"),
            )
        },
    },
)
def mcp_message():
    request_id = None
    modern = request.headers.get(protocol.VERSION_HEADER) in protocol.MODERN_VERSIONS
    try:
        _check_origin()
        principal = _principal()
        user_id = _user_id(principal)  # before a notification is accepted: it, too, acts for a user
        if (request.content_length or 0) > MAX_MESSAGE_BYTES:
            raise ProtocolError(
                protocol.INVALID_REQUEST, f"A message is at most {MAX_MESSAGE_BYTES} bytes.", http_status=413
            )
        decoded = protocol.decode(request.get_data(cache=False))
        request_id = decoded.get("id")
        message = protocol.classify(decoded, request.headers)
        modern = message.modern
        if message.is_notification:
            return _rpc_response(None, 202)
        caller = Caller(user_id, principal, message.client_name)
        result = answer(message, caller)
        return _rpc_response(protocol.result_envelope(message, result, server_info()), 200)
    except ProtocolError as error:
        status = protocol.error_status(error, modern)
        return _rpc_response(protocol.error_envelope(request_id, error), status, error.headers)


@blp.route(METADATA_PATH, methods=["GET"])
@blp.route(METADATA_PATH + "/mcp", methods=["GET"], endpoint="protected_resource_for_mcp")
@blp.doc(
    summary="OAuth 2.0 Protected Resource Metadata (RFC 9728) for /mcp",
    security=[],
    responses={
        "200": {"description": "The metadata", "content": {"application/json": {"schema": METADATA_SCHEMA}}}
    },
)
def protected_resource():
    """Where an MCP client learns which identity provider issues tokens for AURA."""
    issuer = current_app.config["AURA_JWT_ISSUER"]
    document = {
        "resource": _own_origin() + "/mcp",
        "authorization_servers": [issuer] if issuer else [],
        "bearer_methods_supported": ["header"],
        "resource_name": "AURA memory",
        "resource_documentation": _own_origin() + "/api/v1/docs",
    }
    return Response(
        json.dumps(document), mimetype="application/json", headers={"Cache-Control": "max-age=3600"}
    )
