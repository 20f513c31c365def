"""The model's context window as its server reports it, asked once per client when no operator set it.

Servers say it in different places: vLLM's ``/v1/models`` (``max_model_len``), OpenRouter-style
gateways and LM Studio there too (``context_length``, ``loaded_context_length``), llama.cpp's own
server at ``/props`` (the running ``n_ctx``, not the size the model was trained to). Ollama's and
llama-cpp-python's OpenAI routes say nothing: their context is learned from the first "too long"
refusal instead (LLMContextExceeded), as before. A server that answers none of this costs two
short GETs once per process, never a failed consolidation.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

import httpx

from aura.llm.client import LLMClient

log = logging.getLogger(__name__)
# Model fields that hold the window the server runs the model with, most specific first.
MODEL_FIELDS = (
    "max_model_len",
    "loaded_context_length",
    "context_length",
    "context_window",
    "max_context_length",
)
ASK_TIMEOUT = 3.0  # seconds per GET: a server that says nothing quickly says nothing at all


def _positive(value: object) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0


def from_models(listing: object, model: str) -> int:
    """The window of ``model`` in an OpenAI-style model list (or of the only model listed)."""
    entries = listing.get("data") if isinstance(listing, dict) else None
    if not isinstance(entries, list):
        return 0
    models = [e for e in entries if isinstance(e, dict)]
    named = [e for e in models if e.get("id") == model] or (models if len(models) == 1 else [])
    for entry in named:
        for name in MODEL_FIELDS:
            if tokens := _positive(entry.get(name)):
                return tokens
    return 0


def from_props(props: object) -> int:
    """llama.cpp server's running context: ``n_ctx`` at the top or in its default generation settings."""
    if not isinstance(props, dict):
        return 0
    defaults = props.get("default_generation_settings")
    running = _positive(defaults.get("n_ctx")) if isinstance(defaults, dict) else 0
    return _positive(props.get("n_ctx")) or running


def _documents(client: LLMClient) -> Iterator[tuple[str, object]]:
    """(kind, parsed JSON) of each place a server may report its context, skipping what fails."""
    settings = client.settings
    api_base = settings.completions_url.removesuffix("/chat/completions")
    root = api_base.removesuffix("/v1")
    headers = {"Authorization": f"Bearer {settings.api_key}"} if settings.api_key else {}
    for kind, url in (("models", f"{api_base}/models"), ("props", f"{root}/props")):
        try:
            response = httpx.get(url, headers=headers, timeout=ASK_TIMEOUT)
            if response.status_code == 200:
                yield kind, response.json()
        except (httpx.HTTPError, ValueError):
            continue


def discover(client: LLMClient) -> int:
    """Ask the server once for the model's context window; sets ``client.context_tokens`` when it
    says. An operator's setting is never overridden; a server that does not say is not asked again."""
    if client.context_source:
        return client.context_tokens
    client.context_source = "unknown"
    for kind, document in _documents(client):
        tokens = from_models(document, client.settings.model) if kind == "models" else from_props(document)
        if tokens:
            client.context_tokens, client.context_source = tokens, "reported"
            log.info("model server reports a %d-token context for %s", tokens, client.settings.model)
            return tokens
    log.info("model server does not report its context; learning it from a 'too long' answer")
    return 0
