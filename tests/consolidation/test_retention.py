"""The retention check: a fact counts as kept in any wording; it only goes on the user's own word."""

from __future__ import annotations

import pytest

from aura.consolidation.retention import check_retention

MEMORY = (
    "Lives in Porto.\nWorks as a night-shift nurse.\nAllergic to peanuts.\n"
    "Has a daughter named Ana.\nPlays the cello on Sundays."
)
FORGET = ["forget", "don't remember", "delete", "remove"]


def dropped(new: str, *user_turns: str, memory: str = MEMORY) -> list[str]:
    return [fact.text for fact in check_retention(memory, new, list(user_turns), FORGET).dropped]


@pytest.mark.parametrize(
    "rewrite",
    [
        MEMORY,
        "The user lives in Porto and works night shifts as a nurse. Has a peanut allergy. "
        "Daughter: Ana. Plays cello every Sunday.",
        "- Lives in Porto\n- Nurse, works night shifts\n- Peanut allergy\n- Daughter Ana\n- Cello on Sundays",
    ],
    ids=["unchanged", "one-paragraph", "terse-list"],
)
def test_every_fact_survives_a_rewording(rewrite):
    assert dropped(rewrite) == []


@pytest.mark.parametrize(
    "nonsense",
    [
        'The new memory text is "You\'ve got a lot of amazing characters"',
        "I'm glad you're happy to have the assistant.",
        "What a nightmare.",
        "",
    ],
)
def test_nonsense_loses_every_fact(nonsense):
    assert len(dropped(nonsense)) == 5


def test_a_similar_fact_does_not_keep_a_different_one():
    assert dropped(MEMORY.replace("peanuts", "cats"), "I am also allergic to cats") == [
        "Allergic to peanuts."
    ]


def test_a_name_alone_does_not_keep_a_fact_about_it():
    new = MEMORY.replace("Lives in Porto.", "Visits Porto often.")
    assert dropped(new, "I visit Porto often.") == ["Lives in Porto."]


def test_a_number_must_survive_exactly():
    assert dropped("Has 3 kids.", memory="Has 2 kids.") == ["Has 2 kids."]


def test_the_user_asking_to_forget_a_fact_justifies_dropping_it():
    new = MEMORY.replace("Allergic to peanuts.\n", "")
    assert dropped(new, "Please forget that I'm allergic to peanuts") == []
    assert dropped(new, "Please forget something") == ["Allergic to peanuts."]  # names no fact


def test_a_newer_fact_the_user_states_as_a_change_replaces_the_old_one():
    new = MEMORY.replace("Lives in Porto.", "Lives in Lisbon.")
    assert dropped(new, "I moved to Lisbon last month") == []
    assert dropped(new, "I love Lisbon") == ["Lives in Porto."]  # not said as a change
    assert dropped(new) == ["Lives in Porto."]  # nobody said it


@pytest.mark.parametrize(
    ("old", "new", "said"),
    [
        ("Has a daughter named Ana.", "Has a cat named Miso.", "I now have a cat named Miso."),
        ("Lives in Porto.", "Lives with a roommate now.", "I now live with a roommate."),
        ("Plays the cello on Sundays.", "Plays the guitar now.", "I started playing the guitar."),
    ],
    ids=["one-shared-word-two-keys-swapped", "a-name-swapped-for-a-word", "an-added-hobby"],
)
def test_a_new_fact_that_only_shares_a_word_replaces_nothing(old, new, said):
    """Said as a change and sharing a word ("named", "lives", "plays") is not enough: only the
    same fact with one value swapped for one the user stated replaces it."""
    assert dropped(MEMORY.replace(old, new), said) == [old]


def test_a_corrected_value_replaces_the_one_it_corrects():
    assert dropped("Name: John.", "my name is spelled John, with an h", memory="Name: Jon.") == []
    assert dropped(MEMORY.replace("Porto", "Lisbon"), "I now live in Lisbon") == []


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("Allergic to peanuts.", "Not allergic to peanuts."),
        ("Has a daughter named Ana.", "Has no daughter named Ana."),
        ("Plays the cello on Sundays.", "Doesn't play the cello on Sundays."),
        ("Works as a night-shift nurse.", "Works as a day-shift nurse."),
    ],
)
def test_a_fact_changed_in_place_is_lost(old, new):
    """Enough keys survive to count as kept, and the fact is corrupted (turned into its opposite,
    or a word swapped for one nobody said): unless the user said so, it is dropped."""
    assert dropped(MEMORY.replace(old, new), "Thanks, that's all for today.") == [old]


@pytest.mark.parametrize(
    ("old", "new", "said"),
    [
        (
            "Allergic to peanuts.",
            "No longer allergic to peanuts.",
            "Good news: I'm no longer allergic to peanuts!",
        ),
        ("Works as a night-shift nurse.", "Works as a day-shift nurse.", "I switched to day shifts."),
    ],
)
def test_the_user_saying_the_change_justifies_it(old, new, said):
    assert dropped(MEMORY.replace(old, new), said) == []


def test_a_negative_fact_said_again_negatively_is_kept():
    assert dropped("Vegetarian; does not eat meat.", memory="Doesn't eat meat.") == []


def test_a_request_to_forget_everything_drops_nothing():
    assert len(dropped("", "Forget everything you know about me.")) == 5


def test_a_forget_request_forgets_only_what_its_sentence_names():
    new = MEMORY.replace("Lives in Porto.\n", "")
    assert dropped(new, "Forget about the concert. I live in Porto, by the way.") == ["Lives in Porto."]
    assert dropped(new, "I live in Porto. Forget about the concert.") == ["Lives in Porto."]


def test_a_forget_request_pointing_back_forgets_what_the_sentence_before_named():
    new = MEMORY.replace("Has a daughter named Ana.\n", "")
    assert dropped(new, "Ana moved out last year. Please don't remember anything about her.") == []
    assert dropped(new, "Ana moved out last year. Forget it.") == []


def test_what_the_credential_filter_left_is_no_request_to_remove_anything():
    memory = "Lives in Porto.\nHas an API key for the staging server."
    lost = dropped("Lives in Porto.", "my key for the staging server is [removed]", memory=memory)
    assert lost == ["Has an API key for the staging server."]


def test_a_memory_written_as_a_paragraph_keeps_each_sentence():
    """The frontend's memories are often one paragraph: each sentence is a fact of its own, so a
    rewrite keeping most of the paragraph's words cannot lose two of them unnoticed."""
    paragraph = MEMORY.replace("\n", " ")
    terse = "Lives in Porto with daughter Ana, plays cello on Sundays, nurse."
    assert dropped(terse, "hi", memory=paragraph) == ["Works as a night-shift nurse.", "Allergic to peanuts."]
    assert dropped("Enjoys hiking.", "hi", memory="Enjoys hiking; prefers short answers.") == [
        "prefers short answers."
    ]
    assert dropped(MEMORY, "hi", memory=paragraph) == []  # the same facts, one per line
