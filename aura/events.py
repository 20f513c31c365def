"""Memory events: how the memory layer says what happened without knowing who listens.

The memory service (and consolidation, for proposals) *announces* an event inside the
transaction that made the change; the app factory *subscribes* listeners per app (today the
webhook outbox, which writes its delivery rows in that same transaction, so an event exists
exactly when its change committed). A listener that raises undoes the change with it.

Per app, not process-global (as blinker's signals would be): tests build many apps with
different settings in one process, and the hot save path asks `subscribed()` on every call.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from flask import Flask, current_app, has_app_context
from sqlalchemy.orm import Session

EXTENSION_KEY = "aura_event_subscribers"

# Every event there is (the webhook event types carry the same names).
UPDATED: Final = "memory.updated"  # saved (frontend, staff, consolidation) or restored
DELETED: Final = "memory.deleted"  # forgotten (source "delete") or erased (source "erasure")
PROPOSAL_CREATED: Final = "memory.proposal_created"  # a consolidation held for review
SETTINGS_CHANGED: Final = "memory.settings_changed"  # the memory switch or consolidation mode
EVENT_TYPES: Final = (UPDATED, DELETED, PROPOSAL_CREATED, SETTINGS_CHANGED)


@dataclass(frozen=True)
class MemoryEvent:
    """What changed, never the memory's text: listeners pass events on to other systems."""

    type: str
    user_id: int
    version: int | None  # the memory's version after the change (None: settings, no memory)
    source: str  # who or what caused it: frontend, staff, consolidation, restore, api, ...

    def __post_init__(self) -> None:
        if self.type not in EVENT_TYPES:
            raise ValueError(f"unknown memory event {self.type!r}")


Subscriber = Callable[[Session, MemoryEvent], None]


def subscribe(app: Flask, subscriber: Subscriber) -> None:
    """Call ``subscriber(session, event)`` for every event this app announces (factory wiring)."""
    app.extensions.setdefault(EXTENSION_KEY, []).append(subscriber)


def subscribed() -> bool:
    """Whether announcing would run anything: without listeners a save may skip its transaction."""
    return has_app_context() and bool(current_app.extensions.get(EXTENSION_KEY))


def announce(session: Session, event: MemoryEvent) -> None:
    """Run every listener in the caller's transaction (``session``), in subscription order."""
    if not has_app_context():
        return
    for subscriber in current_app.extensions.get(EXTENSION_KEY, ()):
        subscriber(session, event)
