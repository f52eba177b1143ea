"""Typed SQLAlchemy 2.0 tables of the read model (ORM rows, apart from the pydantic contracts)."""

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import JSON, DateTime, Index, MetaData, String, Text, TypeDecorator, false
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UtcDateTime(TypeDecorator[datetime]):
    """Stores UTC and always returns aware datetimes, on SQLite too."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    """Declarative base with stable constraint names for Alembic.

    The tables declare no relationships: repositories select exactly what a view needs. A
    relationship added later must say ``lazy="raise"``, since an implicit lazy load cannot run
    under asyncio.
    """

    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: UtcDateTime, dict[str, Any]: JSON, list[Any]: JSON}  # noqa: RUF012


class JourneyRow(Base):
    """One row per journey, replaced only by a newer sequence."""

    __tablename__ = "journeys"
    journey_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    phase: Mapped[str] = mapped_column(String(32), index=True)
    loc_code: Mapped[str | None] = mapped_column(String(16), index=True)
    discharge_reason: Mapped[str | None] = mapped_column(String(32))
    policy_version: Mapped[str] = mapped_column(String(80))
    primary_clinician: Mapped[str] = mapped_column(String(64))
    next_review_due: Mapped[datetime | None] = mapped_column(index=True)
    reassessment_due: Mapped[datetime | None] = mapped_column(index=True)
    urgent: Mapped[bool] = mapped_column(index=True)
    # Aftercare is over but open work holds completion (the board says so).
    completion_held: Mapped[bool] = mapped_column(default=False, server_default=false())
    # The opaque id of the client record the journey is about (journeys opened without one: None).
    client_id: Mapped[str | None] = mapped_column(String(64), index=True)
    started_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]
    last_seq: Mapped[int]


class MemberRow(Base):
    """Care-team membership, for the team-member filter."""

    __tablename__ = "journey_members"
    journey_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    member_id: Mapped[str] = mapped_column(String(64), primary_key=True, index=True)
    role: Mapped[str] = mapped_column(String(32))
    primary: Mapped[bool]


class SegmentRow(Base):
    """An append-only level-of-care segment."""

    __tablename__ = "loc_segments"
    journey_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    index: Mapped[int] = mapped_column(primary_key=True)
    phase: Mapped[str] = mapped_column(String(32))
    loc_code: Mapped[str | None] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(String(500))
    decided_by: Mapped[str] = mapped_column(String(64))
    effective_at: Mapped[datetime]
    recorded_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]
    updated_seq: Mapped[int]


class EventRow(Base):
    """A journey event, written once."""

    __tablename__ = "journey_events"
    journey_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    seq: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))
    priority: Mapped[str] = mapped_column(String(16))
    occurred_at: Mapped[datetime]
    summary: Mapped[str] = mapped_column(String(500))
    refs: Mapped[dict[str, Any]]

    def ref(self, name: str) -> str | None:
        """One of the event's references (the ids it is about), if it has it."""
        value = self.refs.get(name)
        return None if value is None else str(value)


class ReassessmentRow(Base):
    """A reassessment with its recommendation and decision side by side."""

    __tablename__ = "reassessments"
    reassessment_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    journey_id: Mapped[str] = mapped_column(String(40), index=True)
    trigger: Mapped[str] = mapped_column(String(32))
    reason: Mapped[str] = mapped_column(String(500))
    owner: Mapped[str] = mapped_column(String(64))
    owner_role: Mapped[str] = mapped_column(String(32))
    priority: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))
    opened_at: Mapped[datetime]
    due_at: Mapped[datetime] = mapped_column(index=True)
    escalated: Mapped[bool]
    dimensions: Mapped[dict[str, Any] | None]
    recommended_phase: Mapped[str | None] = mapped_column(String(32))
    recommended_loc: Mapped[str | None] = mapped_column(String(16))
    rationale: Mapped[str | None] = mapped_column(String(500))
    decided_phase: Mapped[str | None] = mapped_column(String(32))
    decided_loc: Mapped[str | None] = mapped_column(String(16))
    follows_recommendation: Mapped[bool | None]
    variance_reason: Mapped[str | None] = mapped_column(String(500))
    decided_by: Mapped[str | None] = mapped_column(String(64))
    closed_at: Mapped[datetime | None]
    updated_seq: Mapped[int]


