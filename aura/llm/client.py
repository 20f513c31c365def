"""OpenAI-compatible chat-completions client (OpenAI, Ollama, vLLM, llama.cpp server).

Retries 429/5xx and connection failures with exponential backoff (a timeout is not retried:
it already used the whole AURA_LLM_TIMEOUT); maps every failure to an LLMError the API turns
into 502, 503 (not configured, or still rate-limited) or 504. The API key is only ever put in a header.
"""

from __future__ import annotations

import json
import logging
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
from flask import Flask, current_app

from aura.llm.errors import (
    LLMError,
    LLMNotConfigured,
    LLMTimeout,
    LLMUnreachable,
    provider_error,
    upstream_message,
)
from aura.llm.settings import LLMSettings, llm_settings

EXTENSION_KEY = "aura_llm"
log = logging.getLogger(__name__)
RETRYABLE_STATUS = {429, 500, 502, 503, 504}


@dataclass(frozen=True)
class Completion:
    reply: str
    model: str
    usage: dict[str, Any]
    finish_reason: str | None = None  # "length": the model was cut off at max_tokens


@dataclass
class StreamEvent:
    """A token delta, or (``done``) the final model name and usage."""

    content: str = ""
    done: bool = False
    model: str = ""
    usage: dict[str, Any] = field(default_factory=dict)


def _read_whole(response: httpx.Response) -> None:
    """Read the body now (a reply that is not streamed); the connection goes back to the pool."""
    try:
        response.read()
    finally:
        response.close()


def _rejects_stream_options(response: httpx.Response) -> bool:
    """Older OpenAI-compatible servers refuse the stream_options field (400/422 naming it)."""
    return response.status_code in (400, 422) and "stream_options" in response.text


def _readable_choices(choices: object) -> bool:
    """A chunk's choices as the protocol has them: absent, or a list of objects whose delta is one."""
    return choices is None or (
        isinstance(choices, list)
        and all(isinstance(c, dict) and isinstance(c.get("delta") or {}, dict) for c in choices)
    )


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
        # What the server accepts, learned as it answers (consolidation reads and updates both):
        # the context window it states when a request is too long, and the strongest
        # response_format it takes (json_schema, then json_object, then none).
        self.context_tokens = settings.context_tokens
        self.context_source = "configured" if settings.context_tokens else ""  # "": not asked yet
        self.structured_output = "json_schema"
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
        self,
        messages: list[dict],
        stream: bool,
        deadline: float | None = None,
        options: dict | None = None,
        body: dict | None = None,
    ) -> httpx.Response:
        """POST with retries; returns a 200 response (open, when streaming) or raises LLMError.

        With ``deadline`` (time.monotonic()), every attempt and every wait between attempts ends
        by then: several calls can share one time budget. ``body``: a whole request from a caller
        that speaks the protocol itself (sent as it is, model included), instead of ``messages``.
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
                json=body if body is not None else self._payload(messages, stream, options),
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
                if body is None and stream and self._stream_usage and _rejects_stream_options(response):
                    log.warning("LLM server does not accept stream_options; streaming without usage")
                    self._stream_usage = False
                    return self._send(messages, stream)
                error = provider_error(response, self.settings.api_key)
                log.warning("LLM attempt %d/%d: %s", attempt, attempts, error.log_line())
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
            choice = data["choices"][0]
            reply = choice["message"]["content"] or ""
            finish_reason = choice.get("finish_reason")
        except (ValueError, KeyError, IndexError, TypeError, AttributeError):
            raise LLMError("The language model sent a response AURA could not read.") from None
        return Completion(
            reply=reply,
            model=data.get("model") or self.settings.model,
            usage=data.get("usage") or {},
            finish_reason=finish_reason if isinstance(finish_reason, str) else None,
        )

    def open_stream(self, messages: list[dict]) -> Iterator[StreamEvent]:
        """Connect (with retries) now, so failures before the first byte are still HTTP errors;
        the returned iterator then yields tokens as the model sends them."""
        response = self._send(messages, stream=True)
        return self._relay(response)

    def complete_raw(self, body: dict) -> dict:
        """A whole chat.completion for a request built by a caller that speaks the protocol itself
        (AURA's OpenAI-compatible endpoint): sent as it is, answered as the model wrote it."""
        response = self._send([], stream=False, body=body)
        try:
            data = response.json()
        except ValueError:
            raise LLMError("The language model sent a response AURA could not read.") from None
        if not isinstance(data, dict) or not isinstance(data.get("choices"), list):
            raise LLMError("The language model sent a response AURA could not read.")
        return data

    def open_raw_stream(self, body: dict) -> Iterator[dict]:
        """Like open_stream for a caller's own request: connects now, then yields each
        chat.completion.chunk as the model sent it (LLMError if the stream breaks)."""
        return self._chunks(self._send([], stream=True, body=body))

    def _relay(self, response: httpx.Response) -> Iterator[StreamEvent]:
        model, usage = self.settings.model, {}
        for chunk in self._chunks(response):
            model = chunk.get("model") or model
            usage = chunk.get("usage") or usage
            for choice in chunk.get("choices") or []:
                content = (choice.get("delta") or {}).get("content")
                if content:
                    yield StreamEvent(content=content)
        yield StreamEvent(done=True, model=model, usage=usage)

    def _chunks(self, response: httpx.Response) -> Iterator[dict]:
        """Every chunk of an SSE stream until [DONE]; a stream that breaks, or ends without [DONE]
        or a finish_reason, raises LLMError (a cut-off reply never passes for a whole one)."""
        finished = False
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
                if not isinstance(chunk, dict) or not _readable_choices(chunk.get("choices")):
                    raise LLMError("The language model sent a stream AURA could not read.")
                if chunk.get("error"):
                    # Gateways such as LiteLLM report a failure inside a 200 stream they already began.
                    detail = upstream_message(chunk, self.settings.api_key) or "no details"
                    failure = LLMError(f"The language model failed mid-stream: {detail}")
                    failure.quotes_upstream = True
                    log.warning("LLM stream error: %s", failure.log_line())
                    raise failure
                finished = finished or any(
                    choice.get("finish_reason") for choice in chunk.get("choices") or ()
                )
                yield chunk
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


def init_llm(app: Flask) -> None:
    """One pooled client per app, built from config."""
    app.extensions[EXTENSION_KEY] = LLMClient(llm_settings(app.config))


def llm_client() -> LLMClient:
    return current_app.extensions[EXTENSION_KEY]
