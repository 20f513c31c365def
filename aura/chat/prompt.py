"""Message assembly for the model: pure functions, so what the model sees is easy to test and preview."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypedDict

# How the memory is framed for the model (AURA_MEMORY_FRAMING may change it; {memory} is the text).
MEMORY_FRAMING = "User Memory: {memory}"


class ChatMessage(TypedDict):
    role: str
    content: str


def memory_message(memory_content: str | None, framing: str = MEMORY_FRAMING) -> ChatMessage | None:
    """The second system message, only when the user has a non-blank memory."""
    if memory_content is None or not memory_content.strip():
        return None
    return {"role": "system", "content": framing.replace("{memory}", memory_content)}


def _size(messages: Sequence[ChatMessage]) -> int:
    return sum(len(m["content"]) for m in messages)


def build_messages(
    *,
    system_prompt: str,
    memory_content: str | None,
    history: Sequence[ChatMessage],
    message: str,
    max_chars: int,
    framing: str = MEMORY_FRAMING,
) -> list[ChatMessage]:
    """System prompt, then memory, then history in order, then the new user message.

    When the total exceeds ``max_chars`` the oldest history turns are dropped first; the
    system prompt, the memory and the new message are always kept.
    """
    head: list[ChatMessage] = [{"role": "system", "content": system_prompt}]
    memory = memory_message(memory_content, framing)
    if memory is not None:
        head.append(memory)
    tail: list[ChatMessage] = [{"role": "user", "content": message}]
    turns = [{"role": turn["role"], "content": turn["content"]} for turn in history]

    budget = max_chars - _size(head) - _size(tail)
    kept_from = 0
    remaining = _size(turns)
    while kept_from < len(turns) and remaining > budget:
        remaining -= len(turns[kept_from]["content"])
        kept_from += 1
    # Once trimmed, start on a user turn: some chat templates reject an assistant turn first.
    while 0 < kept_from < len(turns) and turns[kept_from]["role"] == "assistant":
        kept_from += 1
    return head + turns[kept_from:] + tail


LEADING_ROLES = ("system", "developer")


def insert_memory(
    messages: Sequence[dict], memory_content: str | None, framing: str = MEMORY_FRAMING
) -> list[dict]:
    """A caller's own conversation (OpenAI's protocol) with the memory inserted where it belongs: right
    after the caller's leading system/developer messages, or first when there are none. Those
    instructions keep their place, and nothing else is touched."""
    memory = memory_message(memory_content, framing)
    if memory is None:
        return list(messages)
    position = 0
    while position < len(messages) and messages[position].get("role") in LEADING_ROLES:
        position += 1
    return [*messages[:position], dict(memory), *messages[position:]]
