"""Marshmallow schemas shared by the JSON API and the admin pages: one set of rules."""

from __future__ import annotations

import re
from typing import Any

from flask import current_app
from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate

from aura.web.error_codes import ERROR_CODES

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
    Documented in OpenAPI as integer-or-digit-string (see aura.web.api_common).
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


_SURROGATE = re.compile("[\ud800-\udfff]")
# conversation_turns.conversation_id is VARCHAR(200): one limit for every door that records a turn.
MAX_CONVERSATION_ID = 200


def storable(text: str) -> str:
    """Text both databases can store, whatever a model or client sent: NUL removed, unpaired
    surrogates replaced (used where text is kept as it came, e.g. a recorded turn)."""
    return _SURROGATE.sub("\ufffd", text.replace("\x00", ""))


def conversation_id_field(description: str) -> fields.String:
    """An optional conversation id a client chooses: at most 200 storable characters."""
    return fields.String(
        load_default=None,
        allow_none=True,
        validate=[validate.Length(min=1, max=MAX_CONVERSATION_ID), validate_storable_text],
        metadata={"description": description, "pattern": "^[^\\u0000]+$"},
    )


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


class UserIdPathSchema(StrictSchema):
    """The user id in a URL path, validated like the one in a body."""

    user_id = UserId(required=True, metadata={"example": 42})


class RevisionPathSchema(UserIdPathSchema):
    revision_id = UserId(required=True, metadata={"example": 1})  # the same rule: positive, BIGINT


class PageArgsSchema(StrictSchema):
    """?page=&per_page= for paginated lists."""

    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=1_000_000))
    per_page = fields.Integer(load_default=20, validate=validate.Range(min=1, max=100))


class PaginationSchema(Schema):
    page = fields.Integer(required=True)
    per_page = fields.Integer(required=True)
    total = fields.Integer(required=True)
    pages = fields.Integer(required=True)


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
