"""Outbound notifications: e-mail and webhook messages, their delivery records and outcomes."""

from datetime import datetime
from enum import StrEnum

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, PositiveInt

from models.base import OpaqueId, StrictModel
from models.journey import EventKind, Priority


class ExternalChannel(StrEnum):
    """Channels that leave the system (the in-app feed never does)."""

    EMAIL = "email"
    WEBHOOK = "webhook"


class GenericType(StrEnum):
    """What an external message may say about an event: a category, never the event itself."""

    CARE_UPDATE = "care_update"
    WORK_DUE = "work_due"
    WORK_OVERDUE = "work_overdue"
    MILESTONE = "milestone"


_WORK_DUE = {
    EventKind.REASSESSMENT_OPENED, EventKind.PLAN_REVIEW_DUE, EventKind.TRIGGER_FIRED,
    EventKind.MONITORING_MISSED, EventKind.CHECK_IN_MISSED, EventKind.WORK_HANDED_OVER,
}  # fmt: skip
_WORK_OVERDUE = {
    EventKind.REASSESSMENT_OVERDUE, EventKind.PLAN_REVIEW_OVERDUE, EventKind.WORK_OVERDUE,
}  # fmt: skip


def generic_type(kind: EventKind) -> GenericType:
    """The category an event kind is disclosed as."""
    if kind in _WORK_DUE:
        return GenericType.WORK_DUE
    if kind in _WORK_OVERDUE:
        return GenericType.WORK_OVERDUE
    if kind is EventKind.MILESTONE_REACHED:
        return GenericType.MILESTONE
    return GenericType.CARE_UPDATE


class OutboundMessage(StrictModel):
    """Everything an external message is rendered from. It has no free-text field at all.

    ``key`` is the idempotency key: sent as a header to webhooks and as the Message-ID of
    e-mails, so a receiver can refuse a repeat delivery.
    """

    key: str = Field(min_length=1, max_length=200)
    channel: ExternalChannel
    target: OpaqueId
    journey_id: OpaqueId
    seq: PositiveInt
    kind: EventKind
    priority: Priority
    occurred_at: AwareDatetime
    due_at: AwareDatetime | None = None
    max_attempts: PositiveInt = 8
    # How long one try may take before it counts as lost (a worker killed mid-send).
    attempt_timeout_s: float = Field(default=30.0, gt=0, le=600)


class DeliveryStatus(StrEnum):
    """Lifecycle of one delivery."""

    PENDING = "pending"
    SENT = "sent"
    SKIPPED = "skipped"
    DEAD = "dead"


class DeliveryOutcome(StrictModel):
    """What one delivery attempt came to; ``throttled_for`` asks the workflow to wait."""

    status: DeliveryStatus
    throttled_for_s: float | None = None


class DeliveryView(BaseModel):
    """A delivery as operations see it (the dead-letter list)."""

    model_config = ConfigDict(from_attributes=True, frozen=True)

    key: str
    channel: ExternalChannel
    target: str
    journey_id: str
    seq: int
    kind: EventKind
    priority: Priority
    status: DeliveryStatus
    attempts: int
    last_error: str | None
    replays: int
    created_at: datetime
    sent_at: datetime | None
    dead_at: datetime | None
