"""The part of a conversation a consolidation sends to the model: bounded, newest turns first.

A 2-million-token request for a 200-token memory is what an unbounded summariser sends;
here the transcript is at most AURA_CONSOLIDATION_MAX_INPUT_CHARS, every turn at most
AURA_CONSOLIDATION_MAX_TURN_CHARS, and credentials are removed before the model sees them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from aura.consolidation.credentials import remove_credentials

CUT_MARK = " [...]"


@dataclass(frozen=True)
class Turn:
    role: str  # "user" or "assistant"
    content: str
    created_at: datetime | None = None

    def as_data(self) -> dict:
        """The turn as the prompt shows it (time in UTC, to the minute, when known)."""
        data = {"role": self.role}
        if self.created_at is not None:
            data["time"] = self.created_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
        data["content"] = self.content
        return data


@dataclass(frozen=True)
class Transcript:
    turns: list[Turn]
    received: int  # turns the caller sent
    cut: bool  # whether older turns were left out or a turn was shortened

    @classmethod
    def empty(cls) -> Transcript:
        return cls([], 0, False)

    @property
    def chars(self) -> int:
        return sum(len(turn.content) for turn in self.turns)


def _shortened(content: str, max_chars: int) -> str:
    return content if len(content) <= max_chars else content[: max_chars - len(CUT_MARK)] + CUT_MARK


def build_transcript(messages: Iterable[Mapping], max_chars: int, max_turn_chars: int) -> Transcript:
    """The newest turns that fit ``max_chars``, each cut to ``max_turn_chars``, oldest first.

    Whole turns are kept or left out (a turn is never cut to fill the last few characters), so
    the model never reads half a sentence as a fact.
    """
    turns = [Turn(m["role"], remove_credentials(m["content"]), m.get("created_at")) for m in messages]
    kept: list[Turn] = []
    used = 0
    shortened = False
    for turn in reversed(turns):
        content = _shortened(turn.content, max_turn_chars)
        if used + len(content) > max_chars:
            break
        shortened = shortened or content != turn.content
        kept.append(Turn(turn.role, content, turn.created_at))
        used += len(content)
    kept.reverse()
    return Transcript(kept, received=len(turns), cut=shortened or len(kept) < len(turns))


def trim_oldest(transcript: Transcript, max_chars: int, per_turn: int = 0) -> Transcript:
    """The transcript without its oldest turns, until the rest fit ``max_chars`` (the model's
    context), each turn counted with ``per_turn`` characters of wrapping."""
    kept = list(transcript.turns)
    used = sum(len(turn.content) + per_turn for turn in kept)
    while kept and used > max_chars:
        used -= len(kept.pop(0).content) + per_turn
    if len(kept) == len(transcript.turns):
        return transcript
    return Transcript(kept, received=transcript.received, cut=True)
