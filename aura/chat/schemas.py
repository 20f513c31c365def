"""Request and response schemas of the chat endpoint."""

from __future__ import annotations

from typing import Any

from flask import current_app
from marshmallow import Schema, ValidationError, fields, validate, validates

from aura.schemas import TEXT_PATTERN, StrictBoolean, UserId, conversation_id_field, validate_text


def _validate_chat_text(value: str) -> None:
    validate_text(value, max_chars=current_app.config["AURA_CHAT_MAX_MESSAGE_CHARS"], what="Message")


class TurnSchema(Schema):
    role = fields.String(required=True, validate=validate.OneOf(["user", "assistant"]))
    content = fields.String(
        required=True, validate=_validate_chat_text, metadata={"pattern": TEXT_PATTERN, "minLength": 1}
    )


class ChatRequestSchema(Schema):
    user_id = UserId(required=True, metadata={"example": 42})
    message = fields.String(
        required=True,
        validate=_validate_chat_text,
        metadata={"example": "Plan my weekend", "pattern": TEXT_PATTERN, "minLength": 1},
    )
    history = fields.List(fields.Nested(TurnSchema), load_default=list)
    stream = StrictBoolean(load_default=False, metadata={"description": "Reply as Server-Sent Events."})
    use_memory = StrictBoolean(
        load_default=True,
        metadata={"description": "false: a temporary chat; the user's memory is neither read nor sent."},
    )
    conversation_id = conversation_id_field(
        "Recorded with the turn when the deployment records conversations."
    )
    dry_run = StrictBoolean(
        load_default=False,
        metadata={"description": "Return the messages that would be sent, without calling the model."},
    )

    @validates("history")
    def _history_length(self, value: list, **_: Any) -> None:
        limit = current_app.config["AURA_CHAT_MAX_HISTORY_TURNS"]
        if len(value) > limit:
            raise ValidationError(f"History has {len(value)} turns; the maximum is {limit}.")


class MessageSchema(Schema):
    role = fields.String(required=True)
    content = fields.String(required=True)


class ChatReplySchema(Schema):
    status = fields.String(required=True)
    reply = fields.String(metadata={"description": "The model's answer (absent in a dry run)."})
    model = fields.String()
    usage = fields.Dict()
    memory_used = fields.Boolean(required=True)
    dry_run = fields.Boolean()
    messages = fields.List(fields.Nested(MessageSchema), metadata={"description": "Only in a dry run."})
