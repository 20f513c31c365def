"""API authentication: service tokens act for any user, user tokens (JWT) only for their own id.

Secrets are compared in constant time and never logged. A development switch can turn checks
off for local use; it is off by default and refused in production.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass

import jwt
from flask import Flask, current_app, g, request
from werkzeug.datastructures import WWWAuthenticate
from werkzeug.exceptions import Forbidden, Unauthorized

from aura.schemas import MAX_USER_ID


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


def _jwt_key() -> tuple[str, str] | None:
    cfg = current_app.config
    if cfg["AURA_JWT_PUBLIC_KEY"]:
        return cfg["AURA_JWT_PUBLIC_KEY"], "RS256"
    if cfg["AURA_JWT_SECRET"]:
        return cfg["AURA_JWT_SECRET"], "HS256"
    return None


def _user_from_jwt(token: str) -> Principal:
    key = _jwt_key()
    if key is None:
        raise _unauthorized("Invalid token.")
    cfg = current_app.config
    try:
        claims = jwt.decode(
            token,
            key[0],
            algorithms=[key[1]],  # never "none", never a different family than configured
            audience=cfg["AURA_JWT_AUDIENCE"] or None,
            issuer=cfg["AURA_JWT_ISSUER"] or None,
            leeway=30,
            options={"require": ["exp", "sub"], "verify_aud": bool(cfg["AURA_JWT_AUDIENCE"])},
        )
    except jwt.ExpiredSignatureError:
        raise _unauthorized("The token has expired.") from None
    except jwt.PyJWTError:
        raise _unauthorized("Invalid token.") from None
    subject = claims["sub"]
    if not (subject.isascii() and subject.isdigit() and 0 < int(subject) <= MAX_USER_ID):
        raise _unauthorized("The token's subject is not a user id.")
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
    """Parse token config once, and say loudly when checks are off."""
    app.config["AURA_SERVICE_TOKEN_MAP"] = parse_service_tokens(app.config["AURA_SERVICE_TOKENS"])
    if app.config["AURA_AUTH_DISABLED"]:
        app.logger.warning(
            "API AUTHENTICATION IS DISABLED (AURA_AUTH_DISABLED): every caller can read every memory"
        )
