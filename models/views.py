"""Read-side views served from the read model."""

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from models.care import CareTeam
from models.clinical import Reassessment, ReassessmentStatus, ReassessmentTrigger
from models.journey import DischargeReason, EventKind, Phase, Priority
from models.plan import TreatmentPlan
from models.staff import StaffRole
from models.state import AftercareState
from models.work import TaskKind, TaskStatus


class View(BaseModel):
    """Views are built from ORM rows."""

    model_config = ConfigDict(from_attributes=True, frozen=True)


class JourneyListItem(View):
    """One journey in a list."""

    journey_id: str
    phase: Phase
    loc_code: str | None
    discharge_reason: DischargeReason | None
    policy_version: str
    primary_clinician: str
    next_review_due: datetime | None
    reassessment_due: datetime | None
    urgent: bool
    # Aftercare is over but open work holds completion until the last of it closes.
    completion_held: bool = False
    # The client record it is about (an opaque id; None for journeys opened without one).
    client_id: str | None = None
    started_at: datetime
    updated_at: datetime
    ended_at: datetime | None
    last_seq: int


class MemberView(View):
    """A care-team member."""

    member_id: str
    role: str
    primary: bool


class SegmentView(View):
    """A level-of-care segment."""

    index: int
    phase: Phase
    loc_code: str | None
    reason: str
    decided_by: str
    effective_at: datetime
    recorded_at: datetime
    ended_at: datetime | None


class EventView(View):
    """A journey event."""

    seq: int
    kind: EventKind
    priority: Priority
    occurred_at: datetime
    summary: str
    refs: dict[str, Any]


class ReassessmentView(View):
    """A reassessment: recommendation and decision side by side."""

    reassessment_id: str
    trigger: ReassessmentTrigger
    reason: str
    owner: str
    owner_role: str
    priority: Priority
    status: ReassessmentStatus
    opened_at: datetime
    due_at: datetime
    escalated: bool
    dimensions: dict[str, int] | None
    recommended_phase: Phase | None
    recommended_loc: str | None
    rationale: str | None
    decided_phase: Phase | None
    decided_loc: str | None
    follows_recommendation: bool | None
    variance_reason: str | None
    decided_by: str | None
    closed_at: datetime | None


class TaskView(View):
    """A task."""

    task_id: str
    journey_id: str
    kind: TaskKind
    owner: str
    role: str
    due_at: datetime
    priority: Priority
    status: TaskStatus
    ref: str | None
    created_at: datetime
    closed_at: datetime | None


class GoalView(BaseModel):
    """A goal inside a plan version."""

    goal_id: str
    description: str
    target_date: date
    status: str
    # Absent from versions written before goals named their problem and measure.
    problem_id: str | None = None
    measure: str | None = None


class PlanVersionView(View):
    """A treatment plan version."""

    version: int
    author: str
    reason: str
    revised_at: datetime
    goals: list[GoalView]


class Timeline(View):
    """Everything the read model holds about one journey."""

    summary: JourneyListItem
    members: list[MemberView]
    segments: list[SegmentView]
    events: list[EventView]
    reassessments: list[ReassessmentView]
    tasks: list[TaskView]
    plan_versions: list[PlanVersionView]
    notifications: list["FeedItem"]


class FeedItem(View):
    """A notification in a team member's feed."""

    id: int
    journey_id: str
    seq: int
    recipient: str
    role: str | None
    kind: EventKind
    priority: Priority
    summary: str
    created_at: datetime
    read_at: datetime | None


class BoardCount(View):
    """Open journeys per phase and level of care."""

    phase: Phase
    loc_code: str | None
    count: int


class StaffAccount(View):
    """An authenticated staff member."""

    staff_id: str
    role: StaffRole


class AuditEntry(View):
    """One audit-log entry."""

    id: int
    at: datetime
    actor: str
    action: str
    journey_id: str | None
    outcome: str
    # Set on disclosures (external sends).
    recipient: str | None = None
    channel: str | None = None
    purpose: str | None = None
    # Why, where the action needs explaining (e.g. the reason a safety change was accepted).
    detail: str | None = None


class LiveJourney(BaseModel):
    """The live state from the workflow (the policy is named by its version)."""

    journey_id: str
    phase: Phase
    loc_code: str | None
    discharge_reason: DischargeReason | None
    policy_version: str
    care_team: CareTeam
    active_reassessment: Reassessment | None
    plan: TreatmentPlan | None
    next_review_due: datetime | None
    aftercare: AftercareState | None
    urgent: bool
    started_at: datetime
    ended_at: datetime | None
    # Aftercare is over and completion waits for these open items (empty otherwise).
    completion_waiting_on: list[str] = Field(default_factory=list)
    # Open urgent work a discharge must give a disposition for (hand over or close).
    urgent_work: list[str] = Field(default_factory=list)
    # Withdrawal scales due, by monitoring rule id (empty outside monitored levels).
    monitoring_due: dict[str, datetime] = Field(default_factory=dict)
