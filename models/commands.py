"""Staff commands (imperative) sent to a journey, and their results."""

from pydantic import AwareDatetime, Field, PositiveInt, model_validator

from models.base import JourneyId, LocCode, OpaqueId, ShortText, StrictModel
from models.care import CareTeam
from models.clinical import AssessmentKind, DimensionRating, Recommendation, Substance
from models.instruments import InstrumentResult, SexAtBirth
from models.journey import DischargeReason, Phase, Priority
from models.plan import PlanContent, RecoverySupport, Signer
from models.policy import ClinicalEventKind, Policy


class StartJourney(StrictModel):
    """Open a journey in intake with its care team and the program's policy."""

    journey_id: JourneyId
    care_team: CareTeam
    started_by: OpaqueId
    policy: Policy
    # Where known at intake; some screening cut-offs depend on it (AUDIT-C).
    sex_at_birth: SexAtBirth = SexAtBirth.UNKNOWN


class RecordAssessment(StrictModel):
    """Record an ASAM assessment on an active reassessment (the only one, if not named).

    The journey decides the kind (comprehensive at intake, a reassessment otherwise) and the
    id when they are not given; histories recorded before carry both, and a given kind that
    does not fit the reassessment is refused.
    """

    assessment_id: OpaqueId | None = None
    kind: AssessmentKind | None = None
    dimensions: dict[str, DimensionRating] = Field(min_length=1)
    assessed_by: OpaqueId
    reassessment_id: OpaqueId | None = None
    # Substances in use, where known: they choose the withdrawal scales the policy requires.
    substances: list[Substance] = Field(default_factory=list, max_length=len(Substance))


class RequestReassessment(StrictModel):
    """A staff member asks for a reassessment."""

    requested_by: OpaqueId
    reason: ShortText
    priority: Priority = Priority.ROUTINE


class DecideTransition(StrictModel):
    """Accept the recommendation, or override it with a target and a variance reason.

    Without ``reassessment_id`` the decision is on the open reassessment.
    """

    reassessment_id: OpaqueId | None = None
    decided_by: OpaqueId
    accept: bool
    phase: Phase | None = None
    loc_code: LocCode | None = None
    variance_reason: ShortText | None = None


class RecordInstrument(StrictModel):
    """Item answers of one instrument administration; the total is computed, never given."""

    code: ShortText
    answers: list[int] = Field(min_length=1, max_length=40)
    recorded_by: OpaqueId


class CompleteTask(StrictModel):
    """Close a follow-up or outreach task (reassessment tasks close with their decision)."""

    task_id: OpaqueId
    completed_by: OpaqueId


class ReportEvent(StrictModel):
    """Report a clinical event (relapse, positive screen, missed session...)."""

    kind: ClinicalEventKind
    reported_by: OpaqueId


class ChangeCareTeam(StrictModel):
    """Replace the care team."""

    changed_by: OpaqueId
    care_team: CareTeam
    reason: ShortText


class RevisePlan(PlanContent):
    """Write a new version of the treatment plan (unsigned until clinician and client sign)."""

    author: OpaqueId
    reason: ShortText


class SignPlan(StrictModel):
    """Sign the current plan version as the clinician or the client."""

    version: PositiveInt
    signer: Signer
    signed_by: OpaqueId


class RecordCheckIn(StrictModel):
    """An aftercare check-in happened: which recovery supports the client used, any use."""

    recorded_by: OpaqueId
    supports_attended: list[RecoverySupport] = Field(default_factory=list, max_length=20)
    # Use reported at the check-in counts as a relapse: the relapse rule of the policy applies.
    substance_use: bool = False


class WorkDisposition(StrictModel):
    """What happens to one open task or reassessment at discharge.

    Either handed to a named care-team member (it stays open after the journey ends, and keeps
    escalating until done) or closed with a reason.
    """

    item_id: OpaqueId
    hand_to: OpaqueId | None = None
    close_reason: ShortText | None = None

    @model_validator(mode="after")
    def _one_of(self) -> "WorkDisposition":
        if (self.hand_to is None) == (self.close_reason is None):
            raise ValueError("hand_to: give either hand_to or close_reason")
        return self


class Discharge(StrictModel):
    """End the journey early with a reason; open urgent work needs a disposition each."""

    discharged_by: OpaqueId
    reason: DischargeReason
    dispositions: list[WorkDisposition] = Field(default_factory=list, max_length=50)


SAFETY_REASON_MAX = 200


class MigratePolicy(StrictModel):
    """Move a running journey to another policy version (after a reviewed dry run)."""

    policy: Policy
    migrated_by: OpaqueId
    reason: ShortText
    # Required when the migration removes or weakens a safety trigger (clinical.policy_safety);
    # kept in the policy_migrated event and the audit log (short enough that the event's
    # summary keeps it whole beside the versions).
    accept_safety_change: ShortText | None = Field(default=None, max_length=SAFETY_REASON_MAX)


class MigrationPlan(StrictModel):
    """What a policy migration would change for one journey; ``blocked`` says why it cannot."""

    journey_id: JourneyId
    from_version: str
    to_version: str
    changes: list[str]
    blocked: str | None = None
    # Safety triggers or critical items removed or weakened: applying needs a recorded reason.
    safety_changes: list[str] = Field(default_factory=list)
    next_review_due: AwareDatetime | None = None


class CommandResult(StrictModel):
    """What an accepted command did."""

    seq: int
    message: str
    reassessment_id: OpaqueId | None = None
    recommendation: Recommendation | None = None
    plan_version: PositiveInt | None = None
    instrument: InstrumentResult | None = None
    phase: Phase | None = None
    loc_code: LocCode | None = None
    at: AwareDatetime | None = None
