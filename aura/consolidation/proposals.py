"""Proposals: a consolidation that waits for review instead of changing the memory.

A user (or deployment) in review mode gets every consolidation as a proposal; in any mode the
shrink guard holds one that would drop much of the memory while nobody asked to forget. One
pending proposal per user, a newer one replacing it. Accepting makes it the memory (a
`consolidation` revision) only if the memory is still the one it was merged from.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime

from flask import current_app
from sqlalchemy import delete, select
from sqlalchemy.orm import scoped_session

from aura import events
from aura.consolidation.retention import ForgetRequests
from aura.database import transaction
from aura.extensions import db
from aura.memory import statements
from aura.memory.service import audit, get_memory, save_memory
from aura.memory.types import Actor, Memory, MemoryDisabled, RevisionSource, VersionConflict
from aura.models import MemoryProposal, utcnow


@dataclass(frozen=True)
class Proposal:
    id: int
    content: str
    based_on_version: int
    created_at: datetime
    source: str
    reason: str  # "review" or "shrink"
    details: dict | None


class NoProposal(LookupError):
    """The user has no pending proposal."""


class ProposalReplaced(Exception):
    """The proposal named is no longer the pending one (a newer replaced it, or it was decided)."""

    def __init__(self, pending: Proposal | None) -> None:
        super().__init__("proposal replaced")
        self.pending = pending


class ProposalStale(Exception):
    """The memory moved on since the proposal was merged from it: consolidate again."""

    def __init__(self, proposal: Proposal, current_version: int) -> None:
        super().__init__("proposal stale")
        self.proposal = proposal
        self.current_version = current_version


def _proposal(row: MemoryProposal | None) -> Proposal | None:
    if row is None:
        return None
    return Proposal(
        row.id, row.content, row.based_on_version, row.created_at, row.source, row.reason, row.details
    )


def get_proposal(user_id: int) -> Proposal | None:
    return _proposal(db.session.scalar(select(MemoryProposal).where(MemoryProposal.user_id == user_id)))


def shrinks(current: str | None, new: str) -> bool:
    """Whether ``new`` keeps less than (1 - AURA_CONSOLIDATION_MAX_DROP) of the memory's length."""
    if not current:
        return False
    return len(new) < (1 - current_app.config["AURA_CONSOLIDATION_MAX_DROP"]) * len(current)


def forget_phrases() -> list[str]:
    """AURA_FORGET_PHRASES as a list: the shrink guard and the retention check read the same one."""
    return [p.strip().casefold() for p in current_app.config["AURA_FORGET_PHRASES"].split(",") if p.strip()]


def asks_to_forget(user_turns: Iterable[str]) -> bool:
    """Whether the user said one of AURA_FORGET_PHRASES (then a shorter memory is what they asked)."""
    return bool(ForgetRequests(user_turns, forget_phrases(), memory=()).requests)


def propose(
    user_id: int,
    content: str,
    based_on_version: int,
    reason: str,
    details: dict,
    actor: Actor,
    after_write: Callable[[scoped_session], None] | None = None,
    source: RevisionSource = RevisionSource.CONSOLIDATION,
) -> Proposal:
    """Store the pending proposal, replacing any older one (``after_write``: in the same transaction).
    ``source``: who wrote it, kept when it is accepted (a consolidation, or an agent over MCP)."""
    with transaction() as session:
        # Waits for an erasure, like every write. Memory switched off since the consolidation read
        # it (the model call takes seconds): nothing of the user's is written after the switch.
        if not statements.hold_user(session, user_id, utcnow()):
            raise MemoryDisabled(user_id)
        session.execute(delete(MemoryProposal).where(MemoryProposal.user_id == user_id))
        row = MemoryProposal(
            user_id=user_id,
            content=content,
            based_on_version=based_on_version,
            source=str(source),
            reason=reason,
            details=details,
            created_at=utcnow(),
        )
        session.add(row)
        session.flush()
        audit(user_id, "proposal", actor, f"held for {reason}", staff_only=False)
        events.announce(
            session, events.MemoryEvent(events.PROPOSAL_CREATED, user_id, based_on_version, row.source)
        )
        if after_write is not None:
            after_write(session)
        proposal = _proposal(row)
    return proposal


def _pending(user_id: int, proposal_id: int | None) -> Proposal:
    proposal = get_proposal(user_id)
    db.session.rollback()
    if proposal is None:
        if proposal_id is not None:
            raise ProposalReplaced(None)
        raise NoProposal(user_id)
    if proposal_id is not None and proposal.id != proposal_id:
        raise ProposalReplaced(proposal)
    return proposal


def accept_proposal(
    user_id: int, actor: Actor, proposal_id: int | None = None, expected_version: int | None = None
) -> Memory:
    """Make the pending proposal the memory; it is then gone.

    NoProposal, ProposalReplaced (``proposal_id`` names another), VersionConflict (``expected_version``
    is not the memory's), ProposalStale (the memory moved since it was merged: consolidate again).
    """
    proposal = _pending(user_id, proposal_id)
    current = get_memory(user_id)
    version = current.version if current else 0
    if expected_version is not None and expected_version != version:
        raise VersionConflict(expected_version, current)
    if proposal.based_on_version != version:
        raise ProposalStale(proposal, version)

    def decided(session: scoped_session) -> None:
        gone = session.execute(delete(MemoryProposal).where(MemoryProposal.id == proposal.id)).rowcount
        if not gone:
            raise ProposalReplaced(None)  # accepted or replaced meanwhile: this save is undone
        audit(user_id, "accept proposal", actor, f"proposal {proposal.id}", staff_only=False)

    details = {**(proposal.details or {}), "held_for_review": proposal.reason, "accepted_by": actor.label}
    try:
        return save_memory(
            user_id,
            proposal.content,
            RevisionSource(proposal.source),
            actor,
            expected_version=proposal.based_on_version,
            details=details,
            after_write=decided,
        )
    except VersionConflict as conflict:
        raise ProposalStale(proposal, conflict.current.version if conflict.current else 0) from None


def reject_proposal(user_id: int, actor: Actor, proposal_id: int | None = None) -> Proposal:
    """Drop the pending proposal (the memory stays as it is); the proposal dropped."""
    proposal = _pending(user_id, proposal_id)
    with transaction() as session:
        statements.hold_user(session, user_id, utcnow())
        gone = session.execute(delete(MemoryProposal).where(MemoryProposal.id == proposal.id)).rowcount
        if not gone:
            raise ProposalReplaced(None)
        audit(user_id, "reject proposal", actor, f"proposal {proposal.id}", staff_only=False)
    return proposal