class TaskRow(Base):
    """Work someone must do."""

    __tablename__ = "tasks"
    task_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    journey_id: Mapped[str] = mapped_column(String(40), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    owner: Mapped[str] = mapped_column(String(64), index=True)
    role: Mapped[str] = mapped_column(String(32))
    due_at: Mapped[datetime] = mapped_column(index=True)
    priority: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), index=True)
    ref: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime]
    closed_at: Mapped[datetime | None]
    updated_seq: Mapped[int]


class PlanVersionRow(Base):
    """One treatment plan version, written once."""

    __tablename__ = "plan_versions"
    journey_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    version: Mapped[int] = mapped_column(primary_key=True)
    author: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(String(500))
    revised_at: Mapped[datetime]
    goals: Mapped[list[Any]]


class NotificationRow(Base):
    """A team-feed notification; the idempotency key refuses duplicates."""

    __tablename__ = "notifications"
    __table_args__ = (Index("ix_notifications_recipient_created", "recipient", "created_at"),)
    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    journey_id: Mapped[str] = mapped_column(String(40), index=True)
    seq: Mapped[int]
    recipient: Mapped[str] = mapped_column(String(64))
    role: Mapped[str | None] = mapped_column(String(32))
    channel: Mapped[str] = mapped_column(String(16))
    kind: Mapped[str] = mapped_column(String(40))
    priority: Mapped[str] = mapped_column(String(16))
    summary: Mapped[str] = mapped_column(String(500))
    created_at: Mapped[datetime]
    read_at: Mapped[datetime | None]


class StaffRow(Base):
    """A staff account; only a hash of its API token is stored."""

    __tablename__ = "staff"
    staff_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    role: Mapped[str] = mapped_column(String(32))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime]
    active: Mapped[bool]
    # Notification preferences: the feed always; e-mail when an address is set and chosen.
    email: Mapped[str | None] = mapped_column(String(254))
    email_enabled: Mapped[bool] = mapped_column(default=False)
    email_urgent_only: Mapped[bool] = mapped_column(default=False)
    # When the token stops working (set at issue and rotation; accounts older than the column
    # were given one by the migration).
    token_expires_at: Mapped[datetime | None]


class StaffSessionRow(Base):
    """A dashboard session; only a hash of its id (the cookie's value) is stored."""

    __tablename__ = "staff_sessions"
    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    staff_id: Mapped[str] = mapped_column(String(64), index=True)
    created_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]


class LoginFailureRow(Base):
    """A refused dashboard login, kept for the length of the rate-limit window."""

    __tablename__ = "login_failures"
    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(index=True)
    staff_id: Mapped[str] = mapped_column(String(64), index=True)
    address: Mapped[str] = mapped_column(String(64), index=True)


class AuditRow(Base):
    """One read or write of client data; append-only (database triggers refuse changes)."""

    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(index=True)
    actor: Mapped[str] = mapped_column(String(64), index=True)
    action: Mapped[str] = mapped_column(String(64))
    journey_id: Mapped[str | None] = mapped_column(String(40), index=True)
    outcome: Mapped[str] = mapped_column(String(32))
    # Disclosures (external sends): to whom, on which channel, for what purpose.
    recipient: Mapped[str | None] = mapped_column(String(64))
    channel: Mapped[str | None] = mapped_column(String(16))
    purpose: Mapped[str | None] = mapped_column(String(64))
    # What the action needs explained, never client data (e.g. why a safety change was accepted).
    detail: Mapped[str | None] = mapped_column(String(500))


