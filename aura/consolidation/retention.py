"""The retention check every consolidation result passes: no fact lost or corrupted without the
user's word.

A fact may only go when the user's own turns justify it: a forget request that names it, or the
same fact with one value swapped for one the user stated as a change ("I moved to Lisbon":
"Lives in Lisbon." replaces "Lives in Porto.", but "Has a cat named Miso." does not replace
"Has a daughter named Ana."). The assistant's turns never justify a removal, and a request to
forget everything names no fact, so it removes none (erasure and the API are for that). A fact
whose words survive in a line that says the opposite, or swaps one of its words for one nobody
said, is corrupted, which counts as lost.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from aura.consolidation.facts import (
    SENTENCE_END,
    Fact,
    Vocabulary,
    fact_of,
    facts_of,
    kept_in,
    negated,
    same_word,
    shares_subject,
    statements_of,
    vocabulary_of,
    words_of,
)

# Words that mark a statement as a change of an earlier fact ("I moved", "no longer", "now").
_CHANGE_WORDS = frozenset(
    """moved move moving changed change switched switch now anymore longer instead new newly became
    become quit left started start stopped stop divorced married retired renamed actually correction
    wrong spelled spelt gone""".split()  # noqa: SIM905 - a word list reads better as words
)


@dataclass(frozen=True)
class Retention:
    dropped: list[Fact]  # facts the new text loses without the user's word

    @property
    def ok(self) -> bool:
        return not self.dropped


# Words by which a forget request points at what the sentence before it said ("Forget it.").
_BACK_REFERENCES = frozenset(
    "he she they him her them his hers its their it this that these those".split()  # noqa: SIM905
)


class ForgetRequests:
    """The sentences of the user's turns that ask to forget something, read once per check (every
    fact of the memory is asked about the same turns).

    A fact is forgotten when such a sentence names it; or when the sentence names nothing of the
    memory, points back ("him", "it") and follows a sentence that names it ("Rex passed away.
    Please don't remember anything about him."). "I live in Porto. Forget the concert." forgets
    nothing of Porto.
    """

    def __init__(
        self, user_turns: Sequence[str], forget_phrases: Sequence[str], memory: Sequence[Fact]
    ) -> None:
        self.requests: list[tuple[str, str | None]] = []  # (the request, the sentence it points back to)
        for turn in user_turns:
            sentences = [" ".join(words_of(sentence)) for sentence in SENTENCE_END.split(turn)]
            for index, sentence in enumerate(sentences):
                if not sentence or not any(phrase in sentence for phrase in forget_phrases):
                    continue
                refers_back = (
                    index > 0
                    and not _BACK_REFERENCES.isdisjoint(sentence.split())
                    and not any(shares_subject(other, sentence) for other in memory)
                )
                self.requests.append((sentence, sentences[index - 1] if refers_back else None))

    def name(self, fact: Fact) -> bool:
        return any(
            shares_subject(fact, sentence) or (before is not None and shares_subject(fact, before))
            for sentence, before in self.requests
        )


def forgotten_facts(
    current: str | None, user_turns: Sequence[str], forget_phrases: Sequence[str]
) -> list[Fact]:
    """The facts of ``current`` the user asked to forget: no line a model adds may say them again."""
    facts = facts_of(current)
    requests = ForgetRequests(user_turns, forget_phrases, facts)
    return [fact for fact in facts if requests.name(fact)]


def said_as_change(user_turns: Sequence[str]) -> Vocabulary | None:
    """The words of the user's turns that say something changed ("moved", "now"...), or None."""
    changes = [turn for turn in user_turns if Vocabulary([turn]).exact & _CHANGE_WORDS]
    return Vocabulary(changes) if changes else None


def _missing(keys: frozenset[str], line: Fact) -> list[str]:
    return [key for key in keys if not any(same_word(key, other) for other in line.keys)]


def swaps_one_value(fact: Fact, new: Fact, old: Vocabulary, said: Vocabulary) -> bool:
    """``new`` says ``fact`` again with one value changed: it keeps every key of the fact but one,
    and brings in its place a key of the same kind (a name for a name, a word for a word) that
    the old memory did not have and that a user turn stating a change said.

    "Lives in Porto." -> "Lives in Lisbon." on "I moved to Lisbon" is one; "Has a daughter named
    Ana." -> "Has a cat named Miso." on "I now have a cat named Miso" shares a word but swaps two
    keys, and "Lives in Porto." -> "Lives with a roommate." swaps a name for a word: neither is.
    """
    lost_names, lost_words = _missing(fact.names, new), _missing(fact.words, new)
    if len(lost_names) + len(lost_words) > 1 or len(lost_names) + len(lost_words) == len(fact.keys):
        return False
    brought = new.names if lost_names else new.words if lost_words else new.keys
    return any(not old.has_key(key) and said.has_key(key) for key in brought)


def replaced(fact: Fact, new_facts: Sequence[Fact], old: Vocabulary, said: Vocabulary | None) -> bool:
    """A newer fact on the same subject, which the user stated as a change, took its place: one
    line of the new text is the fact with one value swapped (``swaps_one_value``)."""
    return said is not None and any(swaps_one_value(fact, new, old, said) for new in new_facts)


def _corrupts(fact: Fact, line: str, source: Vocabulary) -> bool:
    """A line that keeps enough of the fact's keys and still changes it: it says the opposite
    ("Has no daughter named Ana."), or, being about this one fact, swaps one of its words for
    one nobody said ("Works as a day-shift nurse." for "... night-shift nurse.")."""
    if negated(line) != negated(fact.text):
        return True
    own = fact_of(line)
    if len(own.keys) > len(fact.keys) + 2:  # a line of several facts: judged by its words alone
        return False
    return bool(_missing(fact.keys, own)) and any(not source.has_key(key) for key in own.keys)


def _corrupted(fact: Fact, new_lines: Sequence[tuple[str, Vocabulary]], source: Vocabulary) -> bool:
    """Every line of the new text that keeps the fact changes it. A fact spread over several
    lines is judged by its words alone."""
    holders = [line for line, words in new_lines if kept_in(fact, words)]
    return bool(holders) and all(_corrupts(fact, line, source) for line in holders)


def check_retention(
    current: str | None, new: str, user_turns: Sequence[str], forget_phrases: Sequence[str]
) -> Retention:
    """Every fact of ``current`` that ``new`` loses or corrupts without the user's word for it."""
    facts = facts_of(current)
    if not facts:
        return Retention([])
    new_text = Vocabulary([new])
    new_lines = [(statement, Vocabulary([statement])) for statement in statements_of(new)]
    old_text = Vocabulary([current or ""])
    source = vocabulary_of(*user_turns, current or "")
    new_facts = facts_of(new)
    requests = ForgetRequests(user_turns, forget_phrases, facts)
    lost = [
        fact
        for fact in facts
        if (not kept_in(fact, new_text) or _corrupted(fact, new_lines, source)) and not requests.name(fact)
    ]
    said = said_as_change(user_turns) if lost else None  # the same for every fact: read once
    dropped = [fact for fact in lost if not replaced(fact, new_facts, old_text, said)]
    return Retention(dropped)
