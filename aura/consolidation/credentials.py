"""A deterministic filter for credentials: whatever a model answers, none of these is stored.

The prompt asks the model not to keep secrets; this makes sure of it. Each pattern matches a
credential by its published shape (key prefixes, PEM armour, Luhn-valid card numbers), so
ordinary text is left alone. Matches become ``[removed]``.
"""

from __future__ import annotations

import re

REMOVED = "[removed]"

_PATTERNS = [
    # PEM private keys, whole blocks (an unterminated block runs to the end of the text).
    re.compile(
        r"-----BEGIN[A-Z0-9 ]*PRIVATE KEY( BLOCK)?-----.*?(-----END[A-Z0-9 ]*PRIVATE KEY( BLOCK)?-----|\Z)",
        re.DOTALL,
    ),
    # OpenAI / Anthropic / most "sk-" style keys (sk-..., sk-proj-..., sk-ant-...).
    re.compile(r"\bsk-[A-Za-z0-9_-]{16,}"),
    # Stripe live/test keys.
    re.compile(r"\b[rsp]k_(?:live|test)_[A-Za-z0-9]{16,}"),
    # AWS access key ids.
    re.compile(r"\b(?:AKIA|ASIA|AGPA|AIDA|AROA|ANPA)[0-9A-Z]{16}\b"),
    # GitHub tokens.
    re.compile(r"\b(?:gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{30,})"),
    # Slack tokens.
    re.compile(r"\bxox[abprs]-[A-Za-z0-9-]{10,}"),
    # Google API keys.
    re.compile(r"\bAIza[0-9A-Za-z_-]{35}"),
    # JSON Web Tokens (header.payload.signature, both JSON parts base64url of "{...").
    re.compile(r"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}"),
]
# "Bearer <token>" keeps the word, so the text still reads.
_BEARER = re.compile(r"\b(Bearer\s+)[A-Za-z0-9._~+/=-]{8,}", re.IGNORECASE)
# "password: hunter2", "my api key is 9f8e7d6c": the value, when it looks like a secret (has a
# digit or a symbol and at least 6 characters), so "the password is required" stays.
_LABELLED = re.compile(
    r"\b((?:password|passwd|passcode|pin code|api[ _-]?key|secret key|access token|token)"
    r"\s*(?:is|was|=|:)\s*)(\S{6,})",
    re.IGNORECASE,
)
_LOOKS_SECRET = re.compile(r"[0-9]|[^A-Za-z0-9\s]")
# 13-19 digits, optionally grouped by single spaces or hyphens: card numbers, checked by Luhn.
_DIGIT_RUN = re.compile(r"(?<![\d-])\d(?:[ -]?\d){12,18}(?![\d-])")


def passes_luhn(digits: str) -> bool:
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def _card(match: re.Match) -> str:
    digits = re.sub(r"[ -]", "", match.group(0))
    return REMOVED if 13 <= len(digits) <= 19 and passes_luhn(digits) else match.group(0)


def _labelled(match: re.Match) -> str:
    value = match.group(2).rstrip(".,;:!?)\"'")
    if value == REMOVED or not _LOOKS_SECRET.search(value) or len(value) < 6:
        return match.group(0)
    return match.group(1) + REMOVED + match.group(2)[len(value) :]


def remove_credentials(text: str) -> str:
    """``text`` with every credential-shaped string replaced by ``[removed]``."""
    for pattern in _PATTERNS:
        text = pattern.sub(REMOVED, text)
    text = _BEARER.sub(lambda m: m.group(1) + REMOVED, text)
    text = _DIGIT_RUN.sub(_card, text)
    return _LABELLED.sub(_labelled, text)
