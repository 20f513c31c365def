"""The machine-readable ``code`` of JSON errors: a stable name clients can switch on."""

from __future__ import annotations

# The machine-readable ``code`` of every JSON error, by status unless the raiser names a more
# precise one (e.g. memory_disabled, model_timeout): clients switch on it, not on messages.
DEFAULT_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    408: "request_timeout",
    409: "conflict",
    412: "version_conflict",
    413: "body_too_large",
    415: "unsupported_media_type",
    422: "validation_failed",
    429: "rate_limited",
    500: "internal_error",
    502: "model_error",
    503: "service_unavailable",
    504: "model_timeout",
}
# Every code a response can carry, for the OpenAPI document (the defaults plus the precise ones).
ERROR_CODES = {
    **{code: f"HTTP {status}" for status, code in DEFAULT_CODES.items()},
    "invalid_json": "400: the body is not JSON, or is nested too deeply",
    "memory_disabled": "409: memory is switched off for this user",
    "no_proposal": "404: the user has no pending proposal",
    "proposal_replaced": "409: that proposal is no longer the pending one (see pending_proposal_id)",
    "proposal_stale": "409: the memory changed since the proposal was made; consolidate again",
    "database_unavailable": "503: the database is down or saturated; retry shortly",
    "rate_limits_unavailable": "503: the shared rate-limit storage is unreachable; retry shortly",
    "identity_provider_unavailable": "503: user tokens cannot be verified right now; retry shortly",
    "model_not_configured": "503: no language model is configured",
    "model_rate_limited": "503: the language model is rate-limiting AURA (see Retry-After)",
    "model_unavailable": "502: the language model is unreachable",
    "model_bad_answer": "502: the model's answer was empty, unreadable or could not be made to fit",
}
