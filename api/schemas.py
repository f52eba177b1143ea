"""Named request and response schemas of the HTTP API."""

from pydantic import BaseModel

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
    """Liveness of the API's dependencies."""

    status: str
    temporal: bool
    read_model: bool
