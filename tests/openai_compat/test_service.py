"""What the OpenAI route learns from a conversation, and how it names an invalid field."""

from __future__ import annotations

from aura.openai_compat.errors import first_param
from aura.openai_compat.service import text_of, turn_to_record


def test_text_of_a_message_is_its_string_or_its_text_parts():
    assert text_of("plain") == "plain"
    parts = [
        {"type": "text", "text": "Look at"},
        {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}},
        {"type": "text", "text": "this photo"},
    ]
    assert text_of(parts) == "Look at\nthis photo"
    assert text_of(None) == ""


def test_the_recorded_turn_is_the_newest_user_message_and_the_final_reply():
    messages = [
        {"role": "user", "content": "first"},
        {"role": "assistant", "content": "answer"},
        {"role": "user", "content": "second"},
        {"role": "assistant", "content": None, "tool_calls": [{"id": "c", "type": "function"}]},
        {"role": "tool", "tool_call_id": "c", "content": "42"},
    ]
    assert turn_to_record(messages, "It is 42.") == ("second", "It is 42.")


def test_nothing_is_recorded_without_reply_text_or_user_text():
    assert turn_to_record([{"role": "user", "content": "hi"}], None) is None
    assert turn_to_record([{"role": "user", "content": "hi"}], "  ") is None
    assert turn_to_record([{"role": "system", "content": "only instructions"}], "ok") is None
    assert turn_to_record([{"role": "user", "content": [{"type": "image_url"}]}], "nice photo") is None


def test_first_param_names_fields_as_openai_does():
    assert first_param({"messages": {1: {"role": ["Must be one of: ..."]}}}) == "messages[1].role"
    assert first_param({"temperature": ["Must be a number from 0 to 2."]}) == "temperature"
    assert first_param({}) is None
