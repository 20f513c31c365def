"""The identity provider's signing keys, per worker: cached, and fetched sparingly even when it fails.

PyJWKClient starts its refetch cooldown only after a *successful* fetch and holds one lock
over every lookup: against a failing provider each token with a made-up ``kid`` made a fetch
(40 tokens, 40 fetches), and against a slow one every request, cached keys included, queued
behind it. Here every fetch attempt, failed or not, starts the cooldown; one greenlet
fetches while the others use the keys already known (or wait for that one fetch, bounded by
its timeout); a failed refresh keeps the last good keys. PyJWKClient still does the fetch
itself (http(s) only, no redirects, its timeout) and PyJWT parses the keys.
"""

from __future__ import annotations

import logging
import math
import threading
import time

from jwt import PyJWK, PyJWKClient, PyJWKClientConnectionError, PyJWKClientError, PyJWKSet, PyJWTError

from aura.web.deadline import outside_request_deadline

log = logging.getLogger("aura.auth.jwks")


class KeySet:
    """Signing keys by ``kid``; ``key_for`` raises PyJWKClientError (a bad token) or
    PyJWKClientConnectionError (the provider could not be reached and no key is known)."""

    def __init__(self, url: str, lifespan: float, cooldown: float, timeout: float) -> None:
        self._fetcher = PyJWKClient(url, cache_jwk_set=False, timeout=timeout)
        self._lifespan = lifespan
        self._cooldown = cooldown
        self._timeout = timeout
        self._keys: dict[str, PyJWK] = {}
        self._fetched_at = -math.inf
        self._attempted_at = -math.inf
        self._fetching = threading.Lock()  # gevent-patched under gunicorn: it blocks a greenlet only

    def key_for(self, kid: str | None) -> PyJWK:
        if not kid:
            raise PyJWKClientError("The token names no key (kid).")
        now = time.monotonic()
        stale = now - self._fetched_at >= self._lifespan
        if (stale or kid not in self._keys) and now - self._attempted_at >= self._cooldown:
            self._refresh()
        key = self._keys.get(kid)
        if key is not None:
            return key
        if not self._keys:
            raise PyJWKClientConnectionError("The identity provider's keys could not be fetched.")
        raise PyJWKClientError(f"No signing key {kid!r} in the identity provider's key set.")

    def _refresh(self) -> None:
        if not self._fetching.acquire(blocking=False):
            # Another greenlet is fetching: wait for its result (bounded), never fetch twice.
            if self._fetching.acquire(timeout=self._timeout + 1):
                self._fetching.release()
            return
        try:
            self._attempted_at = time.monotonic()
            with outside_request_deadline():  # the provider's wait is not the database's
                data = self._fetcher.fetch_data()
            keys = PyJWKSet.from_dict(data).keys
            self._keys = {k.key_id: k for k in keys if k.key_id and k.public_key_use in ("sig", None)}
            self._fetched_at = time.monotonic()
        except PyJWTError as error:
            known = f"keeping the {len(self._keys)} keys known" if self._keys else "no keys known"
            log.warning("JWKS fetch failed (%s; %s); next attempt in %g s", error, known, self._cooldown)
        finally:
            self._fetching.release()
