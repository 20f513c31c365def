"""Facts and their words: what identifies a line of a memory, and whether a text keeps it.

A memory is a note of short facts, one per line. A fact is *kept* when what identifies it
survives in the new text, in any wording: every name and number in it, and half of its other
key words (at least one; most of them when it has no name or number; a word matches another
spelling of itself: "nurse" / "nursing", "allergic" / "allergy"). Negations are a fact's
polarity, not its keys. The retention check built on this is aura.consolidation.retention.

Word matching is deliberately simple and errs on the side of keeping: a fact it cannot find
in a good rewrite holds that result for review; it never lets a fact go unnoticed.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

from aura.consolidation.credentials import REMOVED

_WORD = re.compile(r"[^\W_]+(?:['\u2019][^\W_]+)*")
_STOPWORDS = frozenset(
    """a about above after again against all also am an and any are as at be because been before
    being below between both but by can could did do does doing down during each else even ever few
    for from further had has have having he her here hers herself him himself his how i if in into
    is it its itself just let like me more most much my myself no nor not now of off on once only or
    other our ours out over own per same she should so some such than that the their them then there
    these they this those through to too under until up upon us very was we were what when where
    which while who whom why will with would yet you your yours user users user's usually often
    really quite still currently please thanks thank hello hey okay yes sure sorry""".split()  # noqa: SIM905
)
# Words that turn a statement around: "Not allergic to peanuts." keeps every key of "Allergic to
# peanuts." and says the opposite.
_NEGATIONS = frozenset(
    ["not", "no", "never", "nor", "neither", "none", "nobody", "nothing", "without", "cannot"]
)
_MIN_STEM = 4


def _normal(text: str) -> str:
    return unicodedata.normalize("NFKC", text).replace("\u2019", "'").casefold()


def words_of(text: str) -> list[str]:
    """The text's words, normalised (NFKC, casefolded, curly apostrophes straight); the credential
    filter's ``[removed]`` is none of them."""
    return _WORD.findall(_normal(text.replace(REMOVED, " ")))


def _stem(word: str) -> str:
    for suffix in ("'s", "ing", "ies", "ied", "es", "ed", "ly", "s", "y", "ic"):
        if word.endswith(suffix) and len(word) - len(suffix) >= _MIN_STEM - 1:
            return word[: -len(suffix)]
    return word


def same_word(a: str, b: str) -> bool:
    """Two stems name the same word: equal, or one starts the other and is long enough to mean it."""
    if a == b:
        return True
    short, long = (a, b) if len(a) <= len(b) else (b, a)
    return len(short) >= _MIN_STEM and long.startswith(short)


@dataclass(frozen=True)
class Fact:
    """One statement of a memory (a line, or a sentence of one), with what identifies it."""

    text: str
    names: frozenset[str]  # numbers, and capitalised words (not a sentence's first): must all survive
    words: frozenset[str]  # the other key words, stemmed: half, at least one (most, without a name)

    @property
    def keys(self) -> frozenset[str]:
        return self.names | self.words


def fact_of(line: str) -> Fact:
    """The line's identifying words. The credential filter's ``[removed]`` is none of them: a line
    that is nothing but what the filter left names nothing, so it is no fact to store or keep."""
    names, words = set(), set()
    unredacted = line.replace(REMOVED, " " * len(REMOVED))  # same length: positions stay
    for index, match in enumerate(_WORD.finditer(unicodedata.normalize("NFKC", unredacted))):
        raw = match.group()
        word = _normal(raw)
        has_digit = any(ch.isdigit() for ch in word)
        if word in _STOPWORDS or _negation(word) or (len(word) < 3 and not has_digit):
            continue
        sentence_start = index == 0 or line[: match.start()].rstrip()[-1:] in ".!?:;-"
        if has_digit:
            names.add(word)
        elif raw[0].isupper() and not sentence_start:
            names.add(_stem(word))
        else:
            words.add(_stem(word))
    return Fact(line.strip(), frozenset(names), frozenset(words))


LIST_MARKER = re.compile(r"^\s*(?:[-*\u2022]|\d+[.)])\s+")  # "- ", "* ", "1. ", "2) "
SENTENCE_END = re.compile(r"(?<=[.!?;])\s+|\n+")


def statements_of(text: str | None) -> list[str]:
    """Each sentence of each line, list markers stripped: a memory written as a paragraph ("Lives
    in Porto. Allergic to peanuts.") holds one fact per sentence, as a note holds one per line."""
    lines = (LIST_MARKER.sub("", line) for line in (text or "").splitlines())
    return [piece.strip() for line in lines for piece in SENTENCE_END.split(line) if piece.strip()]


def facts_of(memory: str | None) -> list[Fact]:
    """Each statement of the memory that names something."""
    return [fact for fact in map(fact_of, statements_of(memory)) if fact.keys]


class Vocabulary:
    """Every word of a text, for the question "does this key appear there, in any spelling?"."""

    def __init__(self, texts: Iterable[str]) -> None:
        self.exact: set[str] = set()
        self.stems: set[str] = set()
        self._seen: dict[str, bool] = {}  # has_word's answers: every fact asks about the same words
        for text in texts:
            for word in words_of(text):
                self.exact.add(word)
                self.stems.add(_stem(word))

    def has_name(self, name: str) -> bool:
        """A number exactly; a name in any spelling of itself ("Sundays" / "Sunday")."""
        if any(ch.isdigit() for ch in name):
            return name in self.exact
        return self.has_word(name)

    def has_word(self, stem: str) -> bool:
        if stem not in self._seen:
            self._seen[stem] = stem in self.stems or any(same_word(stem, other) for other in self.stems)
        return self._seen[stem]

    def has_key(self, key: str) -> bool:
        return self.has_name(key) or self.has_word(key)


@lru_cache(maxsize=32)
def vocabulary_of(*texts: str) -> Vocabulary:
    """The Vocabulary of ``texts``, built once however many lines and facts ask about the same
    turns (each line of an answer used to rebuild it from the whole transcript: ~45 ms a line for
    150 turns). Never changed after it is built, so one copy serves every caller."""
    return Vocabulary(texts)


def kept_in(fact: Fact, text: Vocabulary) -> bool:
    """Whether what identifies ``fact`` survives in ``text``."""
    if not all(text.has_name(name) for name in fact.names):
        return False
    # With a name to anchor it, half the other words (at least one: "Loves Porto wine." does not
    # keep "Lives in Porto."); without, most of them ("Allergic to cats" does not keep "Allergic
    # to peanuts").
    needed = max(1, len(fact.words) // 2) if fact.names else len(fact.words) // 2 + 1
    needed = min(needed, len(fact.words))
    return sum(text.has_word(word) for word in fact.words) >= needed


def shares_subject(fact: Fact, text: str) -> bool:
    """Whether ``text`` names at least one of the fact's key words."""
    vocabulary = vocabulary_of(text)
    return any(vocabulary.has_key(key) for key in fact.keys)


def _negation(word: str) -> bool:
    """A word that says no ("not", "never", "doesn't"): the fact's polarity, not one of its keys."""
    return word in _NEGATIONS or word.endswith("n't")


def negated(text: str) -> bool:
    return any(_negation(word) for word in words_of(text))


def grounded(line: str, user_turns: Sequence[str], current: str | None) -> bool:
    """Whether a line the model added rests on something: a key word of the user's turns (or of the
    memory, when it only rewords). A line naming nothing the user or the memory said is invented."""
    fact = fact_of(line)
    if not fact.keys:
        return False
    source = vocabulary_of(*user_turns, current or "")
    return any(source.has_key(key) for key in fact.keys)
