"""Rate limits that follow the end user, not the token: one noisy user never throttles everyone.

A write or chat through a service token counts against the user it acts for (key: service and
user id), a user token against its user; each service token also has an overall ceiling.
Failed authentication and staff logins count against the client address. Counters live in a
`limits` storage (memory:// per process, or Redis shared by every worker and instance).

AURA counts each limit where it applies, with the `limits` library directly: Flask-Limiter's
per-request hooks cost 60-100 us of every request's CPU (15% of a GET) for one decorated view.
"""

from __future__ import annotations

import math
import threading
import time

import redis
from cachetools import TTLCache
from flask import Flask, current_app, request
from limits import RateLimitItem, parse_many
from limits.errors import StorageError
from limits.storage import storage_from_string
from limits.strategies import STRATEGIES, RateLimiter
from werkzeug.exceptions import TooManyRequests

from aura.auth.tokens import Principal
from aura.web.errors import describe_driver_error

# Setting -> what it limits (also the order they are checked in config validation).
LIMIT_SETTINGS = {
    "AURA_RATE_LIMIT_WRITE": "memory writes per end user",
    "AURA_RATE_LIMIT_CHAT": "chat turns per end user",
    "AURA_RATE_LIMIT_CONSOLIDATE": "consolidations per end user",
    "AURA_RATE_LIMIT_SERVICE": "all writes and chat turns of one service token",
    "AURA_RATE_LIMIT_AUTH_FAILURES": "failed API authentications per client address",
    "AURA_RATE_LIMIT_LOGIN": "staff login attempts per client address",
}
_PARSED_KEY = "aura_rate_limits"
_LIMITER_KEY = "aura_limiter"
_CLEAN_KEY = "aura_clean_addresses"
_FALLBACK_KEY = "aura_local_limiter"

# An address found in good standing (not locked out for failed authentication) is remembered
# for a second, so its requests meanwhile cost no storage read: with Redis that read was a
# round trip on every API request and 20% of a GET's CPU. A failure seen by this process
# forgets the address at once; a lockout counted by another worker or instance reaches this
# one within the second (an address near its limit gets at most one more token checked here).
CLEAN_ADDRESS_SECONDS = 1.0
CLEAN_ADDRESSES_KEPT = 10_000


def parse_limit_settings(config: dict) -> dict[str, list[RateLimitItem]]:
    """Every limit setting parsed; a value that is not a limit refuses to start (never 'no limit')."""
    parsed = {}
    for setting, meaning in LIMIT_SETTINGS.items():
        raw = config[setting]
        try:
            parsed[setting] = parse_many(raw)
        except ValueError:
            parsed[setting] = []
        if not parsed[setting]:
            raise RuntimeError(
                f"{setting}={raw!r} is not a rate limit ({meaning}); use e.g. '120/minute' or "
                "'10/second;500/hour', or unset it for the default"
            )
    return parsed


def init_rate_limits(app: Flask) -> None:
    app.extensions[_PARSED_KEY] = parse_limit_settings(app.config)
    app.extensions[_CLEAN_KEY] = _CleanAddresses()
    # wrap_exceptions: an unreachable Redis raises limits' StorageError, which the API answers 503.
    uri = app.config["RATELIMIT_STORAGE_URI"]
    storage = storage_from_string(uri, wrap_exceptions=True, **redis_pool_options(uri, app.config))
    app.extensions[_LIMITER_KEY] = STRATEGIES[app.config["RATELIMIT_STRATEGY"]](storage)
    # Failed authentications are still counted, per process, while Redis is unreachable: reads
    # keep working without letting password-guessing through unlimited (aura.web.rate_limits).
    app.extensions[_FALLBACK_KEY] = STRATEGIES[app.config["RATELIMIT_STRATEGY"]](
        storage_from_string("memory://")
    )
    per_process = app.config["RATELIMIT_STORAGE_URI"].startswith("memory://")
    if app.config["ENV_NAME"] == "production" and per_process and app.config["AURA_WORKERS"] > 1:
        app.logger.warning(
            "rate limits are counted per process (AURA_RATELIMIT_STORAGE_URI=memory://) with several "
            "workers: each worker allows the full limit. Use redis://... to share them."
        )


def redis_pool_options(uri: str, config: dict) -> dict:
    """A bounded pool that makes a burst wait its turn instead of failing (Redis storages only).

    redis-py's default pool raises MaxConnectionsError at its 100th concurrent command, and a
    gevent worker takes 2,000 connections: a burst of streamed chats got 503s. A blocking pool
    of AURA_REDIS_MAX_CONNECTIONS per worker lets the rest wait up to AURA_REDIS_POOL_TIMEOUT
    for a connection (each command takes well under a millisecond), and keeps Redis's
    connection count at instances x workers x that size. Socket timeouts bound a hung Redis.
    """
    if not uri.startswith(("redis://", "rediss://")):
        return {}
    timeout = float(config["AURA_REDIS_TIMEOUT"])
    pool = redis.BlockingConnectionPool.from_url(
        uri,
        max_connections=int(config["AURA_REDIS_MAX_CONNECTIONS"]),
        timeout=float(config["AURA_REDIS_POOL_TIMEOUT"]),
        socket_timeout=timeout,
        socket_connect_timeout=timeout,
    )
    return {"connection_pool": pool}


