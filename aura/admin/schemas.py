"""Query strings of the admin pages, checked with the API's own rules."""

from __future__ import annotations

from marshmallow import EXCLUDE, Schema, fields, validate

from aura.schemas import validate_storable_text


class UserListArgsSchema(Schema):
    """Query string of the admin users list; unknown parameters are ignored (it's a page)."""

    class Meta:
        unknown = EXCLUDE

    q = fields.String(load_default="", validate=[validate.Length(max=200), validate_storable_text])
    sort = fields.String(
        load_default="updated_desc", validate=validate.OneOf(["updated_desc", "updated_asc", "user_id"])
    )
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=1_000_000))
