"""Chat turn orchestration: read the memory, assemble the prompt, ask the model."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import httpx
from flask import Flask, current_app

from aura.chat.llm import LLMClient, LLMSettings
from aura.chat.prompt import ChatMessage, build_messages
from aura.memory.service import get_memory_for_chat

EXTENSION_KEY = "aura_llm"


@dataclass(frozen=True)
class PreparedChat:
    messages: list[ChatMessage]
    memory_used: bool


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


def llm_settings(cfg, **overrides) -> LLMSettings:
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
    }
    return LLMSettings(**{**settings, **overrides})


def init_llm(app: Flask) -> None:
    """One pooled client per app, built from config."""
    app.extensions[EXTENSION_KEY] = LLMClient(llm_settings(app.config))


def llm_client() -> LLMClient:
    return current_app.extensions[EXTENSION_KEY]


def prepare_chat(
    user_id: int, message: str, history: Sequence[ChatMessage], use_memory: bool = True
) -> PreparedChat:
    """The exact messages the model gets for this user, and whether the memory is among them.

    A temporary chat (``use_memory`` false) does not even read the memory; a user who switched
    memory off gets none. The read returns its connection to the pool at once, so a slow
    model call never holds one.
    """
    memory = get_memory_for_chat(user_id) if use_memory else None
    messages = build_messages(
        system_prompt=current_app.config["AURA_SYSTEM_PROMPT"],
        memory_content=memory.content if memory else None,
        history=history,
        message=message,
        max_chars=current_app.config["AURA_CHAT_MAX_PROMPT_CHARS"],
    )
    memory_used = len(messages) > 1 and messages[1]["role"] == "system"
    return PreparedChat(messages=messages, memory_used=memory_used)
