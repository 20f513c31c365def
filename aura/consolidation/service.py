"""Consolidation: merge recent turns into the user's memory through the model, never losing a write.

Read the memory and its version, ask the model (no database connection held meanwhile), then
save only if the memory is still at that version. Someone saved meanwhile (staff, the
frontend, another consolidation)? Read again and merge again from their text, once; losing
that race too is a 412. A caller that pinned a version is never re-merged: 412 at once.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from flask import current_app
from sqlalchemy.orm import scoped_session

from aura.consolidation.merge import (
    Merged,
    consolidation_client,
    consolidation_prompts,
    memory_limit,
    merge,
    request_options,
)
from aura.consolidation.metrics import CONSOLIDATION_SECONDS, CONSOLIDATION_TOKENS, CONSOLIDATIONS
from aura.consolidation.proposals import Proposal, asks_to_forget, propose, shrinks
from aura.consolidation.transcript import Transcript, build_transcript
from aura.llm.errors import LLMError
from aura.memory.service import save_memory
from aura.memory.settings import MemorySettings, effective_mode, settings_and_memory
from aura.memory.types import Actor, Memory, MemoryDisabled, RevisionSource, VersionConflict
from aura.models import utcnow
from aura.web.deadline import outside_request_deadline

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ConsolidationRequest:
    messages: Sequence[Mapping]  # {"role", "content", optional "created_at"}
    conversation_id: str | None = None
    preview: bool = False
    expected_version: int | None = None  # pinned by If-Match / expected_version: never re-merged
    trigger: str = "request"  # or "background": a job of aura.jobs


@dataclass(frozen=True)
class Consolidation:
    """What happened. ``memory`` is the memory now (the new one when ``changed``); in a preview,
    ``proposed`` is the text that would be stored and nothing was."""

    changed: bool
    memory: Memory | None
    transcript: Transcript
    preview: bool = False
    proposed: str | None = None
    based_on_version: int = 0
    proposal: Proposal | None = None  # stored instead of changing the memory...
    held_for_review: str | None = None  # ...because of "review" mode, "shrink" or "dropped_facts"
    declined: str | None = None  # the model answered and AURA kept the memory (aura.consolidation.merge)


def _held_for(
    settings: MemorySettings, current: str | None, merged: Merged, transcript: Transcript
) -> str | None:
    """Why the result must wait for review instead of becoming the memory (None: it need not).
    A result that loses facts nobody asked to forget is never applied, in any mode."""
    new = merged.content or ""
    if merged.dropped:
        return "dropped_facts"
    if effective_mode(settings) == "review":
        return "review"
    user_turns = (turn.content for turn in transcript.turns if turn.role == "user")
    if shrinks(current, new) and not asks_to_forget(user_turns):
        return "shrink"
    return None


def _details(request: ConsolidationRequest, transcript: Transcript, merged: Merged, remerged: bool) -> dict:
    """The provenance kept with the revision: shown in the revisions API, the export, the admin."""
    return {
        "model": merged.model,
        "prompt": consolidation_prompts().version,
        "conversation_id": request.conversation_id,
        "turns_used": len(transcript.turns),
        "turns_received": transcript.received,
        "chars_used": transcript.chars,
        "transcript_cut": transcript.cut,
        "usage": merged.usage,
        "model_calls": merged.calls,
        "condensed": merged.condensed,
        "remerged": remerged,
        "trigger": request.trigger,
        **merged.details(),
    }


def _count_tokens(merged: Merged) -> None:
    for kind in ("prompt_tokens", "completion_tokens"):
        if merged.usage.get(kind):
            CONSOLIDATION_TOKENS.labels(kind.removesuffix("_tokens")).inc(merged.usage[kind])


def consolidate(
    user_id: int,
    request: ConsolidationRequest,
    actor: Actor,
    after_write: Callable[[scoped_session], None] | None = None,
    timeout: float | None = None,
) -> Consolidation:
    """Merge ``request.messages`` into the user's memory (or, in a preview, say what it would be).

    Raises MemoryDisabled (the model is not called), VersionConflict (412: a pinned version
    moved, before or during the model call, or the re-merge lost the race too), LLMError
    (the model failed: nothing stored). ``after_write`` runs inside the save's transaction
    (see save_memory); ``timeout`` shortens AURA_CONSOLIDATION_TIMEOUT.
    """
    started = time.monotonic()
    outcome = "error"
    seconds = min(_config("TIMEOUT"), timeout) if timeout else _config("TIMEOUT")
    try:
        result = _consolidate(user_id, request, actor, started + seconds, after_write)
        outcome = (
            "preview"
            if result.preview
            else "changed"
            if result.changed
            else "declined"
            if result.declined
            else "held"
            if result.proposal
            else "unchanged"
        )
        return result
    except MemoryDisabled:
        outcome = "memory_disabled"
        raise
    except VersionConflict:
        outcome = "conflict"
        raise
    except LLMError as error:
        outcome = error.outcome
        raise
    finally:
        CONSOLIDATIONS.labels(outcome).inc()
        CONSOLIDATION_SECONDS.observe(time.monotonic() - started)


def _config(name: str):
    return current_app.config[f"AURA_CONSOLIDATION_{name}"]


def _consolidate(
    user_id: int,
    request: ConsolidationRequest,
    actor: Actor,
    deadline: float,
    after_write: Callable[[scoped_session], None] | None,
) -> Consolidation:
    cfg = current_app.config
    transcript = build_transcript(request.messages, _config("MAX_INPUT_CHARS"), _config("MAX_TURN_CHARS"))
    pinned = request.expected_version is not None
    for attempt in (1, 2):
        settings, memory = settings_and_memory(user_id)
        if not settings.enabled:
            raise MemoryDisabled(user_id)
        version = memory.version if memory else 0
        if pinned and version != request.expected_version:
            raise VersionConflict(request.expected_version, memory)
        current = memory.content if memory else None
        with outside_request_deadline():  # the model's wait is not the database's
            merged = merge(
                consolidation_client(),
                consolidation_prompts(),
                current,
                transcript,
                today=utcnow().date(),
                limit=memory_limit(current, cfg["AURA_MEMORY_TARGET_CHARS"], cfg["AURA_MAX_MEMORY_CHARS"]),
                deadline=deadline,
                options=request_options(_config("TEMPERATURE")),
            )
        _count_tokens(merged)
        transcript = merged.transcript or transcript  # the turns the model saw (its context may cut some)
        if request.preview:
            proposed = merged.content if merged.content is not None else current
            return Consolidation(False, memory, transcript, True, proposed, version, declined=merged.declined)
        if merged.declined:
            log.info("consolidation for user %s declined the model's answer: %s", user_id, merged.declined)
            return Consolidation(False, memory, transcript, declined=merged.declined)
        if merged.content is None or merged.content == current:
            return Consolidation(False, memory, transcript)
        details = _details(request, transcript, merged, remerged=attempt == 2)
        held = _held_for(settings, current, merged, transcript)
        if held is not None:
            proposal = propose(user_id, merged.content, version, held, details, actor, after_write)
            return Consolidation(False, memory, transcript, proposal=proposal, held_for_review=held)
        try:
            saved = save_memory(
                user_id,
                merged.content,
                source=RevisionSource.CONSOLIDATION,
                actor=actor,
                expected_version=version,
                details=details,
                after_write=after_write,
            )
        except VersionConflict:
            if pinned or attempt == 2:
                raise
            log.info("consolidation for user %s lost a race with another write; merging again", user_id)
            continue
        return Consolidation(True, saved, transcript)
    raise AssertionError("unreachable")
