"""Named request and response schemas of the HTTP API."""

from datetime import date
from typing import Any, TypeVar

from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from models.base import JourneyId, LocCode, OpaqueId, ShortText
from models.care import CareTeam, Role
from models.clinical import DimensionRating, Substance
from models.commands import WorkDisposition
from models.instruments import SexAtBirth
from models.journey import DischargeReason, Phase, Priority
from models.plan import GoalStatus, PlanContent, RecoverySupport, Signer
from models.policy import ClinicalEventKind
from models.views import (
    AuditEntry,
    BoardCount,
    FeedItem,
    JourneyListItem,
    LiveJourney,
    TaskView,
    Timeline,
)

D = TypeVar("D", bound=BaseModel)


class Body(BaseModel):
    """Request bodies: closed, so a misspelt field is an error, not silently ignored.

    They validate JSON as it arrives (strings for enums and dates) and are turned into the
    strict domain contracts by ``to_domain``; errors there still name the field.
    """

    model_config = ConfigDict(extra="forbid")


class MemberBody(Body):
    """One care-team member."""

    member_id: OpaqueId
    role: Role
    primary: bool = False


class TeamBody(Body):
    """A care team: exactly one primary clinician and at least one supervisor."""

    members: list[MemberBody] = Field(min_length=1, max_length=50)


class GoalBody(Body):
    """A measurable goal with a target date."""

    goal_id: OpaqueId
    description: ShortText
    target_date: date
    status: GoalStatus = GoalStatus.ACTIVE
    problem_id: OpaqueId | None = None
    measure: ShortText | None = None


def to_domain(model: type[D], body: BaseModel, *where: str, exclude: set[str] | None = None) -> D:
    """Validate a request body part as a strict domain contract (JSON mode)."""
    try:
        return model.model_validate_json(body.model_dump_json(exclude=exclude))
    except ValidationError as exc:
        raise RequestValidationError(
            [{**e, "loc": ("body", *where, *e["loc"])} for e in exc.errors()]
        ) from None


def to_team(body: TeamBody) -> CareTeam:
    """The strict care team."""
    return to_domain(CareTeam, body, "care_team")


def to_plan_content(body: "PlanRequest") -> PlanContent:
    """The strict plan content, validated as JSON so errors name the field."""
    return to_domain(PlanContent, body, exclude={"reason"})


class CreateJourneyRequest(Body):
    """Open a journey with its care team; the id is generated unless given."""

    care_team: TeamBody
    journey_id: JourneyId | None = None
    # Where known at intake (clinical data: kept in the encrypted journey state only).
    sex_at_birth: SexAtBirth = SexAtBirth.UNKNOWN


class JourneyCreated(BaseModel):
    """The new journey's opaque id."""

    journey_id: str


class AssessmentRequest(Body):
    """ASAM ratings (0-4) for every dimension of the policy."""

    dimensions: dict[str, DimensionRating] = Field(min_length=1)
    reassessment_id: OpaqueId | None = None
    # Substances in use, where known: they choose the withdrawal scales the policy requires.
    substances: list[Substance] = Field(default_factory=list, max_length=len(Substance))


class ReassessmentRequest(Body):
    """Ask for a reassessment."""

    reason: ShortText
    priority: Priority = Priority.ROUTINE


class DecisionRequest(Body):
    """Accept the recommendation, or override it with a target and a variance reason."""

    accept: bool
    phase: Phase | None = None
    loc_code: LocCode | None = None
    variance_reason: ShortText | None = None
    reassessment_id: OpaqueId | None = None


class InstrumentRequest(Body):
    """Item answers of one administration; total, band and flags are computed."""

    code: ShortText
    answers: list[int] = Field(min_length=1, max_length=40)


class EventRequest(Body):
    """A clinical event."""

    kind: ClinicalEventKind


class PlanRequest(Body):
    """A new treatment plan version: goals, and optionally problems, objectives, interventions
    (modality, frequency, responsible role), preferences, supports, relapse prevention and the
    aftercare plan, as in ``models.plan.PlanContent``; unsigned until clinician and client sign."""

    reason: ShortText
    goals: list[GoalBody] = Field(min_length=1, max_length=50)
    problems: list[dict[str, Any]] = Field(default_factory=list, max_length=50)
    objectives: list[dict[str, Any]] = Field(default_factory=list, max_length=100)
    interventions: list[dict[str, Any]] = Field(default_factory=list, max_length=100)
    preferences: dict[str, Any] = Field(default_factory=dict)
    supports: list[dict[str, Any]] = Field(default_factory=list, max_length=20)
    relapse_prevention: dict[str, Any] = Field(default_factory=dict)
    aftercare_plan: ShortText | None = None
    recovery_supports: list[RecoverySupport] = Field(default_factory=list, max_length=20)


class CheckInRequest(Body):
    """An aftercare check-in: the recovery supports used since the last one, and any use
    (which counts as a relapse and opens a reassessment as the policy says)."""

    supports_attended: list[RecoverySupport] = Field(default_factory=list, max_length=20)
    substance_use: bool = False


class SignatureRequest(Body):
    """Sign the current plan version as the clinician, or record the client's signature."""

    version: int = Field(ge=1, le=100_000)
    signer: Signer


class CareTeamRequest(Body):
    """A replacement care team."""

    care_team: TeamBody
    reason: ShortText


class DischargeRequest(Body):
    """Why the journey ends, and what happens to open urgent work (required for each item)."""

    reason: DischargeReason
    dispositions: list[WorkDisposition] = Field(default_factory=list, max_length=50)


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
