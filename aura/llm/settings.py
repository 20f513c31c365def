"""The model's settings from config, checked at start-up: chat, consolidation and the OpenAI-compatible
endpoint share them (another model for consolidation or an evaluation overrides some)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx


@dataclass(frozen=True)
class LLMSettings:
    base_url: str
    model: str
    api_key: str = ""
    timeout: float = 60.0
    connect_timeout: float = 5.0
    max_retries: int = 2
    backoff: float = 0.5
    max_connections: int = 1000
    context_tokens: int = 0  # the model's context window (prompt + answer); 0: unknown until it says

    @property
    def configured(self) -> bool:
        return bool(self.base_url and self.model)

    @property
    def host(self) -> str:
        """host[:port] of the model server, for logs: never the URL's user, password or query."""
        url = httpx.URL(self.base_url)
        return f"{url.host}:{url.port}" if url.port else url.host

    @property
    def completions_url(self) -> str:
        """Accept both http://host:11434 and http://host:11434/v1 as the base URL."""
        base = self.base_url.rstrip("/")
        if not base.endswith("/v1"):
            base += "/v1"
        return base + "/chat/completions"


def llm_settings(cfg: Mapping[str, Any], **overrides: Any) -> LLMSettings:
    """The chat model's settings from config; ``overrides`` for another model (consolidation, eval)."""
    settings = {
        "base_url": cfg["AURA_LLM_BASE_URL"],
        "model": cfg["AURA_LLM_MODEL"],
        "api_key": cfg["AURA_LLM_API_KEY"],
        "timeout": cfg["AURA_LLM_TIMEOUT"],
        "connect_timeout": cfg["AURA_LLM_CONNECT_TIMEOUT"],
        "max_retries": cfg["AURA_LLM_MAX_RETRIES"],
        "backoff": cfg["AURA_LLM_RETRY_BACKOFF"],
        "max_connections": cfg["AURA_LLM_MAX_CONNECTIONS"],
        "context_tokens": cfg["AURA_LLM_CONTEXT_TOKENS"],
    }
    return LLMSettings(**{**settings, **overrides})


def check_llm_url(base_url: str) -> None:
    """An unusable AURA_LLM_BASE_URL stops start-up with a message, not every chat with a 500."""
    if not base_url:
        return  # no model configured: chat answers 503 saying how to configure one
    try:
        url = httpx.URL(base_url)
        usable = url.scheme in ("http", "https") and bool(url.host)
    except (httpx.InvalidURL, ValueError):
        usable = False
    if not usable:
        raise RuntimeError(
            "AURA_LLM_BASE_URL must be an http(s) URL with a host, e.g. http://127.0.0.1:11434/v1 "
            "(the value is not shown: it may hold credentials)"
        )