class WebhookEndpointRow(Base):
    """An outbound webhook: its secrets (newest first), event filter and rate limit."""

    __tablename__ = "webhook_endpoints"
    endpoint_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    url: Mapped[str] = mapped_column(String(2000))
    secrets: Mapped[list[Any]]
    # Generic event types it wants; empty means all.
    types: Mapped[list[Any]]
    rate_per_minute: Mapped[int]
    active: Mapped[bool]
    created_at: Mapped[datetime]

    @property
    def signing_secrets(self) -> list[str]:
        """The secrets that sign deliveries, newest first."""
        return [str(s) for s in self.secrets]

    def accepts(self, event_type: str) -> bool:
        """Whether the endpoint wants events of this generic type (no filter: every type)."""
        return not self.types or event_type in self.types


class DeliveryRow(Base):
    """One external message to one recipient or endpoint; the key refuses duplicates."""

    __tablename__ = "deliveries"
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))
    target: Mapped[str] = mapped_column(String(64))
    journey_id: Mapped[str] = mapped_column(String(40), index=True)
    seq: Mapped[int]
    kind: Mapped[str] = mapped_column(String(40))
    priority: Mapped[str] = mapped_column(String(16))
    occurred_at: Mapped[datetime]
    due_at: Mapped[datetime | None]
    status: Mapped[str] = mapped_column(String(16), index=True)
    started: Mapped[bool] = mapped_column(default=False, index=True)
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(String(500))
    replays: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]
    dead_at: Mapped[datetime | None]


class DispatchCursorRow(Base):
    """How far the dispatcher has read the feed (the last notification id)."""

    __tablename__ = "dispatch_cursor"
    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    position: Mapped[int]


class ConsentRow(Base):
    """A client's written consent to disclose (42 CFR Part 2): to whom, why, what, how long."""

    __tablename__ = "consents"
    consent_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    client_id: Mapped[str] = mapped_column(String(64), index=True)
    recipient: Mapped[str] = mapped_column(String(500))
    recipient_kind: Mapped[str] = mapped_column(String(16))
    purpose: Mapped[str] = mapped_column(String(32))
    purpose_detail: Mapped[str | None] = mapped_column(String(500))
    data: Mapped[list[Any]]
    effective_from: Mapped[date]
    expires_on: Mapped[date | None]
    signed_at: Mapped[datetime]
    recorded_by: Mapped[str] = mapped_column(String(64))
    recorded_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
    revoked_by: Mapped[str | None] = mapped_column(String(64))


class DisclosureRow(Base):
    """One disclosure made outside the program, under the consent that allowed it."""

    __tablename__ = "disclosures"
    disclosure_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    client_id: Mapped[str] = mapped_column(String(64), index=True)
    consent_id: Mapped[str] = mapped_column(String(64))
    recipient: Mapped[str] = mapped_column(String(500))
    purpose: Mapped[str] = mapped_column(String(32))
    data: Mapped[list[Any]]
    what: Mapped[str] = mapped_column(String(500))
    channel: Mapped[str] = mapped_column(String(32))
    disclosed_at: Mapped[datetime]
    disclosed_by: Mapped[str] = mapped_column(String(64))
    notice: Mapped[str] = mapped_column(Text)


class ClientRow(Base):
    """A client record: every part of it sealed (AES-GCM, key id inside), no plaintext."""

    __tablename__ = "clients"
    client_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    # ``sealed:<key id>:<base64>`` of each part of the record (JSON), bound to the client and
    # the part: identity (names, date of birth, sex, gender, language), identifiers, contact,
    # payer, court.
    identity: Mapped[str] = mapped_column(Text)
    identifiers: Mapped[str] = mapped_column(Text)
    contact: Mapped[str] = mapped_column(Text)
    payer: Mapped[str] = mapped_column(Text)
    court: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class ClientIndexRow(Base):
    """A keyed blind index entry (HMAC-SHA256 of a normalized name, date of birth or MRN)."""

    __tablename__ = "client_index"
    __table_args__ = (Index("ix_client_index_kind_digest", "kind", "digest"),)
    client_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(8), primary_key=True)
    # ``<key id>:<hex digest>``: found under every key of the ring, so a rotation loses nothing.
    digest: Mapped[str] = mapped_column(String(200), primary_key=True)
