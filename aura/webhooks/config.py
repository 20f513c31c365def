"""AURA_WEBHOOK_URLS and AURA_WEBHOOK_SECRET, checked at start-up (not at the first event)."""

from __future__ import annotations

import httpx
from flask import Flask, current_app, has_app_context
from standardwebhooks import Webhook

EXTENSION_KEY = "aura_webhooks"


def receiver_urls(raw: str) -> list[str]:
    """The comma-separated receivers, each an http(s) URL with a host and no credentials."""
    urls = [part.strip() for part in raw.split(",") if part.strip()]
    for position, url in enumerate(urls, start=1):
        try:
            parsed = httpx.URL(url)
            usable = parsed.scheme in ("http", "https") and bool(parsed.host)
        except (httpx.InvalidURL, ValueError):
            usable = False
        if not usable:
            raise RuntimeError(f"AURA_WEBHOOK_URLS: receiver {position} is not an http(s) URL with a host")
        if parsed.userinfo:
            raise RuntimeError(
                f"AURA_WEBHOOK_URLS: receiver {position} carries credentials in its URL; receivers "
                "authenticate AURA by the signature (AURA_WEBHOOK_SECRET), never by a password in a URL"
            )
        if len(url) > 2000:
            raise RuntimeError(f"AURA_WEBHOOK_URLS: receiver {position} is longer than 2,000 characters")
    return urls


def load_webhooks(app: Flask) -> bool:
    """Check and keep the receivers (empty: no events are written at all) and the signer; any?"""
    urls = receiver_urls(app.config["AURA_WEBHOOK_URLS"])
    secret = app.config["AURA_WEBHOOK_SECRET"]
    if urls and not secret.startswith("whsec_"):
        raise RuntimeError(
            "AURA_WEBHOOK_SECRET must be set, in the Standard Webhooks form whsec_<base64 of 24-64 random "
            'bytes>, when AURA_WEBHOOK_URLS is: e.g. python -c "import base64, secrets; '
            "print('whsec_' + base64.b64encode(secrets.token_bytes(32)).decode())\""
        )
    signer = None
    if urls:
        try:
            signer = Webhook(secret)
        except Exception as error:  # noqa: BLE001 - any decoding failure is a bad setting
            raise RuntimeError(
                f"AURA_WEBHOOK_SECRET is not a valid whsec_ secret ({error.__class__.__name__})"
            ) from None
    app.extensions[EXTENSION_KEY] = (urls, signer)
    return bool(urls)


def webhooks_configured() -> bool:
    return has_app_context() and bool(current_app.extensions.get(EXTENSION_KEY, ((), None))[0])


def receivers() -> list[str]:
    return current_app.extensions[EXTENSION_KEY][0]


def signer() -> Webhook:
    return current_app.extensions[EXTENSION_KEY][1]
