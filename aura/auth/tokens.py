"""API authentication: service tokens act for any user, user tokens (JWT) only for their own id.

Secrets are compared in constant time and never logged. A development switch can turn checks
off for local use; it is off by default and refused in production.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import Any

import jwt
from flask import Flask, current_app, g, request
from jwt import PyJWKClientConnectionError, PyJWKClientError
from werkzeug.datastructures import WWWAuthenticate
from werkzeug.exceptions import Forbidden, ServiceUnavailable, Unauthorized

from aura.auth.jwks import KeySet
from aura.schemas import USER_ID_STRING
from aura.web.errors import with_code

JWKS_EXTENSION = "aura_jwks"
# Where a service token names the user it acts for: a gateway in front of /v1 (LiteLLM, an API
# gateway) or an agent server using /mcp.
USER_HEADER = "X-Aura-User"


@dataclass(frozen=True)
class Principal:
    """Who is calling: a named service, one user, or (dev switch only) nobody in particular."""

    kind: str  # "service" | "user" | "dev"
    name: str  # recorded as the revision's actor and used as the rate-limit key
    user_id: int | None = None

    def may_act_for(self, user_id: int) -> bool:
        return self.kind != "user" or self.user_id == user_id


def parse_service_tokens(raw: str) -> dict[str, str]:
    """``name=token,other=token2`` (or bare tokens, named service-1, ...) -> {name: token}."""
    tokens: dict[str, str] = {}
    for index, entry in enumerate(filter(None, (e.strip() for e in raw.split(","))), start=1):
        name, sep, token = entry.partition("=")
        if not sep:
            name, token = f"service-{index}", entry
        tokens[name.strip()] = token.strip()
    return tokens


def _unauthorized(description: str, invalid: bool = True) -> Unauthorized:
    """401 with an RFC 6750 challenge; ``error="invalid_token"`` when a token was sent but failed."""
    params = {"realm": "aura", "error": "invalid_token"} if invalid else {"realm": "aura"}
    return Unauthorized(description, www_authenticate=WWWAuthenticate("Bearer", params))


def _match_service_token(given: str) -> str | None:
    """The name of the configured token equal to ``given``; checks them all, in constant time."""
    found = None
    for name, token in current_app.config["AURA_SERVICE_TOKEN_MAP"].items():
        if hmac.compare_digest(given.encode(), token.encode()):
            found = name
    return found


ASYMMETRIC_ALGORITHMS = ["RS256", "ES256"]


def _verification_key(token: str) -> tuple[Any, str]:
    """(key, algorithm) for this token, picked by its header among what is configured, else 401.

    HS256 only ever uses AURA_JWT_SECRET, RS256/ES256 only public keys (the JWKS URL's, by
    ``kid``, or AURA_JWT_PUBLIC_KEY): a public key can never be used as an HMAC secret.
    """
    cfg = current_app.config
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError:
        raise _unauthorized("Invalid token.") from None
    algorithm = header.get("alg")
    if algorithm == "HS256" and cfg["AURA_JWT_SECRET"]:
        return cfg["AURA_JWT_SECRET"], algorithm
    if algorithm in ASYMMETRIC_ALGORITHMS:
        jwks = current_app.extensions.get(JWKS_EXTENSION)
        if jwks is not None:
            return _key_from_jwks(jwks, header.get("kid"), algorithm), algorithm
        if cfg["AURA_JWT_PUBLIC_KEY"]:
            return cfg["AURA_JWT_PUBLIC_KEY"], algorithm
    raise _unauthorized("Invalid token.")


def _key_from_jwks(jwks: KeySet, kid: Any, algorithm: str) -> Any:
    """The identity provider's key named by the token's ``kid``, if it is a key for the token's
    algorithm (an ES256 header naming an RSA key is a bad token, not a crash in PyJWT)."""
    try:
        jwk = jwks.key_for(kid if isinstance(kid, str) else None)
    except PyJWKClientConnectionError:
        current_app.logger.warning("JWKS unreachable: cannot verify user tokens")
        raise with_code(
            ServiceUnavailable("User tokens cannot be verified right now; try again shortly."),
            "identity_provider_unavailable",
        ) from None
    except (PyJWKClientError, jwt.PyJWTError):
        raise _unauthorized("Invalid token.") from None
    if jwk.algorithm_name != algorithm:
        raise _unauthorized("Invalid token.")
    return jwk.key


def _check_times(claims: dict) -> None:
    """``exp`` and ``iat`` are numbers (not strings PyJWT would coerce) and the lifetime is bounded."""
    if any(
        isinstance(claims[name], bool) or not isinstance(claims[name], int | float) for name in ("exp", "iat")
    ):
        raise _unauthorized("The token's exp and iat must be numeric dates.")
    max_minutes = current_app.config["AURA_JWT_MAX_LIFETIME_MINUTES"]
    if claims["exp"] - claims["iat"] > max_minutes * 60:
        raise _unauthorized(f"The token lives longer than the {max_minutes}-minute maximum.")


def _user_from_jwt(token: str) -> Principal:
    key, algorithm = _verification_key(token)
    cfg = current_app.config
    try:
        claims = jwt.decode(
            token,
            key,
            algorithms=[algorithm],  # never "none", never another family than the key's
            audience=cfg["AURA_JWT_AUDIENCE"] or None,
            issuer=cfg["AURA_JWT_ISSUER"] or None,
            leeway=30,
            options={"require": ["exp", "iat", "sub"], "verify_aud": bool(cfg["AURA_JWT_AUDIENCE"])},
        )
    except jwt.ExpiredSignatureError:
        raise _unauthorized("The token has expired.") from None
    except (jwt.PyJWTError, TypeError, ValueError):  # a key of another type than the algorithm's
        raise _unauthorized("Invalid token.") from None
    _check_times(claims)
    subject = claims["sub"]
    if not (isinstance(subject, str) and USER_ID_STRING.fullmatch(subject)):
        raise _unauthorized("The token's subject is not a user id (digits, no leading zeros).")
    return Principal(kind="user", name=f"user:{int(subject)}", user_id=int(subject))


def authenticate_request() -> Principal:
    """The caller of this request, from its ``Authorization: Bearer`` header (401 if none)."""
    if current_app.config["AURA_AUTH_DISABLED"]:
        return Principal(kind="dev", name="dev-unauthenticated")
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise _unauthorized("Authentication required: send 'Authorization: Bearer <token>'.", invalid=False)
    service = _match_service_token(token)
    if service is not None:
        return Principal(kind="service", name=f"service:{service}")
    return _user_from_jwt(token)


def require_api_auth() -> None:
    """Authenticate the request (401 if it cannot be); the views then authorize per user."""
    g.principal = authenticate_request()


def current_principal() -> Principal:
    return g.principal


def authorize_user(user_id: int) -> Principal:
    """403 unless the caller may read or write ``user_id``'s data."""
    principal = current_principal()
    if not principal.may_act_for(user_id):
        raise Forbidden("This token may only access its own user's data.")
    g.acting_for = user_id  # for the request log: whose data this request touched
    return principal


