"""Schemas of the recorded-conversations API (a turn itself is user data: aura.memory.schemas)."""

from __future__ import annotations

from marshmallow import Schema, fields

from aura.memory.schemas import ConversationTurnSchema
from aura.schemas import PaginationSchema


class ConversationPageSchema(Schema):
    status = fields.String(required=True)
    turns = fields.List(fields.Nested(ConversationTurnSchema), required=True)
    pagination = fields.Nested(PaginationSchema, required=True)


class ConversationsDeletedSchema(Schema):
    status = fields.String(required=True)
    message = fields.String(required=True)
    deleted = fields.Integer(required=True, metadata={"description": "How many turns were deleted."})
