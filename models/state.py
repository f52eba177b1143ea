"""The whole state of one journey: everything continue-as-new must carry."""

from pydantic import AwareDatetime, Field, NonNegativeInt, model_validator

from models.base import JourneyId, LocCode, OpaqueId, StrictModel
from models.care import CareTeam
from models.clinical import Reassessment, Substance
from models.commands import StartJourney
from models.instruments import SexAtBirth
from models.journey import DischargeReason, JourneyEvent, LocSegment, Phase, Priority
from models.plan import TreatmentPlan
from models.policy import ClinicalEventKind, Policy
from models.progress import GoalStatusChange, Milestone, PlanReviewDue
from models.work import Task, TaskStatus

# Version of the clinical rules a journey runs under. Journeys recorded before a rule change
# keep the rules they started with (their histories must replay) until their next run; new runs
# take the current rules (workflow change marker ``clinical-safety-rules``).
LEGACY_RULES = 1
# 2: open work holds completion and guards discharge, withdrawal monitoring from admission,
# decision authority by care-team role.
SAFETY_RULES = 2
# 3: open work of one kind about one thing (a trigger, a scale) is one task: a repeat tightens
# it (sooner, more urgent) and notifies again instead of stacking another, so a journey's open
# work stays bounded however often a trigger fires.
BOUNDED_WORK_RULES = 3
CURRENT_RULES = BOUNDED_WORK_RULES


class AftercareState(StrictModel):
    """Progress through the aftercare check-in schedule."""

    started_at: AwareDatetime
    next_check_in: NonNegativeInt = 0
    last_check_in_at: AwareDatetime | None = None
    missed: NonNegativeInt = 0
    missed_in_row: NonNegativeInt = 0
    supports_attended: dict[str, NonNegativeInt] = Field(default_factory=dict)
    # The schedule is over but open work holds completion (said once, then waited on).
    completion_held: bool = False


class Measurement(StrictModel):
    """A scored instrument kept in the journey for trends and rising-score triggers."""

    code: str
    total: NonNegativeInt
    band: str
    flags: list[str]
    recorded_at: AwareDatetime


class JourneyState(StrictModel):
    """Single source of truth of a journey inside its workflow."""

    journey_id: JourneyId
    policy: Policy
    started_at: AwareDatetime
    # States stored before rule versions existed are LEGACY_RULES.
    rules: NonNegativeInt = LEGACY_RULES
    phase: Phase = Phase.INTAKE
    loc_code: LocCode | None = None
    discharge_reason: DischargeReason | None = None
    care_team: CareTeam
    # Clinical data for sex-specific cut-offs (AUDIT-C); states stored before it are unknown.
    sex_at_birth: SexAtBirth = SexAtBirth.UNKNOWN
    # The client record's opaque id, never anything from the record itself (states stored
    # before it, and journeys opened without a client: None).
    client_id: OpaqueId | None = None
    segments: list[LocSegment] = Field(default_factory=list)
    reassessments: list[Reassessment] = Field(default_factory=list)
    tasks: list[Task] = Field(default_factory=list)
    plan: TreatmentPlan | None = None
    next_review_due: AwareDatetime | None = None
    aftercare: AftercareState | None = None
    event_counts: dict[ClinicalEventKind, NonNegativeInt] = Field(default_factory=dict)
    measurements: list[Measurement] = Field(default_factory=list)
    # Next due time of each running monitoring schedule, by rule id.
    monitoring_due: dict[str, AwareDatetime] = Field(default_factory=dict)
    # Start of the current stay in monitored levels (the score-based intervals count from it).
    monitoring_since: AwareDatetime | None = None
    # Substances recorded at the latest assessment that named any.
    substances: list[Substance] = Field(default_factory=list)
    plan_review: PlanReviewDue | None = None
    signed_plan_version: NonNegativeInt | None = None
    # First score of each instrument: response is measured against it.
    baselines: dict[str, NonNegativeInt] = Field(default_factory=dict)
    milestones: list[Milestone] = Field(default_factory=list)
    goal_history: list[GoalStatusChange] = Field(default_factory=list)
    # Start of the current stretch in recovery: the journey start, or the last relapse.
    recovery_since: AwareDatetime | None = None
    seq: NonNegativeInt = 0
    projected_seq: NonNegativeInt = 0
    outbox: list[JourneyEvent] = Field(default_factory=list)
    next_id: NonNegativeInt = 1
    ended_at: AwareDatetime | None = None

    @property
    def active_reassessment(self) -> Reassessment | None:
        """The reassessment waiting for work, if any (at most one is active)."""
        return next((r for r in self.reassessments if r.status.is_active), None)

    @property
    def urgent(self) -> bool:
        """Whether open work is urgent."""
        active = self.active_reassessment
        return (active is not None and active.priority is Priority.URGENT) or any(
            t.status is TaskStatus.OPEN and t.priority is Priority.URGENT for t in self.tasks
        )


class JourneyInput(StrictModel):
    """Workflow input: the start command for a new run, the whole state when continuing."""

    start: StartJourney | None = None
    state: JourneyState | None = None

    @model_validator(mode="after")
    def _one_of(self) -> "JourneyInput":
        if (self.start is None) == (self.state is None):
            raise ValueError("start: give either start or state")
        return self


class JourneySummary(StrictModel):
    """The journey row of the read model."""

    journey_id: JourneyId
    phase: Phase
    loc_code: LocCode | None
    discharge_reason: DischargeReason | None
    policy_version: str
    primary_clinician: OpaqueId
    next_review_due: AwareDatetime | None
    reassessment_due: AwareDatetime | None
    urgent: bool
    # Batches recorded before this field said nothing of it: completion was never held then.
    completion_held: bool = False
    # The client record's opaque id (journeys opened without one, and older batches: None).
    client_id: OpaqueId | None = None
    started_at: AwareDatetime
    updated_at: AwareDatetime
    ended_at: AwareDatetime | None
    seq: NonNegativeInt


class ProjectionBatch(StrictModel):
    """The read model's changes after a run of changes, guarded by ``summary.seq``.

    Segments, reassessments, tasks and the plan hold only what changed since the run's last
    batch; the first batch of each run (a start or a continue-as-new) holds everything.
    """

    summary: JourneySummary
    care_team: CareTeam
    # False when the care team is what the read model already holds (its roles still label
    # the batch's notifications); batches recorded before this field replaced it every time.
    care_team_changed: bool = True
    events: list[JourneyEvent]
    segments: list[LocSegment]
    reassessments: list[Reassessment]
    tasks: list[Task]
    plan: TreatmentPlan | None
