"""Production safety checks and HTTP security headers."""

from __future__ import annotations

from flask import Flask, request

from aura.config import DEFAULT_SECRET_KEY

MIN_SECRET_LENGTH = 32
PAGE_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)


def production_problems(config: dict) -> list[str]:
    """Every reason this configuration is unsafe to run in production (empty: fine)."""
    problems = []
    secret = config.get("SECRET_KEY") or ""
    if secret == DEFAULT_SECRET_KEY or len(secret) < MIN_SECRET_LENGTH:
        problems.append(
            f"SECRET_KEY must be set to a random value of at least {MIN_SECRET_LENGTH} characters"
        )
    if config.get("AURA_AUTH_DISABLED"):
        problems.append("AURA_AUTH_DISABLED is a development switch and cannot be used in production")
    tokens = config["AURA_SERVICE_TOKEN_MAP"]  # parsed once by aura.auth.tokens.init_auth
    weak = [name for name, token in tokens.items() if len(token) < MIN_SECRET_LENGTH]
    if weak:
        problems.append(f"service tokens {', '.join(weak)} are shorter than {MIN_SECRET_LENGTH} characters")
    jwt_secret = config.get("AURA_JWT_SECRET") or ""
    if jwt_secret and len(jwt_secret) < MIN_SECRET_LENGTH:
        problems.append(f"AURA_JWT_SECRET must have at least {MIN_SECRET_LENGTH} characters")
    if "*" in config.get("AURA_CORS_ORIGIN_LIST", []):
        problems.append("AURA_CORS_ORIGINS=* lets any web site call the API; list the frontend's origins")
    if not (tokens or jwt_secret or config.get("AURA_JWT_PUBLIC_KEY") or config.get("AURA_JWT_JWKS_URL")):
        problems.append(
            "no API credentials: set AURA_SERVICE_TOKENS and/or AURA_JWT_SECRET, AURA_JWT_PUBLIC_KEY "
            "or AURA_JWT_JWKS_URL"
        )
    return problems


def production_warnings(config: dict) -> list[str]:
    """Settings that run, but leave a door open an operator should close on purpose."""
    warnings = []
    if config.get("AURA_JWT_JWKS_URL") and not (
        config.get("AURA_JWT_AUDIENCE") and config.get("AURA_JWT_ISSUER")
    ):
        warnings.append(
            "AURA_JWT_JWKS_URL is set without AURA_JWT_AUDIENCE and AURA_JWT_ISSUER: any token the identity "
            "provider signs, for any of its applications, is accepted as a user token; set both"
        )
    if not config.get("AURA_METRICS_TOKEN"):
        warnings.append(
            "AURA_METRICS_TOKEN is not set: /metrics is open to anyone who reaches this server; set it, "
            "or keep /metrics off the public network (the shipped nginx site does not forward it)"
        )
    return warnings


def check_config(app: Flask) -> None:
    """Refuse to start with limits that make no sense, and production with unsafe settings."""
    if app.config["AURA_MAX_REVISIONS"] < 1:
        raise RuntimeError(
            "AURA_MAX_REVISIONS must be at least 1: the newest revision is the current memory's record"
        )
    if "{memory}" not in app.config["AURA_MEMORY_FRAMING"]:
        raise RuntimeError("AURA_MEMORY_FRAMING must contain {memory}, where the memory's text goes")
    if app.config["ENV_NAME"] != "production":
        return
    problems = production_problems(app.config)
    if problems:
        raise RuntimeError("Refusing to start in production: " + "; ".join(problems))
    for warning in production_warnings(app.config):
        app.logger.warning(warning)


def register_security_headers(app: Flask) -> None:
    seconds = int(app.config["AURA_HSTS_SECONDS"])
    hsts = f"max-age={seconds}; includeSubDomains" if seconds > 0 else ""

    @app.after_request
    def _security_headers(response):
        headers = response.headers
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("Referrer-Policy", "same-origin")
        if request.path.startswith(("/api/", "/v1/", "/admin")):
            # Memories are personal data: no cache, shared or the browser's, keeps them
            # (the docs' files set their own caching).
            headers.setdefault("Cache-Control", "no-store")
        if request.is_secure and hsts:
            # Served over HTTPS (directly, or behind a trusted proxy that says so): browsers
            # then refuse plain HTTP to this host, so a network attacker cannot downgrade it.
            headers.setdefault("Strict-Transport-Security", hsts)
        if not request.path.startswith(("/api/", "/v1/")) or response.mimetype == "text/html":
            # Pages, including the API docs page: only this server's own scripts, never framed.
            headers.setdefault("Content-Security-Policy", PAGE_CSP)
            headers.setdefault("X-Frame-Options", "DENY")
        return response
