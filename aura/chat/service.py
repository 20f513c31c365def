"""One chat service behind both chat protocols (AURA's /api/v1/orcha/chat and the OpenAI-compatible
/v1/chat/completions): reading the memory, timing and counting model calls, recording turns."""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

from flask import current_app
from sqlalchemy.exc import SQLAlchemyError

from aura.chat.metrics import CHAT_CALLS, MODEL_LATENCY, TURNS_NOT_RECORDED
from aura.chat.prompt import ChatMessage, build_messages
from aura.conversations.service import record_turn, recording_enabled
from aura.extensions import db
from aura.llm.errors import LLMError
from aura.memory.service import get_memory_for_chat
from aura.web.errors import describe_driver_error


@dataclass(frozen=True)
class PreparedChat:
    messages: list[ChatMessage]
    memory_used: bool


def memory_for_chat(user_id: int, use_memory: bool = True) -> str | None:
    """The memory text a chat turn may carry, or None (none stored, switched off, or a temporary
    chat, which does not even read it). The read gives its connection back to the pool at once,
    so a slow model call never holds one."""
    memory = get_memory_for_chat(user_id) if use_memory else None
    return memory.content if memory else None


def prepare_chat(
    user_id: int, message: str, history: Sequence[ChatMessage], use_memory: bool = True
) -> PreparedChat:
    """The exact messages the model gets for this user, and whether the memory is among them."""
    messages = build_messages(
        system_prompt=current_app.config["AURA_SYSTEM_PROMPT"],
        memory_content=memory_for_chat(user_id, use_memory),
        history=history,
        message=message,
        max_chars=current_app.config["AURA_CHAT_MAX_PROMPT_CHARS"],
        framing=current_app.config["AURA_MEMORY_FRAMING"],
    )
    memory_used = len(messages) > 1 and messages[1]["role"] == "system"
    return PreparedChat(messages=messages, memory_used=memory_used)


@contextmanager
def model_call(streamed: bool, caller_faults: frozenset[int] = frozenset()) -> Iterator[None]:
    """Time the model's answer (until a stream's headers) and count the turn's outcome; a failed
    call is counted and logged, then re-raised for the protocol to answer in its own shape."""
    started = time.perf_counter()
    try:
        yield
    except LLMError as error:
        CHAT_CALLS.labels(error.outcome).inc()
        # The status the client gets (a pass-through protocol answers the model server's refusal of
        # the caller's request, ``caller_faults``, with 400), and never the server's own text.
        answered = 400 if error.upstream_status in caller_faults else error.status
        current_app.logger.warning("chat failed (answered %d): %s", answered, error.log_line())
        raise
    MODEL_LATENCY.observe(time.perf_counter() - started)
    CHAT_CALLS.labels("streamed" if streamed else "ok").inc()


def stream_failed(error: LLMError) -> None:
    """A stream that broke after it began (its headers already said 200)."""
    CHAT_CALLS.labels("stream_error").inc()
    current_app.logger.warning("chat stream failed: %s", error.log_line())


def record_reply(user_id: int, message: str, reply: str, conversation_id: str | None) -> None:
    """Keep a completed turn for consolidation (aura.conversations), never at the reply's expense:
    a failure to record is logged, and the user still gets the answer."""
    if not recording_enabled():
        return
    try:
        record_turn(user_id, message, reply, conversation_id)
    except SQLAlchemyError as error:
        db.session.rollback()
        TURNS_NOT_RECORDED.inc()
        # The driver's class and first line (a limit, an encoding), never the turn's text.
        current_app.logger.error("chat turn not recorded: %s", describe_driver_error(error))
