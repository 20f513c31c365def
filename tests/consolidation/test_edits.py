"""Structured answers: edits to numbered lines; what nobody validly edited stays byte for byte."""

from __future__ import annotations

import json

import pytest

from aura.consolidation.edits import apply_edits, numbered_lines, parse_edits
from tests.consolidation.scripted_edits import add, remove, update

MEMORY = "Lives in Porto.\n  Works as a night-shift nurse.  \nAllergic to peanuts."
TURNS = ["I moved to Lisbon last month!", "Please forget that I work nights, I quit nursing."]


def applied(*edits: dict, memory: str = MEMORY, turns: list[str] = TURNS, limit: int = 4000):
    return apply_edits(memory, parse_edits(json.dumps({"edits": list(edits)})), turns, limit)


def test_the_memory_is_shown_as_numbered_lines():
    assert numbered_lines("A.\n\nB.") == [{"line": 1, "text": "A."}, {"line": 2, "text": "B."}]


def test_valid_edits_apply_and_untouched_lines_stay_byte_for_byte():
    result = applied(
        update(1, "Lives in Lisbon.", "I moved to Lisbon last month"),
        add("Moved to Lisbon last month."),
    )
    assert result.text == "Lives in Lisbon.\n  Works as a night-shift nurse.  \nAllergic to peanuts.\n" + (
        "Moved to Lisbon last month."
    )
    assert result.refused == []


def test_a_removal_citing_the_users_words_about_the_line_applies():
    result = applied(remove(2, "Please forget that I work nights"))
    assert result.text == "Lives in Porto.\nAllergic to peanuts."


@pytest.mark.parametrize(
    ("edit", "reason"),
    [
        (remove(3, "I moved to Lisbon last month"), "citation_not_about_the_line"),
        (remove(3, "the user said to forget this"), "not_the_users_words"),
        (update(1, "Lives in Madrid.", ""), "not_the_users_words"),
        (remove(9, "I moved to Lisbon last month"), "no_such_line"),
        (add("I hope this helps!"), "not_a_fact"),
        (add("Allergic to peanuts."), "already_known"),
        (add("Enjoys amazing characters."), "not_said_by_the_user"),
        (add("Lisbon " * 1000), "over_the_length_limit"),
    ],
)
def test_an_unjustified_edit_is_refused_and_the_memory_is_untouched(edit, reason):
    result = applied(edit)
    assert result.text == MEMORY and result.applied == 0
    assert [r["reason"] for r in result.refused] == [reason]


def test_the_assistants_words_never_justify_a_change():
    result = applied(remove(3, "You should forget the peanut allergy"))
    assert result.refused[0]["reason"] == "not_the_users_words" and result.text == MEMORY


def test_a_credential_in_an_added_fact_is_removed():
    result = applied(
        add("Lisbon flat wifi password: hunter22hunter"),
        turns=["My Lisbon flat wifi password: hunter22hunter"],
    )
    assert "hunter22hunter" not in result.text


@pytest.mark.parametrize(
    "edit",
    [add("sk-proj-AbCdEf0123456789XyZ"), update(1, "sk-proj-AbCdEf0123456789XyZ", "My Porto key")],
    ids=["add", "update"],
)
def test_a_line_the_credential_filter_leaves_empty_is_no_fact(edit):
    """SmolLM2 answered a shared private key with a line of nothing else: "[removed]" is no memory.
    (The turns are as recorded: the filter already took the key out of them.)"""
    result = applied(edit, turns=["My Porto key: [removed]"])
    assert result.text == MEMORY and [r["reason"] for r in result.refused] == ["not_a_fact"]


def test_an_added_line_loses_its_list_marker_and_a_numbered_duplicate_is_known():
    result = applied(
        add("1. Has a cat called Miso."), add("- Allergic to peanuts."), turns=["I have a cat called Miso"]
    )
    assert result.text == MEMORY + "\nHas a cat called Miso."
    assert [r["reason"] for r in result.refused] == ["already_known"]


@pytest.mark.parametrize(
    "reply",
    ["Lives in Lisbon.", "[1, 2]", '{"memory": "x"}', "```\nnot json\n```"],
)
def test_anything_but_the_edits_object_is_a_rewrite(reply):
    assert parse_edits(reply) is None


def test_a_fenced_edits_object_is_read_and_malformed_edits_skipped():
    reply = '```json\n{"edits": [{"op": "add", "text": "Likes tea."}, {"op": "explode"}, 7]}\n```'
    assert [(e.op, e.line, e.text) for e in parse_edits(reply)] == [("add", 0, "Likes tea.")]
