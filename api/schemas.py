"""Named request and response schemas of the HTTP API."""

from pydantic import BaseModel, Field

from models.views import (
    AuditEntry,
    BoardCount,
    FeedItem,
    JourneyListItem,
    LiveJourney,
    TaskView,
    Timeline,
)


class JourneyCreated(BaseModel):
    """The new journey's opaque id."""

    journey_id: str


class JourneyDetail(BaseModel):
    """Live state plus the read model's timeline."""

    live: LiveJourney
    timeline: Timeline | None


class JourneyPage(BaseModel):
    """A page of journeys."""

    items: list[JourneyListItem]
    limit: int
    offset: int


class WorkQueue(BaseModel):
    """Open tasks by when they are due, urgent first in each bucket."""

    past_due: list[TaskView]
    today: list[TaskView]
    tomorrow: list[TaskView]


class Board(BaseModel):
    """Counts by phase and level of care, and the work queue."""

    counts: list[BoardCount]
    work: WorkQueue


class FeedPage(BaseModel):
    """A page of the caller's feed; pass ``next_cursor`` back as ``before`` for older items."""

    items: list[FeedItem]
    next_cursor: int | None


class Acknowledged(BaseModel):
    """How many notifications changed to read."""

    acknowledged: int


class AuditPage(BaseModel):
    """Newest audit entries first."""

    items: list[AuditEntry]


class Health(BaseModel):
    """Liveness of the API's dependencies and how far behind the read model is (no ids)."""

    status: str = Field(description="ok, or degraded when a dependency is down (503)")
    temporal: bool
    read_model: bool = Field(description="reads and writes both get through")
    read_model_reads: bool
    read_model_writes: bool = Field(description="a write takes the lock within the time allowed")
    newest_event_age_s: float | None = Field(
        description="seconds since the newest journey event in the read model (none yet: null)"
    )
    pending_deliveries: int | None = Field(description="external deliveries not yet sent")
    oldest_pending_delivery_age_s: float | None = Field(
        description="seconds the oldest of them has waited (none: null)"
    )
