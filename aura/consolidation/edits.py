"""Structured answers: the model edits the memory's numbered lines instead of rewriting it.

The model answers ``{"edits": [{"op", "line", "text", "because"}]}``: ``add`` a new fact,
``update`` or ``remove`` line N citing, in ``because``, the user's own words that justify
it. AURA applies the edits itself, so every line nobody (validly) edited stays byte for byte:
a model that answers nonsense can fail to add a fact, never lose one. An edit is refused when
its citation is not in a user turn or does not touch the line, when it adds chatter, a
duplicate, a credential or something nobody said, or when it does not fit the length limit.
A citation is necessary, not sufficient: the edited memory then passes the same retention
check as a rewrite (aura.consolidation.merge).
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from aura.consolidation.answers import not_a_fact, unfenced
from aura.consolidation.credentials import remove_credentials
from aura.consolidation.facts import LIST_MARKER, Fact, Vocabulary, fact_of, grounded, kept_in, shares_subject

OPS = ("add", "update", "remove")
# What the model is asked for (response_format json_schema; strict-compatible: every field required).
EDITS_SCHEMA = {
    "type": "object",
    "properties": {
        "edits": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "op": {"type": "string", "enum": list(OPS)},
                    "line": {"type": "integer"},
                    "text": {"type": "string"},
                    "because": {"type": "string"},
                },
                "required": ["op", "line", "text", "because"],
                "additionalProperties": False,
            },
        }
    },
    "required": ["edits"],
    "additionalProperties": False,
}
_SPACE = re.compile(r"\s+")
_MIN_CITATION_CHARS = 3


@dataclass(frozen=True)
class Edit:
    op: str
    line: int
    text: str
    because: str


@dataclass
class Applied:
    """The memory after the valid edits, and what was refused (kept with the revision's details)."""

    text: str
    applied: int = 0
    refused: list[dict] = field(default_factory=list)


def parse_edits(reply: str) -> list[Edit] | None:
    """The edits in a reply, or None when the reply is not the structured form (then it is a rewrite)."""
    try:
        data = json.loads(unfenced(reply))
    except ValueError:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("edits"), list):
        return None
    edits = []
    for item in data["edits"]:
        if not isinstance(item, dict) or item.get("op") not in OPS:
            continue
        line = item.get("line")
        edits.append(
            Edit(
                op=item["op"],
                line=line if isinstance(line, int) and not isinstance(line, bool) else 0,
                text=item.get("text") if isinstance(item.get("text"), str) else "",
                because=item.get("because") if isinstance(item.get("because"), str) else "",
            )
        )
    return edits


def numbered_lines(memory: str | None) -> list[dict]:
    """The memory as the prompt shows it: each non-empty line with its number, from 1."""
    lines = [line for line in (memory or "").splitlines() if line.strip()]
    return [{"line": number, "text": line} for number, line in enumerate(lines, start=1)]


def _squash(text: str) -> str:
    return _SPACE.sub(" ", text.replace("\u2019", "'")).strip(" \"'\u201c\u201d.").casefold()


def _cited(because: str, user_turns: Sequence[str]) -> bool:
    quote = _squash(because)
    return len(quote) >= _MIN_CITATION_CHARS and any(quote in _squash(turn) for turn in user_turns)


def _one_line(text: str) -> str:
    """An edit's text as one memory line: no credentials, no list marker ("1. ", "- ")."""
    return LIST_MARKER.sub("", _SPACE.sub(" ", remove_credentials(text)).strip())


class _Editor:
    def __init__(
        self, current: str | None, user_turns: Sequence[str], limit: int, forgotten: Sequence[Fact]
    ) -> None:
        self.lines = (current or "").splitlines()
        self.numbered = [index for index, line in enumerate(self.lines) if line.strip()]
        self.user_turns, self.limit, self.current, self.forgotten = user_turns, limit, current, forgotten
        self.replaced: dict[int, str | None] = {}  # index in self.lines -> new text (None: removed)
        self.added: list[str] = []
        self.result = Applied(current or "")

    def refuse(self, edit: Edit, reason: str) -> None:
        self.result.refused.append({"op": edit.op, "line": edit.line, "reason": reason})

    def change(self, edit: Edit) -> None:
        if not 1 <= edit.line <= len(self.numbered):
            return self.refuse(edit, "no_such_line")
        index = self.numbered[edit.line - 1]
        if index in self.replaced:
            return self.refuse(edit, "line_already_edited")
        old = self.lines[index]
        new = _one_line(edit.text) if edit.op == "update" else None
        if not _cited(edit.because, self.user_turns):
            return self.refuse(edit, "not_the_users_words")
        if not (
            shares_subject(fact_of(old), edit.because) or (new and shares_subject(fact_of(new), edit.because))
        ):
            return self.refuse(edit, "citation_not_about_the_line")
        if edit.op == "update" and (not new or not_a_fact(new) or not fact_of(new).keys):
            return self.refuse(edit, "not_a_fact")
        self.replaced[index] = new
        if len(self._render(self.added)) > self.limit:
            del self.replaced[index]
            return self.refuse(edit, "over_the_length_limit")
        self.result.applied += 1

    def add(self, edit: Edit) -> None:
        text = _one_line(edit.text)
        if not text or not_a_fact(text) or not fact_of(text).keys:
            return self.refuse(edit, "not_a_fact")
        if any(
            kept_in(fact_of(text), Vocabulary([line])) for line in [*self.lines, *self.added] if line.strip()
        ):
            return self.refuse(edit, "already_known")
        words = Vocabulary([text])
        if any(kept_in(fact, words) for fact in self.forgotten):
            return self.refuse(edit, "asked_to_forget")
        if not grounded(text, self.user_turns, None):
            return self.refuse(edit, "not_said_by_the_user")
        if len(self._render([*self.added, text])) > self.limit:
            return self.refuse(edit, "over_the_length_limit")
        self.added.append(text)
        self.result.applied += 1

    def _render(self, added: list[str]) -> str:
        kept = [self.replaced.get(index, line) for index, line in enumerate(self.lines)]
        return "\n".join([line for line in kept if line is not None] + added).strip()

    def apply(self, edits: Sequence[Edit]) -> Applied:
        for edit in edits:
            if edit.op == "add":
                self.add(edit)
            else:
                self.change(edit)
        if self.result.applied:  # otherwise the memory stays exactly as it was
            self.result.text = self._render(self.added)
        return self.result


def apply_edits(
    current: str | None,
    edits: Sequence[Edit],
    user_turns: Sequence[str],
    limit: int,
    forgotten: Sequence[Fact] = (),
) -> Applied:
    """The current memory with every valid edit applied; untouched lines stay byte for byte. No
    added line may say again one of the ``forgotten`` facts (the user asked to forget them)."""
    return _Editor(current, user_turns, limit, forgotten).apply(edits)
