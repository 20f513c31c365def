"""How a model call fails: one LLMError per kind, each with the HTTP status the API answers, and the
model server's own error text made safe to pass on (no keys, no URL credentials)."""

from __future__ import annotations

import math
import re
from typing import Any

import httpx

MAX_RETRY_AFTER_SECONDS = 10.0


class LLMError(Exception):
    """A model call that failed; ``status`` is the HTTP code the API should answer with,
    ``code`` the JSON error's code, and ``outcome`` how /metrics counts it."""

    status = 502
    code = "model_error"
    outcome = "model_error"

    def __init__(
        self,
        message: str,
        retry_after: float | None = None,
        upstream_status: int | None = None,
        upstream_kind: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.retry_after = retry_after
        # The model server's own HTTP status when it answered with an error (e.g. 400: it refused
        # the request's tools): a pass-through protocol blames the caller for a 4xx, not itself.
        self.upstream_status = upstream_status
        self.upstream_kind = upstream_kind  # its error type/code, e.g. invalid_request_error
        # The message quotes the model server (its error text): never logged, it may echo the request.
        self.quotes_upstream = upstream_status is not None

    def log_line(self) -> str:
        """What the logs say about this failure: AURA's own words, or for the model server's error
        its status and error type, never its text (some servers echo the request, memory and all)."""
        if not self.quotes_upstream:
            return self.message
        status = f" HTTP {self.upstream_status}" if self.upstream_status is not None else ""
        kind = f" {self.upstream_kind}" if self.upstream_kind else ""
        return f"{self.code}: the model server answered{status}{kind}".rstrip()

    def headers(self) -> dict[str, str] | None:
        """Retry-After, whole seconds, when the failure says how long to wait (both chat protocols)."""
        return {"Retry-After": str(math.ceil(self.retry_after))} if self.retry_after else None


class LLMNotConfigured(LLMError):
    status = 503
    code = "model_not_configured"
    outcome = "not_configured"


class LLMUnreachable(LLMError):
    """No connection to the model server (refused, reset, DNS) after every retry."""

    code = "model_unavailable"


class LLMRateLimited(LLMError):
    """The model kept answering 429: "try later" (503 with Retry-After), not "broken" (502)."""

    status = 503
    code = "model_rate_limited"
    outcome = "model_rate_limited"
    DEFAULT_RETRY_AFTER = 5.0


class LLMTimeout(LLMError):
    status = 504
    code = "model_timeout"
    outcome = "timeout"


class LLMContextExceeded(LLMError):
    """The server refused the request as longer than the model's context (a 400): retrying the
    same request cannot help; one fitted to ``context_tokens`` can."""

    code = "model_context_exceeded"
    outcome = "context_exceeded"

    def __init__(self, message: str, context_tokens: int, prompt_tokens: int | None) -> None:
        super().__init__(message, upstream_status=400)
        self.context_tokens = context_tokens
        self.prompt_tokens = prompt_tokens


# How OpenAI, vLLM, llama-cpp-python and llama.cpp's server state the limit (and the prompt's size).
_CONTEXT_LIMIT = re.compile(
    r"maximum context length is (\d+)|context window of (\d+)|context (?:size|length) (?:of |is )?(\d+)",
    re.IGNORECASE,
)
_PROMPT_SIZE = re.compile(
    r"(\d+) in the messages|resulted in (\d+) tokens|requested tokens \((\d+)\)|prompt (?:has|of) (\d+)",
    re.IGNORECASE,
)


def _first_number(pattern: re.Pattern, text: str) -> int | None:
    match = pattern.search(text)
    return int(next(group for group in match.groups() if group)) if match else None


def context_exceeded(response: httpx.Response, detail: str) -> LLMContextExceeded | None:
    """The server's "too long for my context" answer, with the limit it states, or None."""
    if response.status_code not in (400, 413, 422):
        return None
    try:
        payload = response.json()
    except ValueError:
        payload = None
    error = payload.get("error") if isinstance(payload, dict) else None
    fields = error if isinstance(error, dict) else {}
    limit = (
        fields.get("n_ctx") if isinstance(fields.get("n_ctx"), int) else _first_number(_CONTEXT_LIMIT, detail)
    )
    if not limit:
        return None
    prompt = fields.get("n_prompt_tokens")
    prompt = prompt if isinstance(prompt, int) else _first_number(_PROMPT_SIZE, detail)
    return LLMContextExceeded(f"The request is longer than the model's context: {detail}", limit, prompt)


def retry_after_of(response: httpx.Response) -> float | None:
    try:
        return min(float(response.headers["Retry-After"]), MAX_RETRY_AFTER_SECONDS)
    except (KeyError, ValueError):
        return None


_URL_CREDENTIALS = re.compile(r"(\w+://)[^/\s:@]+:[^/\s@]*@")
_SECRET_LOOKING = re.compile(r"(Bearer\s+|sk-)[A-Za-z0-9._~+/=-]{6,}", re.IGNORECASE)
MAX_UPSTREAM_MESSAGE = 300


def upstream_message(payload: Any, api_key: str = "") -> str:
    """The model server's own error text (OpenAI, LiteLLM, vLLM, Ollama shapes), safe to pass on:
    no API key, bearer token or URL credentials, no control characters, at most 300 characters."""
    error = payload.get("error", payload) if isinstance(payload, dict) else payload
    if isinstance(error, dict):
        error = error.get("message") or error.get("detail") or ""
    text = str(error or "")
    if api_key:
        text = text.replace(api_key, "[redacted]")
    text = _SECRET_LOOKING.sub(lambda m: m.group(1) + "[redacted]", _URL_CREDENTIALS.sub(r"\1", text))
    text = "".join(ch if ch.isprintable() else " " for ch in text).strip()
    return text[:MAX_UPSTREAM_MESSAGE]


def response_message(response: httpx.Response, api_key: str) -> str:
    try:
        return upstream_message(response.json(), api_key)
    except ValueError:
        return upstream_message(response.text, api_key)


def provider_error(response: httpx.Response, api_key: str) -> LLMError:
    if response.status_code == 429:
        return LLMRateLimited(
            "The language model is rate-limiting requests; try again shortly.",
            retry_after_of(response) or LLMRateLimited.DEFAULT_RETRY_AFTER,
        )
    detail = response_message(response, api_key)
    too_long = context_exceeded(response, detail)
    if too_long is not None:
        return too_long
    message = f"The language model answered with HTTP {response.status_code}"
    return LLMError(
        f"{message}: {detail}" if detail else f"{message}.",
        upstream_status=response.status_code,
        upstream_kind=error_kind(response),
    )


_KIND = re.compile(r"[A-Za-z0-9_.-]{1,60}")


def error_kind(response: httpx.Response) -> str | None:
    """The error's type and code as the server names them (OpenAI's envelope), if they are names."""
    try:
        error = response.json().get("error")
    except (ValueError, AttributeError):
        return None
    if not isinstance(error, dict):
        return None
    parts = [str(error.get(key)) for key in ("type", "code") if error.get(key) is not None]
    names = [part for part in parts if _KIND.fullmatch(part)]
    return "/".join(names) or None
