"""A deterministic filter for credentials: whatever a user or a model writes, none of these is kept.

The prompt asks the model not to keep secrets; this makes sure of it, in recorded turns (both
chat routes), the consolidation's input and output, and proposals. A hand-grown list of
regular expressions kept 20 of 28 disguised credentials, so detection now works like this:

1. **Normalise first**, on a view of the text mapped back to the original characters: NFKC
   (fullwidth letters and colons), zero-width characters and soft hyphens removed, Cyrillic and
   Greek lookalikes folded to Latin ("ѕk-" is "sk-").
2. **Detect** with detect-secrets' maintained vendor plugins (GitLab, SendGrid, Azure storage,
   Slack, Stripe, Twilio, Discord, Telegram, npm, PyPI, JWT, URL passwords...) beside AURA's
   own prefixes (OpenAI, GitHub, Google, Hugging Face, AWS, PEM armour in any case), plus:
   labelled values in several languages ("Passwort ist ...", "pwd: ..."), Basic and Bearer
   headers, high-entropy tokens (an AWS secret access key) with detect-secrets' entropy
   measure, base64 runs that decode to a credential, Luhn-valid card numbers with any
   separator, and keys split over two lines.
3. **Replace** each match in the original text with ``[removed]``.

Ordinary facts (dates, versions, short commit hashes, URLs without credentials, "I forgot my
password") are left alone: tests/consolidation/test_credentials.py holds a corpus of both.
"""

from __future__ import annotations

import base64
import binascii
import re
import unicodedata
from collections.abc import Iterator
from itertools import chain

from detect_secrets.plugins import (
    aws,
    azure_storage_key,
    cloudant,
    discord,
    github_token,
    gitlab_token,
    ibm_cloud_iam,
    ibm_cos_hmac,
    jwt,
    mailchimp,
    npm,
    openai,
    pypi_token,
    sendgrid,
    slack,
    softlayer,
    square_oauth,
    stripe,
    telegram_token,
    twilio,
)
from detect_secrets.plugins.basic_auth import BasicAuthDetector
from detect_secrets.plugins.high_entropy_strings import Base64HighEntropyString

REMOVED = "[removed]"
Span = tuple[int, int]

_LIBRARY = [
    aws.AWSKeyDetector, azure_storage_key.AzureStorageKeyDetector, cloudant.CloudantDetector,
    discord.DiscordBotTokenDetector, github_token.GitHubTokenDetector, gitlab_token.GitLabTokenDetector,
    ibm_cloud_iam.IbmCloudIamDetector, ibm_cos_hmac.IbmCosHmacDetector, jwt.JwtTokenDetector,
    mailchimp.MailchimpDetector, npm.NpmDetector, openai.OpenAIDetector, pypi_token.PypiTokenDetector,
    sendgrid.SendGridDetector, slack.SlackDetector, softlayer.SoftlayerDetector,
    square_oauth.SquareOAuthDetector, stripe.StripeDetector, telegram_token.TelegramBotTokenDetector,
    twilio.TwilioKeyDetector,
]  # fmt: skip
_LIBRARY_PATTERNS = [regex for plugin in _LIBRARY for regex in plugin().denylist]
_URL_PASSWORD = BasicAuthDetector().denylist  # group 1: the password between "user:" and "@"
_ENTROPY = Base64HighEntropyString()

_OWN_PATTERNS = [
    # PEM private keys, whole blocks, in any case (an unterminated block runs to the end).
    re.compile(
        r"-----BEGIN[A-Z0-9 ]*PRIVATE KEY( BLOCK)?-----.*?(-----END[A-Z0-9 ]*PRIVATE KEY( BLOCK)?-----|\Z)",
        re.DOTALL | re.IGNORECASE,
    ),
    re.compile(r"\bsk-[A-Za-z0-9_-]{16,}"),  # OpenAI, Anthropic and most "sk-" keys
    re.compile(r"\b[rsp]k_(?:live|test)_[A-Za-z0-9]{16,}"),  # Stripe, test keys too
    re.compile(r"\b(?:AKIA|ASIA|AGPA|AIDA|AROA|ANPA)[0-9A-Z]{16}\b"),  # AWS access key ids
    re.compile(r"\b(?:gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{30,})"),  # GitHub
    re.compile(r"\bxox[abprs]-[A-Za-z0-9-]{10,}"),  # Slack
    re.compile(r"\bAIza[0-9A-Za-z_-]{35}"),  # Google API keys
    re.compile(r"\bhf_[A-Za-z0-9]{30,}"),  # Hugging Face
    re.compile(r"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}"),  # JWTs
]
# "Bearer <token>", "Basic <base64>": the scheme stays, so the text still reads.
_AUTH_HEADER = re.compile(r"\b(?:Bearer|Basic)\s+([A-Za-z0-9._~+/=-]{8,})", re.IGNORECASE)
# "password: hunter2", "Passwort ist ...", "pwd=...", "2FA seed JBSWY3DP...": the value, when it
# looks like a secret (a digit or a symbol), so "the password is required" stays.
_LABELLED = re.compile(
    r"\b(?:password|passwort|passwd|pwd|pass ?phrase|passcode|pin(?: code)?|kennwort|contrase[nñ]a|"
    r"mot de passe|senha|wachtwoord|api[ _-]?key|secret(?: key)?|access[ _-]?(?:token|key)|token|"
    r"(?:totp |2fa |otp |authenticator )?(?:seed|secret)|recovery code)"
    r"(?:\s+(?:is|ist|es|est|was|lautet|are))?\s*(?:[:=]|->|=>|\s)\s*([^\s\"']{6,})",
    re.IGNORECASE,
)
_LOOKS_SECRET = re.compile(r"[0-9]|[^A-Za-z0-9\s]")
_CARD = re.compile(r"(?<![\d])\d(?:[ .\-/_]?\d){12,18}(?![\d])")
_TOKEN = re.compile(r"[A-Za-z0-9+/=_-]{20,}")
_BASE64_RUN = re.compile(r"[A-Za-z0-9+/]{16,}={0,2}")
_SPLIT = re.compile(r"(?<=[A-Za-z0-9_-])\r?\n[ \t]*(?=[A-Za-z0-9_-])")
# Zero-width characters and the soft hyphen vanish; lookalike letters become Latin ones.
_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad\u180e\u034f"), None)
_LOOKALIKES = str.maketrans(
    "аеорсхуіјѕԁԛԝкмнтвАЕОРСХУІЈЅКМНТВαεορτυνκχΑΒΕΗΙΚΜΝΟΡΤΥΧ",
    "aeopcxyijsdqwkmhtbAEOPCXYIJSKMHTBaeoptunkxABEHIKMNOPTYX",
)


