"""The data model: users, their one current memory, and the append-only revision log."""

from __future__ import annotations

from datetime import UTC, datetime

from flask_login import UserMixin
from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    TypeDecorator,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from aura.extensions import db


def utcnow() -> datetime:
    """Timezone-aware now; used as a callable default so each row gets its own time."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator):
    """Always hand back aware UTC datetimes, also from SQLite which stores them naive."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


# A JSON document: JSONB on PostgreSQL (compact, and queryable should staff ever need it).
JsonDocument = JSON().with_variant(JSONB(), "postgresql")

# SQLite only auto-increments INTEGER PRIMARY KEY, so big ids are BIGINT elsewhere only.
BigIntId = BigInteger().with_variant(db.Integer(), "sqlite")


class User(db.Model):
    """An AURA user; identity lives elsewhere, so rows appear on first save.

    The row is also the per-user lock: every change to the user's memory (save, restore,
    delete, erasure) locks it first, so one user's writers run one after another.
    """

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # The user's "memory off" switch: while False, chat never injects the memory and saves are refused.
    memory_enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    # Bumped by every change to the memory, deletions included, so a version is never reused:
    # the current memory's version is this value, and a stale If-Match can never match again.
    memory_version: Mapped[int] = mapped_column(Integer, default=0)
    # Revisions written for this user so far (reset by an erasure): each revision's number.
    revision_count: Mapped[int] = mapped_column(Integer, default=0)
    # How consolidations change this memory: "default" (the deployment's AURA_CONSOLIDATION_MODE),
    # "auto" (at once) or "review" (as a proposal to accept or reject).
    # Server-side default only: a Python one becomes an unfilled parameter in the save's CTE.
    consolidation_mode: Mapped[str] = mapped_column(String(10), server_default="default")


def postgresql_only(index: Index) -> Index:
    """An index only PostgreSQL can build (e.g. GIN trigrams): skipped elsewhere, by DDL and by the
    migrations' schema comparison alike (see ``include_in_schema``)."""
    index.info["only_on"] = "postgresql"
    return index.ddl_if(dialect="postgresql")


def include_in_schema(dialect: str):
    """Alembic's ``include_object`` for a database of ``dialect``: leave out what is not built there."""

    def include_object(obj, name, type_, reflected, compare_to) -> bool:
        only_on = getattr(obj, "info", {}).get("only_on")
        return only_on in (None, dialect)

    return include_object


class UserMemory(db.Model):
    """The one current memory per user; the unique user_id makes the upsert safe."""

    __tablename__ = "user_memories"
    __table_args__ = (
        # The admin users list pages through memories newest (or oldest) first.
        Index("ix_user_memories_updated_at_user_id", "updated_at", "user_id"),
        # The admin search is ILIKE '%text%': only a trigram index serves that at 100,000 users.
        # No pending list (fastupdate off): merging it stalled one save in a few hundred.
        postgresql_only(
            Index(
                "ix_user_memories_content_trgm",
                "content",
                postgresql_using="gin",
                postgresql_ops={"content": "gin_trgm_ops"},
                postgresql_with={"fastupdate": "off"},
            )
        ),
    )

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    user_id: Mapped[int] = mapped_column(
        BigIntId, ForeignKey("users.id", ondelete="CASCADE"), unique=True, index=True
    )
    content: Mapped[str] = mapped_column(Text)
    # users.memory_version when this text was written (copied here so a GET reads one row).
    version: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class MemoryRevision(db.Model):
    """Every text ever written to a memory, so regenerating or editing never loses one."""

    __tablename__ = "memory_revisions"
    __table_args__ = (Index("ix_memory_revisions_user_id_id", "user_id", "id"),)

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    user_id: Mapped[int] = mapped_column(BigIntId, ForeignKey("users.id", ondelete="CASCADE"))
    # 1, 2, 3 ... per user, what staff and the API show; the global id stays internal.
    number: Mapped[int] = mapped_column(Integer)
    content: Mapped[str] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(20))
    actor: Mapped[str | None] = mapped_column(String(120))
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # How the text came about, when AURA wrote it itself (a consolidation: the model, the
    # conversation, the turns and characters used, token usage); null for other sources.
    details: Mapped[dict | None] = mapped_column(JsonDocument)


