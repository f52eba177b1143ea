"""Assessments, reassessments, recommendations and decisions."""

from enum import StrEnum
from typing import Annotated

from pydantic import AwareDatetime, Field, model_validator

from models.base import LocCode, OpaqueId, ShortText, StrictModel
from models.care import Role
from models.journey import Phase, Priority

DimensionRating = Annotated[int, Field(ge=0, le=4)]


class Substance(StrEnum):
    """Substance classes recorded at assessment; they choose the withdrawal scales to run."""

    ALCOHOL = "alcohol"
    SEDATIVES = "sedatives"
    OPIOIDS = "opioids"
    STIMULANTS = "stimulants"
    CANNABIS = "cannabis"
    OTHER = "other"


class AssessmentKind(StrEnum):
    """Comprehensive at intake, re-assessment later."""

    COMPREHENSIVE = "comprehensive"
    REASSESSMENT = "reassessment"


class Assessment(StrictModel):
    """An ASAM multidimensional assessment: one 0-4 risk rating per dimension."""

    assessment_id: OpaqueId
    kind: AssessmentKind
    dimensions: dict[str, DimensionRating] = Field(min_length=1)
    assessed_by: OpaqueId
    assessed_at: AwareDatetime
    substances: list[Substance] = Field(default_factory=list, max_length=len(Substance))


class ReassessmentTrigger(StrEnum):
    """What opened a reassessment."""

    INTAKE = "intake"
    SCHEDULE = "schedule"
    MILESTONE = "milestone"
    EVENT = "event"
    DATA_POINT = "data_point"
    DATA_POINT_MISSING = "data_point_missing"
    STAFF_REQUEST = "staff_request"


class ReassessmentStatus(StrEnum):
    """Open until assessed, assessed until decided."""

    OPEN = "open"
    ASSESSED = "assessed"
    COMPLETED = "completed"
    CANCELLED = "cancelled"

    @property
    def is_active(self) -> bool:
        """Whether the reassessment still waits for work."""
        return self in (ReassessmentStatus.OPEN, ReassessmentStatus.ASSESSED)


class Recommendation(StrictModel):
    """What the policy recommends, and the dimensions that drove it."""

    phase: Phase
    loc_code: LocCode | None
    rationale: ShortText
    driving_dimensions: list[str]
    rule_id: str


class Decision(StrictModel):
    """A clinician's decision; differing from the recommendation needs a variance reason."""

    decided_by: OpaqueId
    decided_at: AwareDatetime
    phase: Phase
    loc_code: LocCode | None
    follows_recommendation: bool
    variance_reason: ShortText | None = None

    @model_validator(mode="after")
    def _variance_needs_reason(self) -> "Decision":
        if not self.follows_recommendation and self.variance_reason is None:
            raise ValueError(
                "variance_reason: required when the decision overrides the recommendation"
            )
        return self


class Reassessment(StrictModel):
    """A first-class reassessment step with its owner, due time and outcome."""

    reassessment_id: OpaqueId
    trigger: ReassessmentTrigger
    reason: ShortText
    owner: OpaqueId
    owner_role: Role
    opened_at: AwareDatetime
    due_at: AwareDatetime
    priority: Priority = Priority.ROUTINE
    status: ReassessmentStatus = ReassessmentStatus.OPEN
    escalated: bool = False
    assessment: Assessment | None = None
    recommendation: Recommendation | None = None
    decision: Decision | None = None
    closed_at: AwareDatetime | None = None