def passes_luhn(digits: str) -> bool:
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def _view(text: str) -> tuple[str, list[int] | range]:
    """The normalised text, and for each of its characters the original one it came from."""
    if text.isascii():  # nothing to fold (most text): the text is its own view
        return text, range(len(text))
    chars, origin = [], []
    for index, char in enumerate(text):
        for folded in unicodedata.normalize("NFKC", char).translate(_INVISIBLE).translate(_LOOKALIKES):
            chars.append(folded)
            origin.append(index)
    return "".join(chars), origin


def _looks_random(token: str) -> bool:
    """An unlabelled token that is a key, not a word: mixed case and digits, and high entropy."""
    return (
        any(c.isdigit() for c in token)
        and any(c.isupper() for c in token)
        and any(c.islower() for c in token)
        and _ENTROPY.calculate_shannon_entropy(token) >= 4.0
    )


def _encoded_secret(run: str) -> bool:
    try:
        decoded = base64.b64decode(run + "=" * (-len(run) % 4), validate=True).decode("ascii")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return False
    found = chain(_prefixed(decoded), _labelled_values(decoded))
    return decoded.isprintable() and next(found, None) is not None


def _labelled_values(view: str) -> Iterator[Span]:
    """The values after a label ("password: ...") that look like secrets, trailing punctuation
    left out: "the password is required." names no secret; "pwd: hunter2." names "hunter2"."""
    for match in _LABELLED.finditer(view):
        value = match.group(1).rstrip(".,;:!?)")
        if value != REMOVED and _LOOKS_SECRET.search(value):
            yield match.start(1), match.start(1) + len(value)


def _prefixed(view: str) -> Iterator[Span]:
    """Credentials known by their shape: vendor prefixes and armour."""
    for pattern in (*_OWN_PATTERNS, *_LIBRARY_PATTERNS):
        for match in pattern.finditer(view):
            yield match.span()


def _spans(view: str) -> Iterator[Span]:
    yield from _prefixed(view)
    for pattern in _URL_PASSWORD:
        yield from (m.span(1) for m in pattern.finditer(view))
    yield from (m.span(1) for m in _AUTH_HEADER.finditer(view))
    yield from _labelled_values(view)
    for match in _CARD.finditer(view):
        if passes_luhn(re.sub(r"\D", "", match.group())):
            yield match.span()
    for match in _TOKEN.finditer(view):
        if _looks_random(match.group().strip("=_-")):
            yield match.span()
    for match in _BASE64_RUN.finditer(view):
        if _encoded_secret(match.group()):
            yield match.span()


def _split_key_spans(view: str) -> Iterator[Span]:
    """A key broken over two lines: its shape is found with the break taken out."""
    joined, kept = [], []
    last = 0
    for match in _SPLIT.finditer(view):
        joined.append(view[last : match.start()])
        kept.extend(range(last, match.start()))
        last = match.end()
    if not kept and last == 0:
        return
    joined.append(view[last:])
    kept.extend(range(last, len(view)))
    for start, end in _prefixed("".join(joined)):
        yield kept[start], kept[end - 1] + 1


def remove_credentials(text: str) -> str:
    """``text`` with every credential in it replaced by ``[removed]``."""
    if not text:
        return text
    view, origin = _view(text)
    found = sorted(
        (origin[start], origin[end - 1] + 1)
        for start, end in (*_spans(view), *_split_key_spans(view))
        if end > start
    )
    merged: list[list[int]] = []
    for start, end in found:
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    for start, end in reversed(merged):
        text = text[:start] + REMOVED + text[end:]
    return text
