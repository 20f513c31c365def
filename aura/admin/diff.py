"""Word-level differences between two memory texts, for the history's "what changed" view."""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

_TOKENS = re.compile(r"\S+|\s+")


@dataclass(frozen=True)
class Segment:
    kind: str  # "same", "added" or "removed"
    text: str


def word_diff(before: str, after: str) -> list[Segment]:
    """``after`` compared with ``before`` as runs of same, added and removed words (spacing kept)."""
    old, new = _TOKENS.findall(before), _TOKENS.findall(after)
    segments: list[Segment] = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(a=old, b=new, autojunk=False).get_opcodes():
        if op == "equal":
            segments.append(Segment("same", "".join(new[j1:j2])))
            continue
        if op in ("delete", "replace"):
            segments.append(Segment("removed", "".join(old[i1:i2])))
        if op in ("insert", "replace"):
            segments.append(Segment("added", "".join(new[j1:j2])))
    return segments
