"""A stand-in model that answers with what it was sent: see the memory AURA injects, with no real model.

    .venv/bin/python scripts/echo_model.py 8001
    AURA_LLM_BASE_URL=http://127.0.0.1:8001/v1 AURA_LLM_MODEL=echo scripts/run

Speaks just enough of OpenAI's chat-completions protocol (whole replies and streams) for the
walk-through in docs/openai.md. Not for production, and not used by the tests (tests/fake_llm.py).
"""

from __future__ import annotations

import json
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def describe(messages: list[dict]) -> str:
    lines = [f"The model was sent {len(messages)} messages:"]
    for message in messages:
        content = message.get("content")
        text = content if isinstance(content, str) else json.dumps(content)
        lines.append(f"[{message.get('role')}] {text}")
    return "\n".join(lines)


class EchoModel(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
        reply = describe(body.get("messages") or [])
        base = {"id": "chatcmpl-echo", "created": int(time.time()), "model": body.get("model", "echo")}
        usage = {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0}
        if body.get("stream"):
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.end_headers()
            for delta, finish in (({"role": "assistant", "content": reply}, None), ({}, "stop")):
                choice = {"index": 0, "delta": delta, "finish_reason": finish}
                chunk = {**base, "object": "chat.completion.chunk", "choices": [choice]}
                self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
            self.wfile.write(b"data: [DONE]\n\n")
            self.close_connection = True
            return
        choice = {"index": 0, "message": {"role": "assistant", "content": reply}, "finish_reason": "stop"}
        data = json.dumps({**base, "object": "chat.completion", "choices": [choice], "usage": usage}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


if __name__ == "__main__":
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 8001
    print(f"echo model on http://127.0.0.1:{port}/v1 (Ctrl-C stops it)", flush=True)
    ThreadingHTTPServer(("127.0.0.1", port), EchoModel).serve_forever()