def mint_user_token(user_id: int, minutes: int = 60) -> str:
    """A signed user token (HS256 with AURA_JWT_SECRET) for local testing and internal tools."""
    import datetime as dt

    secret = current_app.config["AURA_JWT_SECRET"]
    if not secret:
        raise RuntimeError("AURA_JWT_SECRET is not set; user tokens cannot be minted.")
    now = dt.datetime.now(dt.UTC)
    claims = {"sub": str(user_id), "iat": now, "exp": now + dt.timedelta(minutes=minutes)}
    if current_app.config["AURA_JWT_ISSUER"]:
        claims["iss"] = current_app.config["AURA_JWT_ISSUER"]
    if current_app.config["AURA_JWT_AUDIENCE"]:
        claims["aud"] = current_app.config["AURA_JWT_AUDIENCE"]
    return jwt.encode(claims, secret, algorithm="HS256")


def init_auth(app: Flask) -> None:
    """Parse token config once, connect the identity provider's key set, say loudly when checks are off."""
    app.config["AURA_SERVICE_TOKEN_MAP"] = parse_service_tokens(app.config["AURA_SERVICE_TOKENS"])
    if app.config["AURA_JWT_JWKS_URL"]:
        app.extensions[JWKS_EXTENSION] = KeySet(
            app.config["AURA_JWT_JWKS_URL"],
            lifespan=app.config["AURA_JWT_JWKS_CACHE_SECONDS"],
            cooldown=app.config["AURA_JWT_JWKS_COOLDOWN_SECONDS"],
            timeout=app.config["AURA_JWT_JWKS_TIMEOUT"],
        )
    if app.config["AURA_AUTH_DISABLED"]:
        app.logger.warning(
            "API AUTHENTICATION IS DISABLED (AURA_AUTH_DISABLED): every caller can read every memory"
        )
