"""Schemas of a user's memory data as the API reads and writes it: the memory, its settings and
revisions, and the whole export (with the recorded turns and a pending proposal)."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields, validate, validates

from aura.schemas import (
    TEXT_PATTERN,
    PaginationSchema,
    StrictBoolean,
    StrictSchema,
    UserId,
    expected_version_field,
    validate_memory_content,
)


class MemorySaveSchema(StrictSchema):
    """Body of POST /memory: exactly what the frontend's saveMemory() sends, plus an optional precondition."""

    user_id = UserId(required=True, metadata={"example": 42})
    content = fields.String(
        required=True,
        metadata={
            "description": "The memory text (an LLM-written summary).",
            "example": "Likes hiking.",
            "pattern": TEXT_PATTERN,
            "minLength": 1,
        },
    )

    expected_version = expected_version_field()

    @validates("content")
    def _content(self, value: str, **_: Any) -> None:
        validate_memory_content(value)


class RestoreSchema(StrictSchema):
    """Optional body of a restore: the same precondition a save may carry."""

    expected_version = expected_version_field()


class SettingsSchema(StrictSchema):
    """A user's memory settings, as read and written (PUT replaces them whole: omitted fields take
    their defaults, so {"enabled": false} still means what it always meant)."""

    enabled = StrictBoolean(
        load_default=True,
        metadata={"description": "false: chat never uses the memory and saves are refused (409)."},
    )
    consolidation = fields.String(
        load_default="default",
        validate=validate.OneOf(["default", "auto", "review"]),
        metadata={
            "description": "How consolidations change the memory: auto (at once), review (as a proposal "
            "to accept), default (the deployment's AURA_CONSOLIDATION_MODE)."
        },
    )


class SettingsEnvelopeSchema(Schema):
    status = fields.String(required=True, metadata={"example": "ok"})
    settings = fields.Nested(SettingsSchema, required=True)


class MemorySchema(Schema):
    """A memory as the frontend's getMemory() reads it (``version`` is also its ETag)."""

    content = fields.String(required=True)
    version = fields.Integer(
        required=True, metadata={"description": "+1 on every change; send it back as If-Match."}
    )
    created_at = fields.DateTime(format="iso", required=True)
    updated_at = fields.DateTime(format="iso", required=True)


class MemoryEnvelopeSchema(Schema):
    status = fields.String(required=True, metadata={"example": "ok"})
    memory = fields.Nested(MemorySchema, allow_none=True, required=True)


class MemorySavedSchema(MemoryEnvelopeSchema):
    message = fields.String(required=True, metadata={"example": "Memory saved successfully"})


class MemoryDeletedSchema(Schema):
    status = fields.String(required=True)
    message = fields.String(required=True)
    deleted = fields.Boolean(required=True, metadata={"description": "False if there was nothing to delete."})


class MemoryRestoredSchema(MemoryEnvelopeSchema):
    message = fields.String(required=True, metadata={"example": "Revision restored"})


class RevisionSchema(Schema):
    id = fields.Integer(required=True, metadata={"description": "Internal id (for restore)."})
    number = fields.Integer(required=True, metadata={"description": "1, 2, 3 ... per user, oldest first."})
    content = fields.String(required=True)
    source = fields.String(
        required=True, metadata={"description": "frontend, staff, restore, consolidation or mcp"}
    )
    actor = fields.String(allow_none=True)
    created_at = fields.DateTime(format="iso", required=True)
    details = fields.Dict(
        allow_none=True,
        metadata={
            "description": "How AURA wrote it, for consolidations: model, prompt, conversation_id, "
            "turns_used, turns_received, chars_used, transcript_cut, usage (tokens), model_calls, "
            "condensed, remerged. null for other sources."
        },
    )


class RevisionPageSchema(Schema):
    status = fields.String(required=True)
    revisions = fields.List(fields.Nested(RevisionSchema), required=True)
    pagination = fields.Nested(PaginationSchema, required=True)


class ConversationTurnSchema(Schema):
    """A recorded chat turn (credentials already removed)."""

    conversation_id = fields.String(allow_none=True, required=True)
    message = fields.String(required=True, metadata={"description": "What the user said."})
    reply = fields.String(required=True, metadata={"description": "What the assistant answered."})
    created_at = fields.DateTime(format="iso", required=True)


class ProposalSchema(StrictSchema):
    """A consolidation waiting for review."""

    id = fields.Integer(required=True, metadata={"description": "Name it when accepting or rejecting."})
    content = fields.String(required=True)
    based_on_version = fields.Integer(
        required=True, metadata={"description": "The memory version it merged."}
    )
    created_at = fields.DateTime(format="iso", required=True)
    source = fields.String(required=True, metadata={"example": "consolidation"})
    reason = fields.String(
        required=True,
        metadata={
            "description": "review (the mode), shrink (the guard) or dropped_facts (the retention check)"
        },
    )
    details = fields.Dict(allow_none=True, metadata={"description": "Provenance, as on revisions."})


class ExportSchema(Schema):
    """Everything AURA keeps about a user's memory (data portability), revisions oldest first."""

    status = fields.String(required=True)
    format = fields.Integer(required=True, metadata={"description": "Version of this document's layout."})
    user_id = fields.Integer(required=True)
    exported_at = fields.DateTime(format="iso", required=True)
    memory = fields.Nested(MemorySchema, allow_none=True, required=True)
    settings = fields.Nested(SettingsSchema, required=True)
    revisions = fields.List(fields.Nested(RevisionSchema), required=True)
    conversations = fields.List(
        fields.Nested(ConversationTurnSchema),
        required=True,
        metadata={"description": "Recorded chat turns, oldest first (empty unless recording is on)."},
    )
    proposal = fields.Nested(
        ProposalSchema,
        allow_none=True,
        required=True,
        metadata={"description": "A consolidation awaiting review."},
    )
