"""Tasks and notifications: the work and the messages a journey produces."""

from enum import StrEnum

from pydantic import AwareDatetime, Field

from models.base import OpaqueId, StrictModel
from models.care import Role
from models.journey import EventKind, Priority


class TaskKind(StrEnum):
    """What a task asks someone to do."""

    COMPLETE_REASSESSMENT = "complete_reassessment"
    OUTREACH = "outreach"
    SAFETY_FOLLOW_UP = "safety_follow_up"
    COLLECT_INSTRUMENT = "collect_instrument"
    PLAN_REVIEW = "plan_review"
    # Urgent work handed to a named member at discharge (an open reassessment becomes one).
    HANDOVER = "handover"


class TaskStatus(StrEnum):
    """Lifecycle of a task."""

    OPEN = "open"
    DONE = "done"
    CANCELLED = "cancelled"


class Task(StrictModel):
    """Work someone must do, with an owner, a role and a due time."""

    task_id: OpaqueId
    kind: TaskKind
    owner: OpaqueId
    role: Role
    due_at: AwareDatetime
    priority: Priority
    status: TaskStatus = TaskStatus.OPEN
    ref: OpaqueId | None = None
    created_at: AwareDatetime
    closed_at: AwareDatetime | None = None
    updated_seq: int = Field(ge=0)
    # Rungs of the escalation ladder already climbed while overdue.
    escalation_rung: int = Field(default=0, ge=0)
    # Handed to a named member at discharge: stays open (and escalates) after the journey ends.
    handed_over: bool = False


class Channel(StrEnum):
    """Delivery channel of a notification."""

    FEED = "feed"


def notification_key(journey_id: str, seq: int, recipient: str, channel: Channel) -> str:
    """Idempotency key of one notification: one event, one recipient, one channel."""
    return f"{journey_id}:{seq}:{recipient}:{channel.value}"


class Notification(StrictModel):
    """One journey event delivered to one team member on one channel."""

    idempotency_key: str
    journey_id: OpaqueId
    seq: int = Field(ge=1)
    recipient: OpaqueId
    channel: Channel
    kind: EventKind
    priority: Priority
    summary: str
    created_at: AwareDatetime
    role: Role | None = None
