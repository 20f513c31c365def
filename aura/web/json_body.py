"""Reading JSON request bodies defensively: every odd body is a clear 4xx, never a 500.

webargs parses bodies with the standard json module, which raises RecursionError on deeply
nested input and ValueError on integers past Python's 4,300-digit limit; neither is a
JSONDecodeError, so both used to escape as 500s. A body sent without a JSON content type was
silently read as "no body", giving "missing field" errors instead of saying what was wrong.
"""

from __future__ import annotations

import json
import typing

import flask
from flask_smorest import abort
from webargs import core
from webargs.flaskparser import FlaskParser, is_json_request

# No number in AURA's API needs more digits than a BIGINT id; longer ones are not worth parsing.
MAX_INTEGER_DIGITS = 100


class OversizedInteger:
    """Stands in for an integer literal too long to be anything valid: every field refuses it (422)."""

    def __repr__(self) -> str:
        return "<integer too long>"


def _parse_int(digits: str) -> int | OversizedInteger:
    return int(digits) if len(digits) <= MAX_INTEGER_DIGITS else OversizedInteger()


def load_json_body(data: bytes) -> typing.Any:
    """Decode a request body; 400 with a reason if it is not JSON AURA can read."""
    try:
        return json.loads(data.decode("utf-8"), parse_int=_parse_int)
    except RecursionError:
        abort(
            400,
            message="The JSON body is nested too deeply.",
            messages={"json": ["Nested too deeply."]},
            error_code="invalid_json",
        )
    except (json.JSONDecodeError, UnicodeDecodeError):
        abort(
            400,
            message="The request body is not valid JSON.",
            messages={"json": ["Invalid JSON body."]},
            error_code="invalid_json",
        )


class JsonBodyParser(FlaskParser):
    """flask-smorest's parser, with the body rules above."""

    def _raw_load_json(self, req: flask.Request) -> typing.Any:
        if not is_json_request(req):
            if req.get_data(cache=True):
                abort(
                    415,
                    message="Send the body as JSON, with the header Content-Type: application/json.",
                    messages={"Content-Type": [f"Got {req.mimetype or 'none'}; expected application/json."]},
                )
            return core.missing
        return load_json_body(req.get_data(cache=True))
