"""Marshmallow schemas shared by the JSON API and the admin pages: one set of rules."""

from __future__ import annotations

import re
from typing import Any

from flask import current_app
from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate, validates

from aura.error_codes import ERROR_CODES

# Ids fit BIGINT and read the same as a JSON integer or a digit string (at most 18 digits),
# so the OpenAPI pattern below states the rule exactly.
MAX_USER_ID = 10**18 - 1
MAX_VERSION = 999_999_999  # fits the INTEGER version columns, and IF_MATCH_PATTERN states it exactly


USER_ID_STRING = re.compile(r"[1-9][0-9]{0,17}")  # digits, no sign or zero-padding
# Exactly the characters Python's str.isspace()/strip() treat as blank, spelled out because
# regex engines disagree on what \s means.
_BLANK = r"\t\n\u000b\f\r\u001c-\u001f \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
# Non-blank text without NUL (PostgreSQL cannot store NUL): the OpenAPI form of the checks below.
TEXT_PATTERN = rf"^[^\u0000]*[^\u0000{_BLANK}][^\u0000]*$"


class UserId(fields.Integer):
    """A positive user id: a JSON integer, or a string of digits (the chat frontend sends "42").

    Booleans, floats, signs, zero-padding and whitespace are refused rather than coerced.
    Documented in OpenAPI as integer-or-digit-string (see aura.api_common).
    """

    default_error_messages = {"invalid": "Must be a positive integer."}

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("validate", validate.Range(min=1, max=MAX_USER_ID))
        super().__init__(strict=True, **kwargs)

    def _deserialize(self, value: Any, attr, data, **kwargs: Any) -> int:
        if isinstance(value, str) and USER_ID_STRING.fullmatch(value):
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.make_error("invalid")
        return super()._deserialize(value, attr, data, **kwargs)


class StrictBoolean(fields.Boolean):
    """JSON true/false only: 0, 1, "yes" and friends are refused, not guessed."""

    def _deserialize(self, value: Any, attr, data, **kwargs: Any) -> bool:
        if not isinstance(value, bool):  # not a set lookup: 0 == False and 1 == True
            raise self.make_error("invalid", input=value)
        return value


class StrictSchema(Schema):
    """Unknown fields are an error (marshmallow 4's default), so client typos show up at once."""


def validate_storable_text(value: str) -> None:
    """Text both databases can store: PostgreSQL refuses NUL, UTF-8 refuses lone surrogates."""
    if "\x00" in value:
        raise ValidationError("Text must not contain NUL characters.")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValidationError("Text must be valid Unicode (no unpaired surrogates).") from None


def validate_text(value: str, *, max_chars: int, what: str) -> None:
    """Non-blank, storable and at most ``max_chars`` long: the rule for every free-text field."""
    if not value.strip():
        raise ValidationError(f"{what} must not be empty.")
    validate_storable_text(value)
    if len(value) > max_chars:
        raise ValidationError(f"{what} is {len(value):,} characters; the maximum is {max_chars:,}.")


def validate_memory_content(value: str) -> None:
    """The memory rule, shared by the API and the admin form."""
    validate_text(value, max_chars=current_app.config["AURA_MAX_MEMORY_CHARS"], what="Memory content")


def expected_version_field(**kwargs: Any) -> fields.Integer:
    """Optimistic concurrency in a body, for clients that cannot set If-Match."""
    return fields.Integer(
        strict=True,
        validate=validate.Range(min=0, max=MAX_VERSION),
        metadata={
            "description": "Write only if the memory is still at this version (the ETag of GET); "
            "0 writes only if the user has no memory. Same as If-Match. 412 otherwise."
        },
        **kwargs,
    )


def conversation_id_field(description: str) -> fields.String:
    """An optional conversation id a client chooses: at most 200 storable characters."""
    return fields.String(
        load_default=None,
        allow_none=True,
        validate=[validate.Length(min=1, max=200), validate_storable_text],
        metadata={"description": description, "pattern": "^[^\\u0000]+$"},
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


# One strong ETag as GET sends it ("3"); hand-written clients may leave the quotes out.
IF_MATCH_PATTERN = r'^("[1-9][0-9]{0,8}"|[1-9][0-9]{0,8})$'


class IfMatchHeaderSchema(Schema):
    """The If-Match header of a conditional write (other headers are none of its business)."""

    class Meta:
        unknown = EXCLUDE

    if_match = fields.String(
        data_key="If-Match",
        metadata={
            "description": "The ETag of the memory this write is based on (from GET); 412 if it moved on.",
            "pattern": IF_MATCH_PATTERN,
            "example": '"3"',
        },
    )


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


class UserIdPathSchema(StrictSchema):
    """The user id in a URL path, validated like the one in a body."""

    user_id = UserId(required=True, metadata={"example": 42})


class RevisionPathSchema(UserIdPathSchema):
    revision_id = UserId(required=True, metadata={"example": 1})  # the same rule: positive, BIGINT


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
        required=True, metadata={"description": "frontend, staff, restore or consolidation"}
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


class PageArgsSchema(StrictSchema):
    """?page=&per_page= for paginated lists."""

    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=1_000_000))
    per_page = fields.Integer(load_default=20, validate=validate.Range(min=1, max=100))


class PaginationSchema(Schema):
    page = fields.Integer(required=True)
    per_page = fields.Integer(required=True)
    total = fields.Integer(required=True)
    pages = fields.Integer(required=True)


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


class ConversationPageSchema(Schema):
    status = fields.String(required=True)
    turns = fields.List(fields.Nested(ConversationTurnSchema), required=True)
    pagination = fields.Nested(PaginationSchema, required=True)


class ConversationsDeletedSchema(Schema):
    status = fields.String(required=True)
    message = fields.String(required=True)
    deleted = fields.Integer(required=True, metadata={"description": "How many turns were deleted."})


class ProposalSchema(StrictSchema):
    """A consolidation waiting for review."""

    id = fields.Integer(required=True, metadata={"description": "Name it when accepting or rejecting."})
    content = fields.String(required=True)
    based_on_version = fields.Integer(
        required=True, metadata={"description": "The memory version it merged."}
    )
    created_at = fields.DateTime(format="iso", required=True)
    source = fields.String(required=True, metadata={"example": "consolidation"})
    reason = fields.String(required=True, metadata={"description": "review (the mode) or shrink (the guard)"})
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


class ErrorSchema(Schema):
    """The one error shape every API failure uses."""

    status = fields.String(required=True, metadata={"example": "error"})
    code = fields.String(
        required=True,
        metadata={
            "description": "Stable, machine-readable reason; switch on this, not on the message. "
            + "; ".join(f"`{code}` ({meaning})" for code, meaning in ERROR_CODES.items()),
            "example": "validation_failed",
        },
    )
    message = fields.String(required=True)
    errors = fields.Dict(keys=fields.String(), metadata={"description": "Field name to messages."})


class PreconditionFailedSchema(ErrorSchema):
    """412: the error shape plus the version the memory is at now."""

    current_version = fields.Integer(
        required=True, allow_none=True, metadata={"description": "null: the user has no memory now."}
    )


class UserListArgsSchema(Schema):
    """Query string of the admin users list; unknown parameters are ignored (it's a page)."""

    class Meta:
        unknown = EXCLUDE

    q = fields.String(load_default="", validate=[validate.Length(max=200), validate_storable_text])
    sort = fields.String(
        load_default="updated_desc", validate=validate.OneOf(["updated_desc", "updated_asc", "user_id"])
    )
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=1_000_000))
