"""OpenAI-compatible chat-completions client (OpenAI, Ollama, vLLM, llama.cpp server).

Retries 429/5xx and connection failures with exponential backoff (a timeout is not retried:
it already used the whole AURA_LLM_TIMEOUT); maps every failure to an LLMError the API turns
into 502, 503 (not configured, or still rate-limited) or 504. The API key is only ever put in a header.
"""

from __future__ import annotations

import json
import logging
import re
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx

log = logging.getLogger(__name__)
RETRYABLE_STATUS = {429, 500, 502, 503, 504}
MAX_RETRY_AFTER_SECONDS = 10.0


class LLMError(Exception):
    """A model call that failed; ``status`` is the HTTP code the API should answer with,
    ``code`` the JSON error's code, and ``outcome`` how /metrics counts it."""

    status = 502
    code = "model_error"
    outcome = "model_error"

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.retry_after = retry_after


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


@dataclass(frozen=True)
class Completion:
    reply: str
    model: str
    usage: dict[str, Any]


@dataclass
class StreamEvent:
    """A token delta, or (``done``) the final model name and usage."""

    content: str = ""
    done: bool = False
    model: str = ""
    usage: dict[str, Any] = field(default_factory=dict)


def _retry_after(response: httpx.Response) -> float | None:
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


def _response_message(response: httpx.Response, api_key: str) -> str:
    try:
        return upstream_message(response.json(), api_key)
    except ValueError:
        return upstream_message(response.text, api_key)


def _provider_error(response: httpx.Response, api_key: str) -> LLMError:
    if response.status_code == 429:
        return LLMRateLimited(
            "The language model is rate-limiting requests; try again shortly.",
            _retry_after(response) or LLMRateLimited.DEFAULT_RETRY_AFTER,
        )
    detail = _response_message(response, api_key)
    message = f"The language model answered with HTTP {response.status_code}"
    return LLMError(f"{message}: {detail}" if detail else f"{message}.")


def _read_whole(response: httpx.Response) -> None:
    """Read the body now (a reply that is not streamed); the connection goes back to the pool."""
    try:
        response.read()
    finally:
        response.close()


def _rejects_stream_options(response: httpx.Response) -> bool:
    """Older OpenAI-compatible servers refuse the stream_options field (400/422 naming it)."""
    return response.status_code in (400, 422) and "stream_options" in response.text


def environment_proxy(url: str) -> str | None:
    """The proxy HTTPS_PROXY / HTTP_PROXY name for ``url``, unless NO_PROXY exempts its host."""
    parsed = httpx.URL(url)
    if urllib.request.proxy_bypass(parsed.host):
        return None
    return urllib.request.getproxies().get(parsed.scheme)


