"""The credential filter removes what has a credential's shape and leaves ordinary text alone."""

from __future__ import annotations

import pytest

from aura.consolidation.credentials import passes_luhn, remove_credentials


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("key sk-proj-AbCdEf0123456789XyZ ok", "key [removed] ok"),
        ("anthropic sk-ant-api03-abcdefghijklmnop", "anthropic [removed]"),
        ("stripe sk_live_abcdefghijklmnop1234", "stripe [removed]"),
        ("aws AKIAIOSFODNN7EXAMPLE.", "aws [removed]."),
        ("gh ghp_abcdefghijklmnopqrstuvwxyz0123456789", "gh [removed]"),
        ("slack xoxb-1234567890-abcdefghij", "slack [removed]"),
        ("google AIzaSyA-1234567890abcdefghijklmnopqrstu", "google [removed]"),
        ("jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.abcdefghijk", "jwt [removed]"),
        ("Authorization: Bearer abc.def.ghi123", "Authorization: Bearer [removed]"),
        ("visa 4111 1111 1111 1111, thanks", "visa [removed], thanks"),
        ("amex 3782-822463-10005", "amex [removed]"),
        ("card 4242424242424242", "card [removed]"),
        ("my password is hunter2.", "my password is [removed]."),
        ("API key: 9f8e7d6c5b4a", "API key: [removed]"),
        (
            "a\n-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXk\n-----END OPENSSH PRIVATE KEY-----\nz",
            "a\n[removed]\nz",
        ),
        ("cut off -----BEGIN PRIVATE KEY-----\nMIIEv", "cut off [removed]"),
    ],
)
def test_credentials_are_replaced(text, expected):
    assert remove_credentials(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "Call me on 555-123-4567 or +47 912 34 567.",
        "Order 1234567890123 shipped.",  # 13 digits, not Luhn-valid
        "The password is required on the form.",
        "The secret is love.",
        "I ask for a token: please",
        "Born 1990-04-12, lives at 221B Baker Street.",
        "sk-short and skiing",
        "Bearer bonds are old.",
        "",
    ],
)
def test_ordinary_text_is_left_alone(text):
    assert remove_credentials(text) == text


def test_luhn():
    assert passes_luhn("4111111111111111") and passes_luhn("378282246310005")
    assert not passes_luhn("4111111111111112") and not passes_luhn("1234567890123")


def test_filtering_twice_changes_nothing_more():
    once = remove_credentials("pw: hunter22 key sk-proj-AbCdEf0123456789XyZ 4111111111111111")
    assert remove_credentials(once) == once