def _limits(setting: str) -> list[RateLimitItem]:
    return current_app.extensions[_PARSED_KEY][setting]


def _limiter() -> RateLimiter:
    return current_app.extensions[_LIMITER_KEY]


def _hit(setting: str, key: str) -> None:
    """Count one request under ``key``; 429 with Retry-After once any of the setting's limits is spent."""
    for item in _limits(setting):
        if not _limiter().hit(item, key):
            raise _too_many(_limiter(), item, key)


def _too_many(limiter: RateLimiter, item: RateLimitItem, key: str) -> TooManyRequests:
    reset_at = limiter.get_window_stats(item, key).reset_time
    wait = max(1, math.ceil(reset_at - time.time()))
    return TooManyRequests(f"Rate limit of {item} exceeded; retry in {wait} s.", retry_after=wait)


_SCOPE_SETTINGS = {
    "write": "AURA_RATE_LIMIT_WRITE",
    "chat": "AURA_RATE_LIMIT_CHAT",
    "consolidate": "AURA_RATE_LIMIT_CONSOLIDATE",
}


def count_for_user(scope: str, principal: Principal, user_id: int) -> None:
    """Count a write, chat turn or consolidation (``scope``) against the end user, and a service
    token's ceiling."""
    setting = _SCOPE_SETTINGS[scope]
    if principal.kind == "service":
        _hit("AURA_RATE_LIMIT_SERVICE", principal.name)
        _hit(setting, f"{scope}:{principal.name}:user:{user_id}")
    else:
        _hit(setting, f"{scope}:{principal.name}")


class _CleanAddresses:
    """Per process: the addresses recently found not locked out (bounded, expiring)."""

    def __init__(self) -> None:
        self._seen: TTLCache[str, bool] = TTLCache(CLEAN_ADDRESSES_KEPT, CLEAN_ADDRESS_SECONDS)
        self._lock = threading.Lock()  # TTLCache is not thread-safe (gthread workers)

    def __contains__(self, key: str) -> bool:
        with self._lock:
            return key in self._seen

    def add(self, key: str) -> None:
        with self._lock:
            self._seen[key] = True

    def forget(self, key: str) -> None:
        with self._lock:
            self._seen.pop(key, None)


def count_login_attempt() -> None:
    """Every staff login attempt, right or wrong, counts: password guessing is slowed per address."""
    _hit("AURA_RATE_LIMIT_LOGIN", f"login:{request.remote_addr}")


def _auth_failure_key() -> str:
    return f"auth-failures:{request.remote_addr}"


def refuse_if_too_many_auth_failures() -> None:
    """Before checking a token: an address that keeps failing is told to wait (no token is checked).

    With Redis unreachable the address is checked against this process's own count instead:
    reads go on (writes and chat, whose per-user limits need the shared count, answer 503).
    """
    key = _auth_failure_key()
    clean = current_app.extensions[_CLEAN_KEY]
    if key in clean:
        return
    limiter = _limiter()
    try:
        _refuse_if_spent(limiter, key)
    except StorageError as error:
        _storage_down(error)
        _refuse_if_spent(current_app.extensions[_FALLBACK_KEY], key)
        return
    clean.add(key)


def _refuse_if_spent(limiter: RateLimiter, key: str) -> None:
    for item in _limits("AURA_RATE_LIMIT_AUTH_FAILURES"):
        if not limiter.test(item, key):
            raise _too_many(limiter, item, key)


def count_auth_failure() -> None:
    key = _auth_failure_key()
    current_app.extensions[_CLEAN_KEY].forget(key)
    # Counted in this process too, so a Redis outage starts from what this process has seen.
    for item in _limits("AURA_RATE_LIMIT_AUTH_FAILURES"):
        current_app.extensions[_FALLBACK_KEY].hit(item, key)
    try:
        for item in _limits("AURA_RATE_LIMIT_AUTH_FAILURES"):
            _limiter().hit(item, key)
    except StorageError as error:
        _storage_down(error)


_last_outage_log = 0.0
OUTAGE_LOG_SECONDS = 10.0


def _storage_down(error: StorageError) -> None:
    """Say so in the log, at most once per OUTAGE_LOG_SECONDS per process (not once per request)."""
    global _last_outage_log
    now = time.monotonic()
    if now - _last_outage_log >= OUTAGE_LOG_SECONDS:
        _last_outage_log = now
        current_app.logger.error(
            "rate-limit storage unavailable (%s): failed authentications counted per process, "
            "writes and chat refused (503) until it is back",
            describe_driver_error(error.storage_error),
        )


def storage_state() -> str:
    """'ok' or 'unavailable' for /readyz ('per-process' when limits are not shared at all)."""
    uri = current_app.config["RATELIMIT_STORAGE_URI"]
    if uri.startswith("memory://"):
        return "per-process"
    try:
        return "ok" if _limiter().storage.check() else "unavailable"
    except Exception:  # noqa: BLE001 - any failure to answer is "unavailable", never a failed probe
        return "unavailable"
