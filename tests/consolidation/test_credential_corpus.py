"""A held-out corpus: credentials in the disguises people and models actually produce, and
ordinary facts that look a little like them. At most one disguised credential may survive the
filter; no ordinary fact may be damaged (issue #34: 20 of 28 disguises got through before)."""

from __future__ import annotations

import base64

import pytest

from aura.consolidation.credentials import REMOVED, remove_credentials

OPENAI = "sk-proj-AbCdEf0123456789XyZaBcD"
DISGUISED = {
    "zero-width space in sk-": "my key: s\u200bk-proj-AbCdEf0123456789XyZaBcD",
    "soft hyphen in sk-": "use sk\u00ad-proj-AbCdEf0123456789XyZaBcD please",
    "cyrillic lookalike": "key \u0455k-proj-AbCdEf0123456789XyZaBcD",
    "fullwidth lookalike": "key \uff53\uff4b-proj-AbCdEf0123456789XyZaBcD",
    "split over two lines": "key sk-proj-AbCdEf012345\n6789XyZaBcDeFgH",
    "base64 of a key": "blob " + base64.b64encode(OPENAI.encode()).decode(),
    "aws secret access key": "aws secret wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY for prod",
    "postgres url password": "db is postgres://app:S3cr3tPassw0rd@db.internal:5432/app",
    "basic auth header": "send Authorization: Basic dXNlcjpodW50ZXIyMjIy with it",
    "gitlab token": "gitlab glpat-AbCdEfGhIjKlMnOpQrSt12 works",
    "hugging face token": "hf token hf_AbCdEfGhIjKlMnOpQrStUvWxYz0123456789",
    "sendgrid key": "SG.AbCdEfGhIjKlMnOpQrStUv.AbCdEfGhIjKlMnOpQrStUvWxYz0123456789AbCdEfG",
    "azure storage key": "AccountKey=" + "Ab1+" * 21 + "AbC1",
    "lowercase pem": "-----begin rsa private key-----\nMIIEpAIBAAKCAQEA7v\n-----end rsa private key-----",
    "german password": "Mein Passwort ist Sommer2024!",
    "fullwidth colon": "password\uff1a Tr0ub4dor&3",
    "pwd label": "pwd: xK9#mQ2$vL",
    "card with dots": "card 4111.1111.1111.1111 expires soon",
    "card with slashes": "4242/4242/4242/4242",
    "authenticator seed": "my 2FA seed is JBSWY3DPEHPK3PXP",
    "labelled hex secret": "webhook secret: 8f14e45fceea167a5a36dedd4bea2543",
    "github fine-grained": "github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz0123",
    "stripe restricted": "rk_live_AbCdEfGhIjKlMnOpQrStUv12",
    "slack with zero width": "xox\u200bb-1234567890-abcdefghijklmn",
    "jwt split by a space": "token eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjMifQ.c2lnbmF0dXJlc2lnbmF0dXJl",
    "google key": "maps key AIzaSyA-1234567890abcdefghijklmnopqrstu",
    "spanish password": "mi contraseña es Gato#2024",
    "french password": "mot de passe: Chien2024!",
    "telegram bot token": "bot 123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw1",
    "npm token": "//registry.npmjs.org/:_authToken=npm_AbCdEfGhIjKlMnOpQrStUvWxYz0123456789",
}
# What must survive whole, character for character.
ORDINARY = [
    "Has a driving exam on 2026-11-27 at 09:30.",
    "Runs Python 3.11.7 and PostgreSQL 15.19 at work.",
    "Fixed the bug in commit 3f7a2b8 last week.",
    "Reads https://example.com/blog/how-to-cook-rice-in-10-minutes daily.",
    "I forgot my password again, sigh.",
    "The password is required on the login page.",
    "Phone +44 20 7946 0958, flat 4B.",
    "Order number 12345678 shipped on 2026-12-01.",
    "Allergic to peanuts; lives in Porto.",
    "Uses the token ring network at the museum.",
    "UUID of the device: 550e8400-e29b-41d4-a716-446655440000",
    "Birthday 1990-04-12, married 2015.",
    "Secret Santa with the family in December.",
    "Drives a VW Golf GTI (2019).",
    "Flight LH1234 from FRA to OPO on 2026-12-20.",
]


def test_at_most_one_disguised_credential_survives():
    survived = {name: text for name, text in DISGUISED.items() if REMOVED not in remove_credentials(text)}
    assert len(DISGUISED) >= 28
    assert len(survived) <= 1, survived


@pytest.mark.parametrize("name", list(DISGUISED))
def test_what_is_removed_is_the_secret_not_the_sentence(name):
    cleaned = remove_credentials(DISGUISED[name])
    for secret_part in ("AbCdEf0123456789", "S3cr3tPassw0rd", "Sommer2024", "Tr0ub4dor", "JBSWY3DP"):
        assert secret_part not in cleaned


@pytest.mark.parametrize("fact", ORDINARY)
def test_ordinary_facts_survive_whole(fact):
    assert remove_credentials(fact) == fact


def test_the_filter_is_idempotent():
    for text in (*DISGUISED.values(), *ORDINARY):
        once = remove_credentials(text)
        assert remove_credentials(once) == once
