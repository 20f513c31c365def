"""Word-level differences between two memory texts, for the history's "what changed" view.

Bounded in time: difflib's SequenceMatcher (autojunk off) is quadratic or worse on repetitive
text, and two 2,000-character revisions ("a a a ..." against "b a b a ...") kept a worker at
full CPU until gunicorn killed it, dropping every connection it held. diff-match-patch's Myers
diff stops refining after DIFF_SECONDS and returns a coarser diff that is still correct:
applying its removals and additions to ``before`` always gives ``after``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from diff_match_patch import diff_match_patch

_TOKENS = re.compile(r"\S+|\s+")
DIFF_SECONDS = 0.3
_KINDS = {diff_match_patch.DIFF_EQUAL: "same", diff_match_patch.DIFF_DELETE: "removed"}
_FIRST_CODE = 0x100
_SURROGATES = range(0xD800, 0xE000)


@dataclass(frozen=True)
class Segment:
    kind: str  # "same", "added" or "removed"
    text: str


def word_diff(before: str, after: str) -> list[Segment]:
    """``after`` compared with ``before`` as runs of same, added and removed words (spacing kept)."""
    words: list[str] = []
    codes: dict[str, str] = {}

    def encode(text: str) -> str:
        """One character per distinct word or run of spaces, so the diff compares whole words."""
        out = []
        for token in _TOKENS.findall(text):
            code = codes.get(token)
            if code is None:
                code = codes[token] = _code_point(len(words))
                words.append(token)
            out.append(code)
        return "".join(out)

    differ = diff_match_patch()
    differ.Diff_Timeout = DIFF_SECONDS
    old, new = encode(before), encode(after)
    segments = []
    for op, encoded in differ.diff_main(old, new, checklines=False):
        text = "".join(words[_index(code)] for code in encoded)
        segments.append(Segment(_KINDS.get(op, "added"), text))
    return segments


def _code_point(index: int) -> str:
    point = _FIRST_CODE + index
    return chr(point + len(_SURROGATES) if point >= _SURROGATES.start else point)


def _index(code: str) -> int:
    point = ord(code)
    return (point - len(_SURROGATES) if point >= _SURROGATES.stop else point) - _FIRST_CODE