class ConversationTurn(db.Model):
    """One completed chat turn, recorded (when the deployment enables it) for consolidation.

    Credentials are filtered out before it is stored; erased with the memory, and removed after
    AURA_CONVERSATION_RETENTION_DAYS.
    """

    __tablename__ = "conversation_turns"
    __table_args__ = (
        # A user's turns newest first (the API), and "since the last consolidation" (by id).
        Index("ix_conversation_turns_user_id_id", "user_id", "id"),
        # Retention removes the oldest turns of everyone.
        Index("ix_conversation_turns_created_at", "created_at"),
    )

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    user_id: Mapped[int] = mapped_column(BigIntId, ForeignKey("users.id", ondelete="CASCADE"))
    conversation_id: Mapped[str | None] = mapped_column(String(200))
    message: Mapped[str] = mapped_column(Text)
    reply: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class ConsolidationState(db.Model):
    """Where background consolidation stands for one user: PostgreSQL is the source of truth, the
    queue only a means of delivery (aura.jobs).

    ``watermark_turn_id`` is the newest recorded turn already consolidated; ``due_at`` when the
    next consolidation is due (null: nothing to do); ``job_at`` when the job on the queue is
    meant to run (null: none queued); ``lease_until`` / ``lease_token``: a worker is running the
    job until then (one per user, across every worker and machine). A periodic sweep re-enqueues
    any user due with no live job or lease, so a lost queue or a killed worker loses nothing.
    """

    __tablename__ = "consolidation_states"
    __table_args__ = (Index("ix_consolidation_states_due_at", "due_at"),)

    user_id: Mapped[int] = mapped_column(
        BigIntId, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )
    pending_turns: Mapped[int] = mapped_column(Integer, default=0)
    watermark_turn_id: Mapped[int] = mapped_column(BigInteger, default=0)
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    job_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    lease_token: Mapped[str | None] = mapped_column(String(32))
    last_run_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_outcome: Mapped[str | None] = mapped_column(String(30))


class MemoryProposal(db.Model):
    """A consolidation waiting for review (review mode, or held by the shrink guard): one per user,
    a newer one replaces it. Accepting makes it the memory; it never changes the memory by itself."""

    __tablename__ = "memory_proposals"
    # Ids never come back (SQLite would reuse a deleted one): a proposal id names one proposal.
    __table_args__ = {"sqlite_autoincrement": True}

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    user_id: Mapped[int] = mapped_column(
        BigIntId, ForeignKey("users.id", ondelete="CASCADE"), unique=True, index=True
    )
    content: Mapped[str] = mapped_column(Text)
    based_on_version: Mapped[int] = mapped_column(Integer)  # the memory version it was merged from
    source: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str] = mapped_column(String(20))  # "review" or "shrink"
    details: Mapped[dict | None] = mapped_column(JsonDocument)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class WebhookDelivery(db.Model):
    """One event for one receiver: the outbox row written with the change, then its delivery.

    Written in the same transaction as the change it announces (only when webhooks are set), so
    an event exists exactly when its change committed; the worker delivers it at least once under
    the stable ``message_id``. Holds ids and versions, never memory text.
    """

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        Index("ix_webhook_deliveries_user_id_id", "user_id", "id"),
        Index("ix_webhook_deliveries_state_next_attempt_at", "state", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    message_id: Mapped[str] = mapped_column(String(40))  # webhook-id: the same for every attempt
    url: Mapped[str] = mapped_column(String(2000))
    event_type: Mapped[str] = mapped_column(String(40))
    user_id: Mapped[int] = mapped_column(BigInteger)  # no foreign key: the event outlives an erasure
    payload: Mapped[dict] = mapped_column(JsonDocument)
    state: Mapped[str] = mapped_column(String(20), default="pending")  # pending, delivered, failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_status: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(String(300))
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class StaffUser(UserMixin, db.Model):
    """A support-staff account for the admin pages (created with `flask staff create`)."""

    __tablename__ = "staff_users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Part of every session's identity: bumping it (logout, new password, deactivation) ends
    # all of this account's sessions at once, including copies of the cookie.
    session_version: Mapped[int] = mapped_column(Integer, default=0)

    @property
    def is_active(self) -> bool:  # Flask-Login refuses inactive accounts
        return self.active

    def get_id(self) -> str:
        """What the session stores (Flask-Login): the account and its session version."""
        return f"{self.id}:{self.session_version}"


class AuditEvent(db.Model):
    """Who did what to whose memory, kept even when the memory and its history are erased.

    Holds no memory text, so it can outlive an erasure request.
    """

    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_events_user_id_id", "user_id", "id"),)

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    user_id: Mapped[int] = mapped_column(BigIntId)
    action: Mapped[str] = mapped_column(String(20))
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id", ondelete="SET NULL"))
    actor: Mapped[str | None] = mapped_column(String(254))
    detail: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
