"""The shared marshmallow rules, and that the OpenAPI document states them exactly."""

from __future__ import annotations

import re
import sys

import pytest
from marshmallow import ValidationError

from aura.memory.schemas import MemorySaveSchema
from aura.schemas import MAX_USER_ID, TEXT_PATTERN, USER_ID_STRING, validate_storable_text


def accepted_as_text(value: str) -> bool:
    try:
        validate_storable_text(value)
    except ValidationError:
        return False
    return bool(value.strip())


def test_documented_text_pattern_matches_the_validation_for_every_character():
    """Fuzzers (and clients) read the pattern; the server runs Python. They must agree."""
    pattern = re.compile(TEXT_PATTERN)
    for code in range(sys.maxunicode + 1):
        if 0xD800 <= code <= 0xDFFF:
            continue
        char = chr(code)
        for text in (char, f" {char} ", f"{char}\x00"):
            assert bool(pattern.fullmatch(text)) == accepted_as_text(text), (hex(code), text)


@pytest.mark.parametrize("value", [1, 42, MAX_USER_ID, "1", "42", str(MAX_USER_ID)])
def test_user_ids_accepted_as_integers_or_digit_strings(app, value):
    with app.app_context():
        assert MemorySaveSchema().load({"user_id": value, "content": "x"})["user_id"] == int(value)


@pytest.mark.parametrize(
    "value", [0, -1, MAX_USER_ID + 1, "0", "01", "+1", "1.0", " 1", "1e3", True, 1.0, None]
)
def test_anything_else_is_refused(app, value):
    with app.app_context(), pytest.raises(ValidationError):
        MemorySaveSchema().load({"user_id": value, "content": "x"})


def test_user_id_string_pattern_covers_exactly_the_integer_range():
    assert USER_ID_STRING.fullmatch(str(MAX_USER_ID))
    assert not USER_ID_STRING.fullmatch(str(MAX_USER_ID + 1))
