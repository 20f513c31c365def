"""A real HTTP server on 127.0.0.1 speaking OpenAI's chat-completions protocol, for tests.

Tests script its answers (status codes, delays, streamed tokens) and read back exactly what
AURA sent it: no patched functions between AURA's client and the wire.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Answer:
    """One scripted answer. ``tokens`` are streamed when the request asks to stream."""

    status: int = 200
    reply: str = "Hello from the fake model."
    tokens: list[str] = field(default_factory=lambda: ["Hello", " from", " the", " fake", " model."])
    delay: float = 0.0
    headers: dict[str, str] = field(default_factory=dict)
    # Streaming: after the first token, wait for this event before sending the rest.
    hold_after_first_token: threading.Event | None = None
    # Streaming: hang up after the first token, as a crashed model server would.
    cut_after_first_token: bool = False
    usage: dict = field(
        default_factory=lambda: {"prompt_tokens": 12, "completion_tokens": 5, "total_tokens": 17}
    )
    # The error body of a non-200 answer, as OpenAI-compatible servers send it.
    error_body: dict = field(default_factory=lambda: {"error": {"message": "scripted failure"}})
    # Streaming: after the tokens, an error object inside the 200 stream, then [DONE] (as LiteLLM does).
    error_in_stream: dict | None = None
    # Like older servers: a request with stream_options gets 400 naming it.
    rejects_stream_options: bool = False
    # The model calls tools instead of answering: [{"id", "type": "function", "function": {name, arguments}}]
    tool_calls: list[dict] | None = None
    # A malformed server: this JSON as the whole reply, or these chunks as the stream (then [DONE]).
    raw_body: object | None = None
    raw_chunks: list[object] | None = None
    # A whole (not streamed) reply's finish_reason: "length" as a model cut off at max_tokens.
    finish_reason: str = "stop"


def _message(answer: Answer) -> dict:
    if answer.tool_calls:
        return {"role": "assistant", "content": None, "tool_calls": answer.tool_calls}
    return {"role": "assistant", "content": answer.reply}


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: dict


class FakeLLM:
    def __init__(self) -> None:
        self.answers: deque[Answer] = deque()
        self.received: list[Received] = []
        self.default = Answer()
        # Answers computed from the request (a scripted model that recognises each scenario);
        # used when no answer is queued.
        self.responder: Callable[[dict], Answer] | None = None
        # What GET /v1/models and GET /props answer (404 while None), and the paths asked for.
        self.models: dict | None = None
        self.props: dict | None = None
        self.gets: list[str] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:  # keep test output clean
                pass

            def do_GET(self) -> None:
                fake.gets.append(self.path)
                document = {"/v1/models": fake.models, "/props": fake.props}.get(self.path)
                if document is None:
                    return self._json(404, {"error": {"message": "not found"}}, {})
                return self._json(200, document, {})

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                body = json.loads(self.rfile.read(length) or b"{}")
                fake.received.append(Received(self.path, dict(self.headers), body))
                if fake.answers:
                    answer = fake.answers.popleft()
                elif fake.responder is not None:
                    answer = fake.responder(body)
                else:
                    answer = fake.default
                if answer.delay:
                    time.sleep(answer.delay)
                if self.path != "/v1/chat/completions":
                    return self._json(404, {"error": {"message": "not found"}}, {})
                if answer.rejects_stream_options and "stream_options" in body:
                    message = "Unrecognized request argument supplied: stream_options"
                    return self._json(400, {"error": {"message": message}}, {})
                if answer.status != 200:
                    return self._json(answer.status, answer.error_body, answer.headers)
                if body.get("stream") and answer.raw_chunks is not None:
                    return self._raw_stream(answer.raw_chunks)
                if body.get("stream"):
                    return self._stream(body, answer)
                if answer.raw_body is not None:
                    return self._json(200, answer.raw_body, {})
                return self._json(
                    200,
                    {
                        "id": "chatcmpl-fake",
                        "object": "chat.completion",
                        "created": int(time.time()),
                        "model": body.get("model"),
                        "choices": [
                            {
                                "index": 0,
                                "message": _message(answer),
                                "finish_reason": "tool_calls" if answer.tool_calls else answer.finish_reason,
                            }
                        ],
                        "usage": answer.usage,
                    },
                    answer.headers,
                )

            def _json(self, status: int, payload: object, headers: dict) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)

            def _stream(self, body: dict, answer: Answer) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Connection", "close")
                self.end_headers()
                if answer.tool_calls:
                    calls = [{"index": i, **call} for i, call in enumerate(answer.tool_calls)]
                    self._chunk(body, {"role": "assistant", "tool_calls": calls}, None)
                for i, token in enumerate([] if answer.tool_calls else answer.tokens):
                    chunk = {
                        "id": "chatcmpl-fake",
                        "object": "chat.completion.chunk",
                        "model": body.get("model"),
                        "choices": [{"index": 0, "delta": {"content": token}, "finish_reason": None}],
                    }
                    self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
                    self.wfile.flush()
                    if i == 0 and answer.hold_after_first_token is not None:
                        answer.hold_after_first_token.wait(timeout=10)
                    if answer.cut_after_first_token:
                        self.close_connection = True
                        return
                if answer.error_in_stream is not None:
                    self.wfile.write(
                        f"data: {json.dumps(answer.error_in_stream)}\n\ndata: [DONE]\n\n".encode()
                    )
                    self.wfile.flush()
                    self.close_connection = True
                    return
                self._chunk(body, {}, "tool_calls" if answer.tool_calls else "stop")
                if (body.get("stream_options") or {}).get("include_usage"):  # OpenAI's rule for usage
                    final = {"model": body.get("model"), "choices": [], "usage": answer.usage}
                    self.wfile.write(f"data: {json.dumps(final)}\n\n".encode())
                self.wfile.write(b"data: [DONE]\n\n")
                self.wfile.flush()
                self.close_connection = True

            def _raw_stream(self, chunks: list[object]) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Connection", "close")
                self.end_headers()
                for chunk in [*chunks, "[DONE]"]:
                    data = chunk if isinstance(chunk, str) else json.dumps(chunk)
                    self.wfile.write(f"data: {data}\n\n".encode())
                self.wfile.flush()
                self.close_connection = True

            def _chunk(self, body: dict, delta: dict, finish_reason: str | None) -> None:
                chunk = {
                    "id": "chatcmpl-fake",
                    "object": "chat.completion.chunk",
                    "created": int(time.time()),
                    "model": body.get("model"),
                    "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason}],
                }
                self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
                self.wfile.flush()

        class Server(ThreadingHTTPServer):
            daemon_threads = True

            def handle_error(self, request, client_address) -> None:
                """Clients that hang up mid-answer (timeout tests) are expected; stay quiet."""

        self._server = Server(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_port}/v1"
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def script(self, *answers: Answer) -> None:
        self.answers.extend(answers)

    @property
    def last_messages(self) -> list[dict]:
        return self.received[-1].body["messages"]

    def start(self) -> FakeLLM:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
