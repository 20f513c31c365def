"""Browsable API docs at /api/v1/docs: flask-smorest's Swagger UI page, with every file served here.

No CDN and no outside request: Swagger UI's scripts come from the swagger-ui-bundle package,
the page's start-up script from static/ (so the page keeps a strict CSP), and the online
spec validator Swagger UI would call is switched off.
"""

from __future__ import annotations

from flask import Blueprint, send_from_directory
from swagger_ui_bundle import swagger_ui_path

DOCS_PATH = "docs"  # under OPENAPI_URL_PREFIX: /api/v1/docs
ASSETS_URL = "/api/v1/docs/assets/"
ASSET_CACHE_SECONDS = 24 * 3600

bp = Blueprint("api_docs_assets", __name__, url_prefix=ASSETS_URL.rstrip("/"))

API_DESCRIPTION = """\
AURA stores one LLM-written memory per user and injects it into every chat turn.

**Authentication.** Every call sends `Authorization: Bearer <token>`: a *service token*
(acts for any user) or a *user token*, a JWT whose `sub` is the user id (may only act
for that user; 403 otherwise). Missing or invalid tokens get 401 with `WWW-Authenticate`.

**Errors** always have one shape, with field details where they apply:
`{"status": "error", "message": "...", "errors": {"field": ["..."]}}`.
400 malformed JSON or header, 404 unknown route or revision, 409 memory switched off,
412 stale `If-Match`, 413 body too large, 415 body not JSON, 422 validation,
429 rate limited (`Retry-After`), 502/504 the model failed or timed out, 503 the database
(or, for chat, the model) is unavailable.

**Limits.** Writes and chat turns are rate-limited per end user (a service token acting
for many users throttles none of them), with an overall ceiling per service token; failed
authentication is limited per client address. Bodies, memories and chat messages have
size limits, stated on each schema.

**Concurrency.** `GET` returns the memory's `version` and an `ETag`; a write with
`If-Match` (or `expected_version`) only happens if the memory is still at that version.
"""


@bp.route("/<path:filename>")
def asset(filename: str):
    """Swagger UI's own files, from the installed package (versioned with requirements.txt)."""
    return send_from_directory(swagger_ui_path, filename, max_age=ASSET_CACHE_SECONDS)
