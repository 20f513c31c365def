"""Cross-origin access for the browser frontend: the JSON API only, for exactly the configured origins.

The frontend runs on another origin and sends bearer tokens (never cookies), so no credentials
mode is needed. Preflights are answered without authentication; admin pages never get CORS
headers, and an origin not on the list gets none either, so the browser blocks the call.
"""

from __future__ import annotations

import re

from flask import Flask
from flask_cors import CORS

API_RESOURCES = r"/api/*"
OPENAI_RESOURCES = r"/v1/*"  # the OpenAI-compatible endpoint (aura.openai_compat)
MCP_RESOURCES = r"/mcp"  # the MCP server (aura.mcp), for browser-based MCP clients
DISCOVERY_RESOURCES = r"/.well-known/oauth-protected-resource*"
MCP_REQUEST_HEADERS = ["Mcp-Protocol-Version", "Mcp-Method", "Mcp-Name", "Mcp-Session-Id", "X-Aura-User"]
API_METHODS = ["GET", "POST", "PUT", "DELETE"]
REQUEST_HEADERS = ["Authorization", "Content-Type", "If-Match", "X-Request-ID"]
# What frontend code may read from responses (beyond the CORS-safelisted ones).
EXPOSED_HEADERS = ["ETag", "Retry-After", "X-Request-ID", "Content-Disposition"]
PREFLIGHT_CACHE_SECONDS = 600
_ORIGIN = re.compile(r"https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?")


def parse_origins(raw: str) -> list[str]:
    """``https://app.example,http://127.0.0.1:5173`` -> exact origins; ``*``: any (not in production)."""
    origins = [origin.strip().rstrip("/") for origin in raw.split(",") if origin.strip()]
    for origin in origins:
        if origin != "*" and not _ORIGIN.fullmatch(origin):
            raise RuntimeError(
                f"AURA_CORS_ORIGINS: {origin!r} is not an origin; use scheme://host[:port], "
                "e.g. https://app.example.com (no path, comma-separated)"
            )
    return origins


def init_cors(app: Flask) -> None:
    origins = parse_origins(app.config["AURA_CORS_ORIGINS"])
    app.config["AURA_CORS_ORIGIN_LIST"] = origins
    if not origins:
        return  # same-origin only: no Access-Control-* header is ever sent
    CORS(
        app,
        # OpenAI's SDKs send headers of their own (X-Stainless-*, OpenAI-Organization...): any header
        # may come along on /v1/; credentials still only ever as a bearer token.
        resources={
            API_RESOURCES: {"origins": origins},
            OPENAI_RESOURCES: {"origins": origins, "allow_headers": "*"},
            MCP_RESOURCES: {
                "origins": origins,
                "allow_headers": REQUEST_HEADERS + MCP_REQUEST_HEADERS,
                # A client reads the 401's challenge to find the resource metadata.
                "expose_headers": [*EXPOSED_HEADERS, "WWW-Authenticate"],
            },
            DISCOVERY_RESOURCES: {"origins": origins},
        },
        methods=API_METHODS,
        allow_headers=REQUEST_HEADERS,
        expose_headers=EXPOSED_HEADERS,
        max_age=PREFLIGHT_CACHE_SECONDS,
        supports_credentials=False,
    )
