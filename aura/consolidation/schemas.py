"""Request and response schemas of POST /api/v1/memory/<user_id>/consolidate."""

from __future__ import annotations

from datetime import UTC
from typing import Any

from flask import current_app
from marshmallow import ValidationError, fields, validate, validates

from aura.memory.schemas import MemorySchema, ProposalSchema
from aura.schemas import (
    TEXT_PATTERN,
    ErrorSchema,
    StrictBoolean,
    StrictSchema,
    conversation_id_field,
    expected_version_field,
    validate_storable_text,
)

ROLES = ("user", "assistant")


def _role(value: str) -> None:
    if value == "system":
        raise ValidationError(
            "A system turn cannot be consolidated: memory is built only from what the user and the "
            "assistant said."
        )
    if value not in ROLES:
        raise ValidationError(f"Must be one of: {', '.join(ROLES)}.")


def _turn_text(value: str) -> None:
    if not value.strip():
        raise ValidationError("Turn content must not be empty.")
    validate_storable_text(value)


class ConsolidationTurnSchema(StrictSchema):
    role = fields.String(required=True, validate=_role, metadata={"enum": list(ROLES)})
    content = fields.String(
        required=True,
        validate=_turn_text,
        metadata={
            "description": "The turn's text; longer turns are cut to AURA_CONSOLIDATION_MAX_TURN_CHARS.",
            "pattern": TEXT_PATTERN,
            "minLength": 1,
        },
    )
    created_at = fields.AwareDateTime(
        format="iso",
        default_timezone=UTC,
        metadata={"description": "When it was said (UTC if no offset): lets the model resolve 'next week'."},
    )


class ConsolidateSchema(StrictSchema):
    messages = fields.List(
        fields.Nested(ConsolidationTurnSchema),
        required=True,
        validate=validate.Length(min=1, error="Send at least one turn."),
        metadata={"description": "The conversation, oldest turn first; the newest turns are kept first."},
    )
    conversation_id = conversation_id_field("Recorded with the revision (provenance).")
    preview = StrictBoolean(
        load_default=False,
        metadata={"description": "true: answer with the proposed memory and store nothing."},
    )
    expected_version = expected_version_field()

    @validates("messages")
    def _messages(self, value: list, **_: Any) -> None:
        limit = current_app.config["AURA_CONSOLIDATION_MAX_TURNS"]
        if len(value) > limit:
            raise ValidationError(f"{len(value):,} turns; the maximum is {limit:,} (send the newest).")


class ProposalConflictSchema(ErrorSchema):
    """409 of accept / reject: the error shape plus what the caller needs to decide again."""

    pending_proposal_id = fields.Integer(
        allow_none=True, metadata={"description": "proposal_replaced: the pending proposal now (null: none)."}
    )
    current_version = fields.Integer(
        allow_none=True, metadata={"description": "proposal_stale: the version the memory is at now."}
    )


class ProposalEnvelopeSchema(StrictSchema):
    status = fields.String(required=True, metadata={"example": "ok"})
    proposal = fields.Nested(ProposalSchema, allow_none=True, required=True)


class ProposalDecisionSchema(StrictSchema):
    """Optional body of accept / reject: the proposal the caller saw (409 if it was replaced)."""

    proposal_id = fields.Integer(strict=True, validate=validate.Range(min=1, max=10**18 - 1))
    expected_version = expected_version_field()


class ProposalRejectedSchema(StrictSchema):
    status = fields.String(required=True)
    message = fields.String(required=True)
    proposal = fields.Nested(ProposalSchema, required=True, metadata={"description": "What was dropped."})


class ProposedSchema(StrictSchema):
    content = fields.String(required=True)


class ConsolidationResultSchema(StrictSchema):
    """A consolidation's answer; a preview has ``preview``, ``proposed`` and ``based_on_version``."""

    status = fields.String(required=True, metadata={"example": "ok"})
    message = fields.String(metadata={"example": "Memory consolidated"})
    changed = fields.Boolean(metadata={"description": "false: the memory was already up to date."})
    memory = fields.Nested(MemorySchema, allow_none=True, metadata={"description": "The memory now."})
    turns_used = fields.Integer(
        required=True, metadata={"description": "Turns sent to the model (the newest that fit the budget)."}
    )
    transcript_cut = fields.Boolean(
        required=True, metadata={"description": "Older turns were left out, or a turn was shortened."}
    )
    preview = fields.Boolean(metadata={"description": "Present (true) in a preview: nothing was stored."})
    proposed = fields.Nested(
        ProposedSchema,
        allow_none=True,
        metadata={"description": "Preview: the memory that would be stored (null: nothing to remember)."},
    )
    based_on_version = fields.Integer(
        metadata={"description": "Preview: the memory version it was merged from (0: none)."}
    )
    proposal = fields.Nested(
        ProposalSchema, metadata={"description": "Stored for review instead of changing the memory."}
    )
    held_for_review = fields.String(
        metadata={
            "description": "Why the proposal waits: review (the mode), shrink (the guard) or dropped_facts "
            "(the result loses facts nobody asked to forget; never applied, in any mode).",
            "enum": ["review", "shrink", "dropped_facts"],
        }
    )
    declined = fields.String(
        metadata={
            "description": "Present when the model answered and AURA kept the memory as it was: why.",
            "enum": ["refusal", "meta_text", "not_grounded", "cut_off", "edits_refused", "unreadable_edits"],
        }
    )
