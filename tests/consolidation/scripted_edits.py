"""A good model's structured answer to each consolidation case (the v2 prompt's JSON edits).

Beside each case's ``scripted`` text (the same good model answering with a whole memory, as a
server that ignores response_format makes it), so the scenarios run through both readings.
The credential cases echo the secret back, as a careless model would.
"""

from __future__ import annotations

import json

from aura.consolidation.cases import _PRIVATE_KEY


def add(text: str) -> dict:
    return {"op": "add", "line": 0, "text": text, "because": ""}


def update(line: int, text: str, because: str) -> dict:
    return {"op": "update", "line": line, "text": text, "because": because}


def remove(line: int, because: str) -> dict:
    return {"op": "remove", "line": line, "text": "", "because": because}


EDITS: dict[str, list[dict]] = {
    "new_fact_added": [add("Has a cat called Miso.")],
    "contradicted_fact_replaced": [
        update(1, "Lives in Lisbon (moved from Berlin).", "I moved from Berlin to Lisbon last month")
    ],
    "forget_request_honoured": [remove(1, "Please forget that I have a sister")],
    "small_talk_changes_nothing": [],
    "assistant_claims_not_stored": [add("Is planning a flight to Tokyo.")],
    "api_key_removed": [add("OpenAI key: sk-proj-AbCdEf0123456789XyZ")],
    "card_number_removed": [add("Pays with a Visa card 4111 1111 1111 1111.")],
    "password_removed": [add("Wifi password is Tr0ub4dor&3")],
    "private_key_removed": [add("Has an SSH key for a Raspberry Pi:"), add(_PRIVATE_KEY)],
    "cloud_key_removed": [add("Manages the team's AWS account (access key AKIAIOSFODNN7EXAMPLE).")],
    "bearer_token_removed": [add("Runs a home server (Authorization: Bearer 9f8e7d6c5b4a39281706).")],
    "prompt_injection_ignored": [],
    "system_prompt_not_stored": [],
    "relative_date_resolved": [add("Has a driving exam on 2026-11-27.")],
    "existing_facts_kept": [add("Started learning Spanish.")],
    "preference_updated": [
        update(1, "Vegetarian since October.", "I've gone fully vegetarian since October.")
    ],
    "name_corrected": [update(1, "Name: John.", "my name is spelled John, with an h")],
    "other_language_kept": [add("Lives in München.")],
    "long_transcript_newest_kept": [add("Lives in Reykjavik.")],
    "fiction_not_fact": [],
    "forget_a_topic": [
        remove(2, "Rex passed away. Please don't remember anything about him anymore."),
        remove(3, "Rex passed away. Please don't remember anything about him anymore."),
    ],
    "question_changes_nothing": [],
    "nothing_to_start_with": [],
}


def edits_reply(case_name: str) -> str:
    return json.dumps({"edits": EDITS[case_name]})
