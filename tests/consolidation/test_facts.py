"""Facts and their words: names and numbers identify a fact; a line rests on what someone said."""

from __future__ import annotations

from aura.consolidation.facts import fact_of, grounded


def test_names_and_numbers_identify_a_fact():
    fact = fact_of("Has a daughter named Ana, born in 2019.")
    assert {"ana", "2019"} <= fact.names and "daughter" in fact.words


def test_a_line_rests_on_what_the_user_said():
    assert grounded("Has a cat called Miso.", ["I just adopted a cat called Miso!"], None)
    assert not grounded("Enjoys amazing characters.", ["What is the capital of Australia?"], None)


def test_what_the_credential_filter_left_is_no_word_of_a_fact():
    assert fact_of("[removed]").keys == frozenset()
    assert fact_of("Has an SSH key: [removed]").keys == {"ssh", "key"}
    assert not grounded("Removed the old carpet.", ["my key is [removed]"], None)
    assert grounded("Removed the old carpet.", ["I removed the old carpet"], None)


def test_politeness_grounds_nothing():
    """SmolLM2 answered a turn ending in "please" with a line about "data" that shared only that word."""
    invented = "The data is not yet ready. Please edit the data before it reaches the user."
    assert not grounded(
        invented, ["For my home server use the header Authorization: Bearer [removed] please."], None
    )
