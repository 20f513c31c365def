"""POST /v1/chat/completions and GET /v1/models: OpenAI's protocol, so any app built on an OpenAI SDK
gets the user's memory by pointing its base URL at AURA (docs/openai.md).

The same rate limits, CORS, metrics, logs, deadlines and serving model as /api/v1/orcha/chat,
through the same chat service; only the request and answer shapes are OpenAI's.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator

from flask import Flask, Response, jsonify, stream_with_context

from aura.chat.service import model_call, record_reply, stream_failed
from aura.llm.client import llm_client
from aura.llm.errors import LLMError
from aura.openai_compat.errors import CALLER_FAULTS, model_failure, openai_error
from aura.openai_compat.schemas import (
    ChatCompletionRequestSchema,
    ChatCompletionSchema,
    ModelListSchema,
    ModelSchema,
    OpenAIErrorSchema,
)
from aura.openai_compat.service import (
    PreparedCompletion,
    check_model,
    configured_models,
    load_models,
    prepare_completion,
    reply_text,
    turn_to_record,
)
from aura.web.api_common import api_blueprint
from aura.web.deadline import suspend_request_deadline
from aura.web.errors import register_error_format

blp = api_blueprint(
    "openai",
    __name__,
    url_prefix="/v1",
    description="OpenAI-compatible chat completions: the user's memory injected, OpenAI's shapes and errors",
)
ERRORS = {
    400: "Invalid request (OpenAI's invalid_request_error; `param` names the field)",
    401: "Missing or invalid API key (an AURA service token or user token)",
    403: "A user token naming another user in `user`",
    404: "No such model here (model_not_found)",
    429: "Rate limit exceeded (see Retry-After)",
    502: "The model failed or is unreachable",
    503: "No model is configured, the model is rate-limiting AURA, or the database is unavailable",
    504: "The model timed out",
}
STREAM_OR_JSON = {
    "description": "A chat.completion, or with `stream: true` chat.completion.chunk events ending in [DONE]",
    "content": {
        "application/json": {"schema": {"$ref": "#/components/schemas/ChatCompletion"}},
        "text/event-stream": {
            "schema": {
                "type": "object",
                "description": "One Server-Sent Event: `data` is a chat.completion.chunk (JSON), an "
                "`{error}` object if the model failed mid-stream, or `[DONE]` at the end",
                "properties": {"data": {"type": "string"}},
                "required": ["data"],
            }
        },
    },
}


def openai_errors(*codes: int) -> Callable:
    """Document the errors a route answers, in OpenAI's envelope."""

    def decorate(view: Callable) -> Callable:
        for code in codes:
            view = blp.alt_response(code, description=ERRORS[code], schema=OpenAIErrorSchema)(view)
        return view

    return decorate


def init_openai_compat(app: Flask) -> None:
    """The models it serves, and every error under /v1/ in OpenAI's envelope (auth, limits,
    validation, the database...)."""
    load_models(app)
    register_error_format(app, "/v1/", openai_error)


def _event(data: dict) -> str:
    return f"data: {json.dumps(data, ensure_ascii=False, separators=(',', ':'))}\n\n"


def _record(prepared: PreparedCompletion, reply: str | None) -> None:
    turn = turn_to_record(prepared.body["messages"], reply) if prepared.use_memory else None
    if turn is not None:
        record_reply(prepared.user_id, *turn, prepared.conversation_id)


def _relay(prepared: PreparedCompletion, chunks: Iterator[dict]) -> Iterator[str]:
    """Each chunk as the model sent it, then [DONE]; the turn is recorded once the reply is whole.
    A failure after the stream began ends it with an error event, which the SDKs raise."""
    parts: list[str] = []
    try:
        for chunk in chunks:
            for choice in chunk.get("choices") or ():  # the client checked their shape
                content = (choice.get("delta") or {}).get("content")
                if choice.get("index", 0) == 0 and isinstance(content, str):  # n > 1: the first is kept
                    parts.append(content)
            yield _event(chunk)
    except LLMError as error:
        stream_failed(error)
        yield _event(
            {"error": {"message": error.message, "type": "server_error", "param": None, "code": error.code}}
        )
        return
    _record(prepared, "".join(parts))
    yield "data: [DONE]\n\n"


@blp.route("/chat/completions", methods=["POST"])
@blp.arguments(ChatCompletionRequestSchema)
@blp.response(200, ChatCompletionSchema)
@blp.doc(responses={"200": STREAM_OR_JSON})
@openai_errors(400, 401, 403, 404, 429, 502, 503, 504)
def chat_completions(body: dict):
    """Chat completions with the user's memory injected after the caller's own system messages.

    `user` names the AURA user (required with a service token); `metadata.aura_memory: "off"`
    (or the `X-Aura-Memory: off` header) makes it a temporary chat. Everything else goes to the
    model as sent, and its answer comes back as it wrote it.
    """
    prepared = prepare_completion(body)
    suspend_request_deadline()  # the database work is done; the model call has its own timeouts
    client = llm_client()
    streamed = prepared.body.get("stream") is True
    try:
        with model_call(streamed=streamed, caller_faults=CALLER_FAULTS):
            if streamed:
                chunks = client.open_raw_stream(prepared.body)
            else:
                completion = client.complete_raw(prepared.body)
    except LLMError as error:
        return model_failure(error)
    if streamed:
        return Response(
            stream_with_context(_relay(prepared, chunks)),
            mimetype="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )
    _record(prepared, reply_text(completion))
    return jsonify(completion)


def _model(name: str) -> dict:
    return {"id": name, "object": "model", "created": 0, "owned_by": "aura"}


@blp.route("/models", methods=["GET"])
@blp.response(200, ModelListSchema)
@openai_errors(401, 429, 503)
def list_models():
    """The models a chat completion may name: AURA_LLM_MODEL and AURA_OPENAI_MODELS."""
    return {"object": "list", "data": [_model(name) for name in configured_models()]}


@blp.route("/models/<path:model>", methods=["GET"])
@blp.response(200, ModelSchema)
@openai_errors(401, 404, 429, 503)
def retrieve_model(model: str):
    """One model, or 404 model_not_found."""
    check_model(model)
    return _model(model)
