"""POST /api/v1/orcha/chat: every chat turn carries the user's memory to the model."""

from __future__ import annotations

import json
from collections.abc import Iterator

from flask import Response, stream_with_context

from aura.chat.metrics import CHAT_CALLS
from aura.chat.schemas import ChatReplySchema, ChatRequestSchema
from aura.chat.service import PreparedChat, model_call, prepare_chat, record_reply, stream_failed
from aura.llm.client import StreamEvent, llm_client
from aura.llm.errors import LLMError
from aura.web.api_common import api_blueprint, authorize_chat, documented_errors, model_error_response
from aura.web.deadline import suspend_request_deadline

# The same 200 is JSON, or Server-Sent Events when the request asks to stream.
STREAM_OR_JSON_REPLY = {
    "description": "The reply (JSON), or with `stream: true` an SSE stream of token/done/error events",
    "content": {
        "application/json": {"schema": {"$ref": "#/components/schemas/ChatReply"}},
        "text/event-stream": {
            "schema": {
                "type": "object",
                "description": "One Server-Sent Event; `data` is JSON: {content} (token) or the reply (done)",
                "properties": {
                    "event": {"type": "string", "enum": ["token", "done", "error"]},
                    "data": {"type": "string"},
                },
                "required": ["event", "data"],
            }
        },
    },
}

blp = api_blueprint("chat", __name__, url_prefix="/api/v1/orcha", description="Memory-aware chat")


def _sse(event: str, data: dict) -> str:
    return f"event: {event}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"


def _record(body: dict, reply: str) -> None:
    if body["use_memory"]:  # a temporary chat is never kept
        record_reply(body["user_id"], body["message"], reply, body["conversation_id"])


def _stream(prepared: PreparedChat, events: Iterator[StreamEvent], body: dict) -> Iterator[str]:
    """Relay tokens as they arrive; a final `done` event (or `error`) closes the stream.

    The turn is recorded once the model's reply is complete; a client that hangs up earlier
    closes this generator at a yield, and nothing is recorded.
    """
    parts: list[str] = []
    try:
        for event in events:
            if event.done:
                _record(body, "".join(parts))
                yield _sse(
                    "done",
                    {
                        "status": "ok",
                        "reply": "".join(parts),
                        "model": event.model,
                        "usage": event.usage,
                        "memory_used": prepared.memory_used,
                    },
                )
                return
            parts.append(event.content)
            yield _sse("token", {"content": event.content})
    except LLMError as error:
        stream_failed(error)
        yield _sse("error", {"status": "error", "message": error.message, "errors": {}})


@blp.route("/chat", methods=["POST"])
@blp.arguments(ChatRequestSchema)
@blp.response(200, ChatReplySchema)
@blp.doc(responses={"200": STREAM_OR_JSON_REPLY})
@documented_errors(
    blp, 400, 403, 413, 415, descriptions={503: "No model is configured, or the database is unavailable"}
)
@blp.alt_response(502, description="The model failed or is unreachable", schema="Error")
@blp.alt_response(504, description="The model timed out", schema="Error")
def chat(body: dict):
    """One chat turn: AURA's system prompt, the user's memory, the history, the new message.

    With `"stream": true` the reply is `text/event-stream`: `token` events as the model sends
    them, then one `done` event with the whole reply (or an `error` event).
    """
    authorize_chat(body["user_id"])
    prepared = prepare_chat(body["user_id"], body["message"], body["history"], body["use_memory"])
    if body["dry_run"]:
        CHAT_CALLS.labels("dry_run").inc()
        return {
            "status": "ok",
            "dry_run": True,
            "memory_used": prepared.memory_used,
            "messages": prepared.messages,
        }
    suspend_request_deadline()  # the database work is done; the model call has its own timeouts
    client = llm_client()
    try:
        with model_call(streamed=body["stream"]):
            if body["stream"]:
                events = client.open_stream(prepared.messages)
            else:
                completion = client.complete(prepared.messages)
    except LLMError as error:
        return model_error_response(error)
    if body["stream"]:
        return Response(
            stream_with_context(_stream(prepared, events, body)),
            mimetype="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )
    _record(body, completion.reply)
    return {
        "status": "ok",
        "reply": completion.reply,
        "model": completion.model,
        "usage": completion.usage,
        "memory_used": prepared.memory_used,
    }
