"""What a model says around (or instead of) a memory: refusals, meta-text, preambles and chatter.

A model asked for the memory text alone still answers "Sure! Here is the updated memory:",
"I'm sorry, but I can't help with that", `The new memory text is "..."` or "Let me know if
you need anything else". Such lines are recognised whole: stripped when a real memory remains
around them (never a label cut out of a line that also carries a fact), and when nothing but
them remains the answer is declined, so the memory stays as it was.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_REFUSAL = re.compile(
    r"^(?:i'?m sorry|i am sorry|sorry,|i apologi[sz]e|unfortunately,? i|i can(?:no|')t\b|i cannot\b"
    r"|i'?m (?:not able|unable)|i am (?:not able|unable)|i won'?t\b|as an ai\b|as a language model\b"
    r"|as an assistant\b)",
    re.IGNORECASE,
)
_META = re.compile(
    r"^(?:(?:sure|certainly|of course|okay|ok|absolutely|great|alright|done|got it)(?:[!,.:]|\s*$)"
    r"|here(?:'s| is| are)\b"
    r"|below is\b|the (?:new|updated|revised|current|final) (?:memory|note)\b|(?:new|updated) memory\b"
    r"|memory:?\s*$|this (?:memory|note)\b|i (?:have|'ve) (?:updated|kept|added|removed|merged)\b"
    r"|let me know\b|i hope\b|hope this\b|feel free\b|is there anything\b|if you (?:need|want|have)\b"
    r"|thanks?[!,.]|thank you\b|what a\b|i'?m glad\b|i am glad\b|you(?:'ve| have| are|'re)\b"
    r"|nothing (?:new )?to (?:add|remember)\b|no (?:new|changes)\b|i (?:think|believe|would)\b"
    r"|(?:add|remove|update|delete|insert|replace|edit|keep)\s+(?:the|this|that|a|an|line|it)\b"
    r"|the (?:new|updated|following) (?:fact|facts|information|info|line|lines)\b)",
    re.IGNORECASE,
)
# A memory is written about the user in the third person: "I", "you", "we" outside a quotation
# is the model talking (to the user, or about itself), as in "Your name is John" or "I am not HACKED".
# Case matters: "US" (the country) and "Us and Them" (a band) are facts, "us" is the model talking.
_VOICE = re.compile(
    r"\b(?:I|I'm|I've|I'll|I'd|[Mm]e|[Mm]y|[Mm]ine|[Ww]e|[Ww]e're|[Oo]ur|us|[Yy]ou|[Yy]ou're|[Yy]ou've|"
    r"[Yy]our|[Yy]ours)\b"
)
_QUOTED = re.compile(r"\"[^\"]*\"|\u201c[^\u201d]*\u201d")
# JSON, markup or prompt debris: braces, "op", markup tags, anything in square brackets but the
# credential filter's "[removed]", the prompt's own words ("current_memory", "transcript"), or a
# remark on what the user said or wants.
_DEBRIS = re.compile(
    r"[{}]|\"op\"|\bedits\b|</?[a-z][^>]*>|\[(?!removed\])[^\]]*\]|current_memory|\btranscript\b"
    r"|the user (?:wants? to|mentioned|said|asked|requested|told|would like)",
    re.IGNORECASE,
)
# Orders to the assistant planted in a conversation: never a fact about the user, whoever said them.
_INSTRUCTION = re.compile(
    r"\b(?:previous|prior|above|earlier|all) instructions\b|\bsystem (?:prompt|message)\b"
    r"|\bignor(?:e|es|ing)\b.*\b(?:instructions|rules|prompt)\b"
    r"|\b(?:replace|overwrite|erase|wipe|clear)s? (?:the |your |this )?(?:entire |whole )?memory\b",
    re.IGNORECASE,
)
_QUOTES = "\"'\u201c\u201d\u2018\u2019`"
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
_FENCED = re.compile(r"\A```[\w-]*\n(?P<body>.*?)\n?```\Z", re.DOTALL)


def unfenced(reply: str) -> str:
    """A reply without the code fence a model may wrap it in (```json ... ```), trimmed."""
    text = reply.strip()
    fenced = _FENCED.match(text)
    return fenced.group("body").strip() if fenced else text


@dataclass(frozen=True)
class Reading:
    """The memory lines of an answer, and why the answer is declined when none are usable."""

    text: str
    declined: str | None = None  # "refusal" or "meta_text"
    stripped: int = 0  # whole lines taken out as preamble or chatter


def _kind(line: str) -> str | None:
    bare = line.strip().lstrip("#>*-\u2022 ").strip(_QUOTES).strip()
    if not bare:
        return None
    if _REFUSAL.match(bare):
        return "refusal"
    if _META.match(bare):
        return "meta_text"
    return None


def read_answer(text: str) -> Reading:
    """The answer without its whole preamble and chatter lines, or declined when nothing else is left."""
    lines = text.splitlines()
    kinds = [_kind(line) for line in lines]
    kept = [line for line, kind in zip(lines, kinds, strict=True) if kind is None and line.strip()]
    stripped = sum(kind is not None for kind in kinds)
    if not kept:
        declined = "refusal" if "refusal" in kinds else "meta_text"
        return Reading("", declined=declined, stripped=stripped)
    return Reading("\n".join(kept).strip(), stripped=stripped)


def is_chatter(line: str) -> bool:
    """One line that is about the answer, not about the user (an edit that adds it is refused)."""
    return _kind(line) is not None


def not_a_fact(line: str) -> bool:
    """A line a model may not add to a memory: chatter, the model's own voice, a question, orders
    to the assistant, or debris."""
    unquoted = _QUOTED.sub("", line)
    return (
        any(is_chatter(sentence) for sentence in _SENTENCE_END.split(line.strip()))
        or bool(_VOICE.search(unquoted))
        or any(sentence.endswith("?") for sentence in _SENTENCE_END.split(unquoted.strip()))  # a question
        or bool(_INSTRUCTION.search(line))
        or bool(_DEBRIS.search(line))
    )
