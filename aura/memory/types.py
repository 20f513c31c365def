"""What the memory layer hands out and raises: plain values, detached from the ORM session, that
every caller (API, admin pages, consolidation, jobs) can hold without importing the service."""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass
from datetime import datetime


class RevisionSource(enum.StrEnum):
    """Who wrote a revision: the frontend, staff, a restore, AURA itself, or an agent over MCP."""

    FRONTEND = "frontend"
    STAFF = "staff"
    RESTORE = "restore"
    CONSOLIDATION = "consolidation"  # AURA merged recent turns into the memory through a model
    MCP = "mcp"  # an agent's tool call over the Model Context Protocol (aura.mcp)


@dataclass(frozen=True)
class Actor:
    """Who is writing: a label for display (token name, staff email) and the staff id if staff."""

    label: str | None = None
    staff_id: int | None = None


FRONTEND = Actor()


@dataclass(frozen=True)
class Memory:
    """A memory as callers see it, detached from the ORM session."""

    user_id: int
    content: str
    version: int
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class Page:
    items: list
    page: int
    per_page: int
    total: int
    # True when ``total`` is a floor: counting every match would cost more than it tells.
    more: bool = False

    @property
    def pages(self) -> int:
        return math.ceil(self.total / self.per_page) if self.total else 0


class RevisionNotFound(LookupError):
    """The revision does not exist, or belongs to another user."""


class MemoryDisabled(Exception):
    """The user switched memory off: nothing may be stored until they switch it back on."""


class VersionConflict(Exception):
    """The memory is no longer at the version the writer expected; ``current`` is what it is now."""

    def __init__(self, expected: int, current: Memory | None) -> None:
        super().__init__(f"expected version {expected}, found {current.version if current else 'none'}")
        self.expected = expected
        self.current = current


class Unchanged(Exception):  # noqa: N818 - an outcome, not an error
    """The memory already holds this text: the save changes nothing (no version, no revision, no
    audit entry, no event), like a repeated PUT. Raised in the transaction: it undoes the lock's bump."""

    def __init__(self, memory: Memory) -> None:
        super().__init__("unchanged")
        self.memory = memory
