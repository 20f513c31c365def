"""Fitting a consolidation into the model's context: the answer's room first, the memory always,
then as many of the newest turns as fit.

Without a cap a small model wrote until the 120 s timeout cut it off, and a transcript longer
than its 2,048-token context failed with a 400 on every retry. Tokens are estimated from
characters (3 per token unless the server has told us better: it states the prompt's real size
when it refuses one); a server that still says "too long" gets one retry fitted to the limit
it states, never a retry storm.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date

from aura.consolidation.prompt import PromptTemplates
from aura.consolidation.transcript import Transcript, trim_oldest

CHARS_PER_TOKEN = 3.0  # conservative: English runs near 4, JSON-escaped text lower
ANSWER_OVERHEAD_TOKENS = 128  # the JSON around the edits, or a line or two of slack
MESSAGE_OVERHEAD_TOKENS = 16  # role markers and the chat template, per message
MIN_ANSWER_TOKENS = 256
TURN_WRAPPING_CHARS = 40  # a turn's JSON around its content: role, time, quotes


@dataclass(frozen=True)
class Fitted:
    transcript: Transcript
    max_tokens: int


def answer_tokens(limit_chars: int, chars_per_token: float = CHARS_PER_TOKEN) -> int:
    """The most an answer needs: the whole memory at its length limit, plus the JSON around it."""
    return math.ceil(limit_chars / chars_per_token) + ANSWER_OVERHEAD_TOKENS


def fit(
    prompts: PromptTemplates,
    memory: str | None,
    transcript: Transcript,
    today: date,
    limit: int,
    context_tokens: int,
    chars_per_token: float = CHARS_PER_TOKEN,
) -> Fitted:
    """The transcript (oldest turns cut first) and max_tokens that fit ``context_tokens`` (0: unknown,
    then only the answer is capped). The memory and instructions are never cut."""
    wanted = answer_tokens(limit, chars_per_token)
    if not context_tokens:
        return Fitted(transcript, wanted)
    bare = prompts.messages(memory, Transcript.empty(), today, limit)
    fixed = sum(len(m["content"]) for m in bare) / chars_per_token + MESSAGE_OVERHEAD_TOKENS * len(bare)
    room = context_tokens - math.ceil(fixed)
    # Half of what is left for the answer at most (the turns are what there is to learn from),
    # never less than a short answer needs.
    max_tokens = max(min(wanted, room // 2), min(wanted, MIN_ANSWER_TOKENS))
    turn_chars = int((room - max_tokens) * chars_per_token)
    return Fitted(trim_oldest(transcript, max(turn_chars, 0), per_turn=TURN_WRAPPING_CHARS), max_tokens)


def learned_ratio(prompt_chars: int, prompt_tokens: int | None) -> float:
    """Characters per token as the server counted them (10% margin), or the default."""
    if not prompt_tokens:
        return CHARS_PER_TOKEN
    return min(CHARS_PER_TOKEN, 0.9 * prompt_chars / prompt_tokens)