class LLMClient:
    """One connection pool per app; safe to share between threads.

    Requests go straight to httpx's transport rather than through httpx.Client: a call to the
    model needs none of the client's cookie jar, redirects, auth flows or per-call URL merging,
    which cost 250-500 us of CPU per chat turn (a third of the turn's own CPU).
    """

    def __init__(self, settings: LLMSettings) -> None:
        self.settings = settings
        self._stream_usage = True  # until the server says it does not know stream_options
        self._headers = {"Accept": "application/json, text/event-stream", "User-Agent": "aura"}
        if settings.api_key:
            self._headers["Authorization"] = f"Bearer {settings.api_key}"
        self._url = httpx.URL(settings.completions_url) if settings.configured else None
        self._timeout = httpx.Timeout(settings.timeout, connect=settings.connect_timeout).as_dict()
        self._transport = httpx.HTTPTransport(
            # httpx allows 100 connections by default: the 101st concurrent stream would queue.
            limits=httpx.Limits(max_connections=settings.max_connections, max_keepalive_connections=100),
            proxy=environment_proxy(settings.completions_url) if settings.configured else None,
        )

    def close(self) -> None:
        self._transport.close()

    def _payload(self, messages: list[dict], stream: bool, options: dict | None = None) -> dict:
        payload = {"model": self.settings.model, "messages": messages, "stream": stream, **(options or {})}
        if stream and self._stream_usage:
            payload["stream_options"] = {"include_usage": True}  # usage in streamed replies too
        return payload

    def _timeouts(self, deadline: float | None) -> dict:
        """The per-request timeouts, none longer than what is left before ``deadline`` (monotonic)."""
        if deadline is None:
            return self._timeout
        left = deadline - time.monotonic()
        if left <= 0:
            raise LLMTimeout("The language model did not answer in time.")
        return {name: min(value, left) for name, value in self._timeout.items()}

    def _send(
        self, messages: list[dict], stream: bool, deadline: float | None = None, options: dict | None = None
    ) -> httpx.Response:
        """POST with retries; returns a 200 response (open, when streaming) or raises LLMError.

        With ``deadline`` (time.monotonic()), every attempt and every wait between attempts ends
        by then: several calls can share one time budget.
        """
        if not self.settings.configured:
            raise LLMNotConfigured(
                "No language model is configured. Set AURA_LLM_BASE_URL (e.g. http://127.0.0.1:11434/v1 "
                'for Ollama) and AURA_LLM_MODEL, or send "dry_run": true to see the prompt.'
            )
        attempts = self.settings.max_retries + 1
        for attempt in range(1, attempts + 1):
            error: LLMError
            request = httpx.Request(
                "POST",
                self._url,
                json=self._payload(messages, stream, options),
                headers=self._headers,
                extensions={"timeout": self._timeouts(deadline)},
            )
            try:
                response = self._transport.handle_request(request)
                if not stream:
                    _read_whole(response)
            except httpx.TimeoutException:
                raise LLMTimeout("The language model did not answer in time.") from None
            except httpx.TransportError as exc:
                error = LLMUnreachable("The language model is unreachable.")
                log.warning(
                    "LLM attempt %d/%d: %s reaching %s",
                    attempt,
                    attempts,
                    exc.__class__.__name__,
                    self.settings.host,
                )
            else:
                if response.status_code == 200:
                    return response
                _read_whole(response)  # an error body is small; it says what went wrong
                if stream and self._stream_usage and _rejects_stream_options(response):
                    log.warning("LLM server does not accept stream_options; streaming without usage")
                    self._stream_usage = False
                    return self._send(messages, stream)
                error = _provider_error(response, self.settings.api_key)
                log.warning("LLM attempt %d/%d: %s", attempt, attempts, error.message)
                if response.status_code not in RETRYABLE_STATUS:
                    raise error
            if attempt < attempts:
                pause = error.retry_after or self.settings.backoff * 2 ** (attempt - 1)
                if deadline is not None and time.monotonic() + pause >= deadline:
                    break  # no time left for another attempt: the last failure stands
                time.sleep(pause)
        raise error

    def complete(
        self, messages: list[dict], deadline: float | None = None, options: dict | None = None
    ) -> Completion:
        """One full reply (``options``: extra request fields, e.g. temperature)."""
        response = self._send(messages, stream=False, deadline=deadline, options=options)
        try:
            data = response.json()
            reply = data["choices"][0]["message"]["content"] or ""
        except (ValueError, KeyError, IndexError, TypeError):
            raise LLMError("The language model sent a response AURA could not read.") from None
        return Completion(
            reply=reply, model=data.get("model") or self.settings.model, usage=data.get("usage") or {}
        )

    def open_stream(self, messages: list[dict]) -> Iterator[StreamEvent]:
        """Connect (with retries) now, so failures before the first byte are still HTTP errors;
        the returned iterator then yields tokens as the model sends them."""
        response = self._send(messages, stream=True)
        return self._relay(response)

    def _relay(self, response: httpx.Response) -> Iterator[StreamEvent]:
        model, usage, finished = self.settings.model, {}, False
        try:
            for line in response.iter_lines():
                if not line.startswith("data:"):
                    continue
                data = line[5:].strip()
                if data == "[DONE]":
                    finished = True
                    break
                try:
                    chunk = json.loads(data)
                except ValueError:
                    raise LLMError("The language model sent a stream AURA could not read.") from None
                if isinstance(chunk, dict) and chunk.get("error"):
                    # Gateways such as LiteLLM report a failure inside a 200 stream they already began.
                    detail = upstream_message(chunk, self.settings.api_key) or "no details"
                    log.warning("LLM stream error: %s", detail)
                    raise LLMError(f"The language model failed mid-stream: {detail}")
                model = chunk.get("model") or model
                usage = chunk.get("usage") or usage
                for choice in chunk.get("choices") or []:
                    finished = finished or bool(choice.get("finish_reason"))
                    content = (choice.get("delta") or {}).get("content")
                    if content:
                        yield StreamEvent(content=content)
            if not finished:
                # A connection closed early looks like a normal end of body: only [DONE] or a
                # finish_reason tells a complete reply from a cut-off one.
                raise LLMError("The language model's stream ended before the reply was complete.")
        except httpx.TimeoutException:
            raise LLMTimeout("The language model stopped sending mid-stream.") from None
        except httpx.TransportError:
            raise LLMError("The connection to the language model broke mid-stream.") from None
        finally:
            response.close()
        yield StreamEvent(done=True, model=model, usage=usage)
