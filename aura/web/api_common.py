"""What every JSON endpoint shares: authentication, rate limits and their documented errors."""

from __future__ import annotations

from collections.abc import Callable

from flask import Flask, request
from flask_smorest import Api, Blueprint
from werkzeug.exceptions import Unauthorized

from aura.auth.tokens import Principal, authorize_user, require_api_auth
from aura.llm.errors import LLMError
from aura.schemas import MAX_USER_ID, USER_ID_STRING, PreconditionFailedSchema, UserId
from aura.web.errors import error_response
from aura.web.json_body import JsonBodyParser
from aura.web.rate_limits import count_auth_failure, count_for_user, refuse_if_too_many_auth_failures

ERROR_DESCRIPTIONS = {
    400: "Malformed JSON body or header",
    401: "Missing, invalid or expired bearer token",
    403: "The token may not access this user's data",
    404: "No such revision for this user",
    409: "Memory is switched off for this user: nothing was stored",
    412: "The memory is no longer at the version in If-Match / expected_version: nothing was written",
    413: "Request body too large",
    415: "The body is not JSON (send Content-Type: application/json)",
    422: "A field failed validation (errors names each field)",
    429: "Rate limit exceeded (see Retry-After)",
    503: "The database is unavailable; retry shortly",
}
# Errors whose body adds fields to the standard shape.
ERROR_SCHEMAS = {412: PreconditionFailedSchema}


def _authenticate() -> None:
    """before_request of every JSON blueprint: a valid bearer token, and few failures per address."""
    if request.method == "OPTIONS":
        return  # a CORS preflight carries no token by design; Flask-Cors answers it
    refuse_if_too_many_auth_failures()
    try:
        require_api_auth()
    except Unauthorized:
        count_auth_failure()
        raise


class ApiBlueprint(Blueprint):
    """flask-smorest's blueprint, building each argument schema once instead of once per request.

    webargs instantiates a schema *class* on every request, deep-copying its fields: 5% of a
    save's CPU in the profile. AURA's schemas keep no per-request state, so one instance serves.
    """

    def arguments(self, schema, **kwargs):
        return super().arguments(schema() if isinstance(schema, type) else schema, **kwargs)


def api_blueprint(name: str, import_name: str, url_prefix: str, description: str) -> Blueprint:
    """A flask-smorest blueprint whose every request must carry a valid bearer token."""
    blp = ApiBlueprint(name, import_name, url_prefix=url_prefix, description=description)
    blp.ARGUMENTS_PARSER = JsonBodyParser()  # before any view uses @blp.arguments
    blp.before_request(_authenticate)
    return blp


def authorize_write(user_id: int, scope: str = "write") -> Principal:
    """403 unless the caller may act for ``user_id``; then count the write (or ``scope``: a
    consolidation) against that user (429)."""
    principal = authorize_user(user_id)
    count_for_user(scope, principal, user_id)
    return principal


def model_error_response(error: LLMError):
    """A failed model call as the standard JSON error (502, 503 with Retry-After, or 504)."""
    return error_response(error.status, error.message, headers=error.headers(), code=error.code)


def authorize_chat(user_id: int) -> Principal:
    """Like authorize_write, against the user's chat limit."""
    principal = authorize_user(user_id)
    count_for_user("chat", principal, user_id)
    return principal


def documented_errors(
    blp: Blueprint, *codes: int, descriptions: dict[int, str] | None = None, schemas: dict | None = None
) -> Callable:
    """Document the error responses an endpoint can give (for OpenAPI and fuzzing).

    Every endpoint can answer 401 (no valid token), 429 (too many failed authentications from
    the address, or the caller's limits) and 503 (each one reads or writes the database).
    ``schemas``: error bodies of this endpoint that add fields to the standard shape.
    """
    described = {**ERROR_DESCRIPTIONS, **(descriptions or {})}
    shapes = {**ERROR_SCHEMAS, **(schemas or {})}

    def decorate(view: Callable) -> Callable:
        for code in sorted({401, 429, 503, *codes}):
            schema = shapes.get(code, "Error")
            view = blp.alt_response(code, description=described.get(code, ""), schema=schema)(view)
        return view

    return decorate


def _user_id_schema(converter, field, ret: dict, **_) -> dict:
    """apispec attribute function: UserId accepts an integer or a digit string, so say both."""
    if isinstance(field, UserId):
        for key in ("type", "minimum", "maximum", "format"):
            ret.pop(key, None)
        return {
            "oneOf": [
                {"type": "integer", "minimum": 1, "maximum": MAX_USER_ID},
                {"type": "string", "pattern": f"^{USER_ID_STRING.pattern}$"},
            ]
        }
    return {}


# (component, property, keyword, config key): limits that are set at run time, so the
# document always states the limits of the running server.
RUNTIME_LIMITS = [
    ("MemorySave", "content", "maxLength", "AURA_MAX_MEMORY_CHARS"),
    ("ChatRequest", "message", "maxLength", "AURA_CHAT_MAX_MESSAGE_CHARS"),
    ("ChatRequest", "history", "maxItems", "AURA_CHAT_MAX_HISTORY_TURNS"),
    ("Turn", "content", "maxLength", "AURA_CHAT_MAX_MESSAGE_CHARS"),
    ("Consolidate", "messages", "maxItems", "AURA_CONSOLIDATION_MAX_TURNS"),
]


def init_api_docs(api: Api, app: Flask) -> None:
    """Teach the OpenAPI generator our custom field and the bearer scheme (before blueprints)."""
    api.ma_plugin.converter.add_attribute_function(_user_id_schema)
    api.spec.components.security_scheme(
        "bearerAuth", {"type": "http", "scheme": "bearer", "description": "Service token or user JWT"}
    )


def document_runtime_limits(api: Api, app: Flask) -> None:
    """Write the configured limits into the schemas (after blueprints registered them)."""
    schemas = api.spec.components.schemas
    for component, prop, keyword, config_key in RUNTIME_LIMITS:
        schemas[component]["properties"][prop][keyword] = app.config[config_key]
