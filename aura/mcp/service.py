"""What the MCP tools do to a memory, through the same writes as the REST API and consolidation.

``remember`` is written by a model, so it gets what a consolidation gets: the credential filter,
the size limit and review mode (a proposal instead of a change). ``update_memory`` is a direct
conditional write, like POST /api/v1/memory, plus the credential filter. No forked write path:
revisions (source "mcp"), webhooks, erasure and the memory switch come with save_memory/propose.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app

from aura.consolidation.credentials import remove_credentials
from aura.consolidation.proposals import Proposal, get_proposal, propose
from aura.extensions import db
from aura.memory import service
from aura.memory.settings import effective_mode, settings_and_memory
from aura.memory.types import Actor, Memory, MemoryDisabled, RevisionSource, VersionConflict
from aura.schemas import storable

MAX_FACT_CHARS = 1000
REMEMBER_ATTEMPTS = 5  # lost only to a write that succeeded: five writers at once all get in


class Refused(Exception):
    """The input cannot be stored as it is; the message says what to do instead."""


@dataclass(frozen=True)
class Remembered:
    """``added``: the memory now holds the fact; ``proposal``: it waits for review instead;
    neither: the memory (or the pending proposal) already held it."""

    memory: Memory | None
    added: bool = False
    proposal: Proposal | None = None


def _key(line: str) -> str:
    """A line as compared for "already there": case, spacing and a final full stop do not count."""
    return " ".join(line.split()).casefold().rstrip(".")


def _holds(content: str, fact: str) -> bool:
    return _key(fact) in {_key(line) for line in content.splitlines()}


def clean_fact(fact: str) -> str:
    """One line of storable text without credentials, or Refused saying why not."""
    fact = " ".join(storable(fact).split())
    if not any(character.isalnum() for character in fact):
        raise Refused("Give the fact as a short sentence, e.g. 'Allergic to peanuts.'")
    if len(fact) > MAX_FACT_CHARS:
        raise Refused(
            f"A fact is at most {MAX_FACT_CHARS} characters; this one has {len(fact)}. Say it shorter."
        )
    if remove_credentials(fact) != fact:
        raise Refused(
            "That looks like a credential (a key, password, token or card number). AURA never keeps "
            "secrets in memory: remember the fact without it."
        )
    return fact


def _grown(base: str, fact: str) -> str:
    content = f"{base}\n{fact}" if base else fact
    limit = current_app.config["AURA_MAX_MEMORY_CHARS"]
    if len(content) > limit:
        raise Refused(
            f"The memory is full ({len(base):,} of {limit:,} characters). Read it with get_memory and "
            "condense it with update_memory before adding more."
        )
    return content


def _propose(
    user_id: int, fact: str, current: str, version: int, actor: Actor, details: dict, memory: Memory | None
) -> Remembered:
    """Review mode: the fact joins the pending proposal of this version (one review for all), keeping
    why that one was held (a consolidation's "dropped_facts" stays flagged), or starts one."""
    pending = get_proposal(user_id)
    db.session.rollback()
    if pending is not None and pending.based_on_version == version:
        base, reason, source = pending.content, pending.reason, RevisionSource(pending.source)
        details = {**(pending.details or {}), "remembered_over_mcp": True}
    else:  # none, or one merged from an older version (it could not be accepted anyway)
        base, reason, source = current, "review", RevisionSource.MCP
    if _holds(base, fact):
        return Remembered(memory, proposal=pending)
    proposal = propose(user_id, _grown(base, fact), version, reason, details, actor, source=source)
    return Remembered(memory, proposal=proposal)


def remember(user_id: int, fact: str, actor: Actor, details: dict) -> Remembered:
    """Add ``fact`` as a new line (not twice): a conditional write, tried again when another writer
    got there first. In review mode the line goes to the pending proposal instead."""
    fact = clean_fact(fact)
    for _ in range(REMEMBER_ATTEMPTS):
        settings, memory = settings_and_memory(user_id)  # no connection held until the write
        if not settings.enabled:
            raise MemoryDisabled(user_id)
        current, version = (memory.content, memory.version) if memory else ("", 0)
        if _holds(current, fact):
            return Remembered(memory)
        if effective_mode(settings) == "review":
            return _propose(user_id, fact, current, version, actor, details, memory)
        try:
            saved = service.save_memory(
                user_id,
                _grown(current, fact),
                RevisionSource.MCP,
                actor,
                expected_version=version,
                details=details,
            )
        except VersionConflict:
            continue
        return Remembered(saved, added=True)
    raise Refused("The memory kept changing while AURA added the fact; call remember again.")


@dataclass(frozen=True)
class Updated:
    memory: Memory
    credentials_removed: bool


def update_memory(user_id: int, content: str, expected_version: int, actor: Actor, details: dict) -> Updated:
    """Replace the memory if it is still at ``expected_version`` (0: if there is none), credentials
    removed. VersionConflict names the current version; MemoryDisabled while memory is off."""
    cleaned = remove_credentials(content)
    memory = service.save_memory(
        user_id, cleaned, RevisionSource.MCP, actor, expected_version=expected_version, details=details
    )
    return Updated(memory, credentials_removed=cleaned != content)
