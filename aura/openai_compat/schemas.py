"""OpenAI's chat-completions request, checked before it goes upstream, and its answers as documented.

What AURA itself reads (model, messages, stream, user, metadata) is checked as OpenAI checks it.
The sampling and tool fields are only type-checked (a clear 400 here beats an upstream error
relayed from the model server) and are then passed on exactly as the client sent them (``Raw``
fields, no conversion). Fields AURA does not know are passed on too (``unknown = INCLUDE``).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Any

from marshmallow import INCLUDE, Schema, ValidationError, fields, pre_load, validate, validates

from aura.schemas import MAX_CONVERSATION_ID, validate_storable_text

MAX_MESSAGES = 2_000  # the body limit (AURA_MAX_BODY_BYTES) bounds them too
ROLES = ("system", "developer", "user", "assistant", "tool", "function")
MEMORY_SWITCH = "aura_memory"  # metadata.aura_memory = "off": a temporary chat
OBJECT = {"type": "object", "additionalProperties": True}
TYPED_OBJECT = {**OBJECT, "required": ["type"], "properties": {"type": {"type": "string"}}}
OBJECT_LIST = {"type": "array", "items": TYPED_OBJECT}
USER_ID = re.compile(r"[1-9][0-9]{0,17}")  # as aura.schemas.USER_ID_STRING, anchored below
NO_NUL = "^[^\\u0000]*$"


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check(test: Callable[[Any], bool], message: str) -> Callable[[Any], None]:
    def check(value: Any) -> None:
        if value is not None and not test(value):
            raise ValidationError(message)

    return check


def _typed_objects(value: Any) -> bool:
    return isinstance(value, list) and all(
        isinstance(item, dict) and isinstance(item.get("type"), str) for item in value
    )


def _passthrough(openapi: dict, test: Callable[[Any], bool], message: str) -> fields.Raw:
    """A field passed on unchanged: documented as ``openapi`` says, refused (400) when ``test`` fails."""
    return fields.Raw(allow_none=True, validate=_check(test, message), metadata={**openapi, "nullable": True})


def _number(low: float, high: float) -> fields.Raw:
    return _passthrough(
        {"type": "number", "minimum": low, "maximum": high},
        lambda v: _is_number(v) and low <= v <= high,
        f"Must be a number from {low:g} to {high:g}.",
    )


MAX_SAFE_INTEGER = 2**63 - 1  # what model servers parse: a longer integer is no field's value


def unencodable_path(value: Any, path: tuple = ()) -> tuple | None:
    """Where in a parsed body a value sits that cannot be sent on as JSON text: NaN or Infinity
    (Python's JSON parser accepts them, no JSON encoder may write them), an integer past 64 bits,
    or a string with an unpaired surrogate ("\\ud800" parses, cannot be UTF-8). None: all fine."""
    if isinstance(value, float) and not math.isfinite(value):
        return path
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > MAX_SAFE_INTEGER:
        return path
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return path
        return None
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, item in items:
        found = unencodable_path(key, (*path, key)) if isinstance(key, str) else None
        found = found if found is not None else unencodable_path(item, (*path, key))
        if found is not None:
            return found
    return None


def _positive_int() -> fields.Raw:
    return _passthrough(
        {"type": "integer", "minimum": 1}, lambda v: _is_int(v) and v >= 1, "Must be an integer >= 1."
    )


class OpenAIMessageSchema(Schema):
    """One message of the conversation; its other fields (e.g. refusal, audio) pass through."""

    class Meta:
        unknown = INCLUDE

    role = fields.String(required=True, validate=validate.OneOf(ROLES))
    content = _passthrough(
        {
            "description": "A string, or content parts ({type: text, text}, images...); "
            "null for an assistant message that only calls tools.",
            "oneOf": [{"type": "string"}, OBJECT_LIST],
        },
        lambda v: isinstance(v, str) or _typed_objects(v),
        "Must be a string or a list of content parts, each an object with a type.",
    )
    name = fields.String(validate=validate.Length(max=256))
    tool_call_id = fields.String(validate=validate.Length(max=256))
    tool_calls = _passthrough(OBJECT_LIST, _typed_objects, "Must be a list of tool calls, each with a type.")


class ChatCompletionRequestSchema(Schema):
    """POST /v1/chat/completions, as OpenAI defines it."""

    class Meta:
        unknown = INCLUDE

    @pre_load
    def _encodable(self, data: Any, **_: Any) -> Any:
        """Refuse (400, naming the field) what AURA would forward but no encoder can write: a
        500 before, for NaN in an unknown field or a lone surrogate anywhere."""
        path = unencodable_path(data) if isinstance(data, dict) else None
        if path:
            where = ".".join(str(part) for part in path)
            raise ValidationError(
                {str(path[0]): [f"{where}: NaN, Infinity, an integer past 64 bits or invalid Unicode."]}
            )
        return data

    model = fields.String(
        required=True,
        validate=validate.Length(min=1, max=256),
        metadata={"description": "AURA_LLM_MODEL, or a model in AURA_OPENAI_MODELS (GET /v1/models)."},
    )
    messages = fields.List(
        fields.Nested(OpenAIMessageSchema), required=True, validate=validate.Length(min=1, max=MAX_MESSAGES)
    )
    stream = _passthrough({"type": "boolean"}, lambda v: isinstance(v, bool), "Must be true or false.")
    stream_options = _passthrough(
        {**OBJECT, "properties": {"include_usage": {"type": "boolean"}}},
        lambda v: isinstance(v, dict) and isinstance(v.get("include_usage", False), bool),
        "Must be an object; include_usage true or false.",
    )
    temperature = _number(0, 2)
    top_p = _number(0, 1)
    max_tokens = _positive_int()
    max_completion_tokens = _positive_int()
    seed = _passthrough({"type": "integer"}, _is_int, "Must be an integer.")
    stop = _passthrough(
        {"oneOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}, "maxItems": 4}]},
        lambda v: (
            isinstance(v, str) or (isinstance(v, list) and len(v) <= 4 and all(isinstance(s, str) for s in v))
        ),
        "Must be a string or a list of at most 4 strings.",
    )
    response_format = _passthrough(
        TYPED_OBJECT,
        lambda v: isinstance(v, dict) and isinstance(v.get("type"), str),
        "Must be an object with a type.",
    )
    tools = _passthrough(OBJECT_LIST, _typed_objects, "Must be a list of tools, each with a type.")
    tool_choice = _passthrough(
        {"oneOf": [{"type": "string"}, OBJECT]},
        lambda v: isinstance(v, str | dict),
        "Must be a string (none, auto, required) or an object naming a tool.",
    )
    user = fields.String(
        validate=validate.Regexp(USER_ID, error='Must be the numeric AURA user id, e.g. "42".'),
        metadata={
            "description": "The AURA user id (digits) whose memory to use: required with a service token; "
            "with a user token, absent or that token's own id.",
            "pattern": f"^{USER_ID.pattern}$",
        },
    )
    safety_identifier = fields.String(
        validate=validate.Length(max=256),
        metadata={
            "description": "OpenAI's successor to `user`. When `user` is absent and this is all digits, "
            "it is the AURA user id; any other value (a hashed id) is ignored. Never forwarded.",
        },
    )
    metadata = fields.Dict(
        keys=fields.String(),
        values=fields.String(
            validate=[validate.Length(max=512), validate_storable_text], metadata={"pattern": NO_NUL}
        ),
        allow_none=True,
        metadata={
            "description": "AURA reads `conversation_id` (recorded with the turn) and "
            f'`{MEMORY_SWITCH}`: "off" for a temporary chat (no memory read, nothing recorded).',
            "maxProperties": 16,
        },
    )

    @validates("metadata")
    def _metadata(self, value: dict | None, **_: Any) -> None:
        if value is not None and len(value) > 16:
            raise ValidationError("At most 16 metadata pairs.")
        if value and len(value.get("conversation_id") or "") > MAX_CONVERSATION_ID:
            # The same limit as AURA's own route: the turn is recorded with it (a longer one was a
            # 200 whose turn was silently not recorded on PostgreSQL).
            raise ValidationError(f"metadata.conversation_id: at most {MAX_CONVERSATION_ID} characters.")


class ChatCompletionSchema(Schema):
    """The model's chat.completion, passed on as it came (tool calls and finish reasons intact)."""

    class Meta:
        unknown = INCLUDE

    id = fields.String(required=True)
    object = fields.String(required=True, metadata={"example": "chat.completion"})
    model = fields.String(required=True)
    choices = fields.List(fields.Dict(), required=True)
    usage = fields.Dict(allow_none=True)


class ModelSchema(Schema):
    id = fields.String(required=True)
    object = fields.String(required=True, metadata={"example": "model"})
    created = fields.Integer(required=True)
    owned_by = fields.String(required=True)


class ModelListSchema(Schema):
    object = fields.String(required=True, metadata={"example": "list"})
    data = fields.List(fields.Nested(ModelSchema), required=True)


class OpenAIErrorDetailSchema(Schema):
    message = fields.String(required=True)
    type = fields.String(required=True, metadata={"example": "invalid_request_error"})
    param = fields.String(required=True, allow_none=True)
    code = fields.String(required=True, allow_none=True)


class OpenAIErrorSchema(Schema):
    """OpenAI's error envelope, so the SDKs raise their typed errors."""

    error = fields.Nested(OpenAIErrorDetailSchema, required=True)
