"""Progress: milestones reached, goal status over time, instrument trends, plan-review status."""

from datetime import datetime
from enum import StrEnum

from pydantic import AwareDatetime, BaseModel, NonNegativeInt

from models.base import OpaqueId, StrictModel
from models.plan import GoalStatus, RecoverySupport


class MilestoneKind(StrEnum):
    """Kinds of progress the team is told about."""

    DAYS_IN_RECOVERY = "days_in_recovery"
    GOAL_ACHIEVED = "goal_achieved"
    RESPONSE = "response"
    REMISSION = "remission"


class Milestone(StrictModel):
    """A milestone reached; ``key`` names the occurrence, so each fires once."""

    key: str
    kind: MilestoneKind
    detail: str
    reached_at: AwareDatetime


class GoalStatusChange(StrictModel):
    """A goal's status as of one plan version."""

    goal_id: OpaqueId
    status: GoalStatus
    plan_version: int
    at: AwareDatetime


class PlanReviewDue(StrictModel):
    """The open plan review: the initial plan or the next periodic review.

    It stays open until the clinician and the client have both signed a plan version.
    """

    task_id: OpaqueId
    initial: bool
    due_at: AwareDatetime
    # None once the reminder went out, or when the review opened too late for one.
    remind_at: AwareDatetime | None = None
    overdue_notified: bool = False


class InstrumentTrend(BaseModel):
    """One instrument's scores over the journey, with response and remission where defined."""

    code: str
    baseline: int
    points: list[tuple[datetime, int, str]]
    latest: int
    change_percent: float | None
    # None: the policy defines no such outcome, or the first score leaves nothing to measure
    # from (then ``outcome_note`` says why).
    response: bool | None
    remission: bool | None
    outcome_note: str | None = None


class GoalProgress(BaseModel):
    """One goal of the current plan and its status history."""

    goal_id: str
    description: str
    target_date: str
    status: GoalStatus
    history: list[GoalStatusChange]


class ProgressView(BaseModel):
    """Everything the progress panel shows, computed from the live state."""

    journey_id: str
    recovery_since: datetime
    days_in_recovery: NonNegativeInt
    next_recovery_milestone_days: int | None
    milestones: list[Milestone]
    goals: list[GoalProgress]
    goals_achieved: NonNegativeInt
    trends: list[InstrumentTrend]
    plan_review: PlanReviewDue | None
    plan_version: int | None
    plan_signed: bool
    recovery_supports_planned: list[RecoverySupport]
    recovery_supports_attended: dict[str, int]
