"""Staff commands (imperative) sent to a journey, their results, and the command table.

A staff command is one model from the edge to the journey: the API accepts it (without the
actor, who is the authenticated account), the dashboard's forms and the CLI build it, and the
journey's update of the same name applies it. ``OPERATIONS`` says, once per command, which
update, route and CLI verb it travels by and whether only clinical accounts may send it.
"""

import string
from dataclasses import dataclass
from typing import Annotated, ClassVar, Literal

from pydantic import AwareDatetime, Field, PositiveInt, StringConstraints, model_validator

from models.base import JourneyId, LocCode, OpaqueId, ShortText, StrictModel
from models.care import CareTeam
from models.clinical import AssessmentKind, DimensionRating, Recommendation, Substance
from models.instruments import InstrumentResult, SexAtBirth
from models.journey import DischargeReason, Phase, Priority
from models.plan import PlanContent, RecoverySupport, Signer
from models.policy import ClinicalEventKind, Policy
from models.staff import ClinicalCommand

DimensionName = Annotated[str, StringConstraints(min_length=1, max_length=64)]


class StaffCommand(StrictModel):
    """A command one staff member sends to one journey; ``ACTOR`` names the field saying who."""

    ACTOR: ClassVar[str]


class StartJourney(StrictModel):
    """Open a journey in intake with its care team and the program's policy."""

    journey_id: JourneyId
    care_team: CareTeam
    started_by: OpaqueId
    policy: Policy
    # Where known at intake; some screening cut-offs depend on it (AUDIT-C).
    sex_at_birth: SexAtBirth = SexAtBirth.UNKNOWN
    # The client record's opaque id; the record itself never enters the journey.
    client_id: OpaqueId | None = None


class OpenJourney(StrictModel):
    """What a caller gives to open a journey; the service adds the id, the actor and the
    policy (a caller never chooses the id: it goes into the workflow id, webhooks and links)."""

    care_team: CareTeam
    # Where known at intake; some screening cut-offs depend on it (AUDIT-C).
    sex_at_birth: SexAtBirth = SexAtBirth.UNKNOWN
    # An existing client record's id (a second admission names the same one).
    client_id: OpaqueId | None = None


class RecordAssessment(StaffCommand):
    """Record an ASAM assessment on an active reassessment (the only one, if not named).

    The journey decides the kind (comprehensive at intake, a reassessment otherwise) and the
    id when they are not given; histories recorded before carry both, and a given kind that
    does not fit the reassessment is refused.
    """

    ACTOR = "assessed_by"

    assessment_id: OpaqueId | None = None
    kind: AssessmentKind | None = None
    # A policy names a handful of dimensions; the bound keeps a hostile body from the journey.
    dimensions: dict[DimensionName, DimensionRating] = Field(min_length=1, max_length=32)
    assessed_by: OpaqueId
    reassessment_id: OpaqueId | None = None
    # Substances in use, where known: they choose the withdrawal scales the policy requires.
    substances: list[Substance] = Field(default_factory=list, max_length=len(Substance))


class RequestReassessment(StaffCommand):
    """A staff member asks for a reassessment."""

    ACTOR = "requested_by"

    requested_by: OpaqueId
    reason: ShortText
    priority: Priority = Priority.ROUTINE


class DecideTransition(StaffCommand):
    """Accept the recommendation, or override it with a target and a variance reason.

    Without ``reassessment_id`` the decision is on the open reassessment.
    """

    ACTOR = "decided_by"

    reassessment_id: OpaqueId | None = None
    decided_by: OpaqueId
    accept: bool
    phase: Phase | None = None
    loc_code: LocCode | None = None
    variance_reason: ShortText | None = None


class RecordInstrument(StaffCommand):
    """Item answers of one instrument administration; the total is computed, never given."""

    ACTOR = "recorded_by"

    code: ShortText
    answers: list[int] = Field(min_length=1, max_length=40)
    recorded_by: OpaqueId


class CompleteTask(StaffCommand):
    """Close a follow-up or outreach task (reassessment tasks close with their decision)."""

    ACTOR = "completed_by"

    task_id: OpaqueId
    completed_by: OpaqueId


class ReportEvent(StaffCommand):
    """Report a clinical event (relapse, positive screen, missed session...)."""

    ACTOR = "reported_by"

    kind: ClinicalEventKind
    reported_by: OpaqueId


class ChangeCareTeam(StaffCommand):
    """Replace the care team."""

    ACTOR = "changed_by"

    changed_by: OpaqueId
    care_team: CareTeam
    reason: ShortText


class RevisePlan(PlanContent, StaffCommand):
    """Write a new version of the treatment plan (unsigned until clinician and client sign)."""

    ACTOR = "author"

    author: OpaqueId
    reason: ShortText


class SignPlan(StaffCommand):
    """Sign the current plan version as the clinician or the client."""

    ACTOR = "signed_by"

    version: PositiveInt = Field(le=100_000)
    signer: Signer
    signed_by: OpaqueId


class RecordCheckIn(StaffCommand):
    """An aftercare check-in happened: which recovery supports the client used, any use."""

    ACTOR = "recorded_by"

    recorded_by: OpaqueId
    supports_attended: list[RecoverySupport] = Field(default_factory=list, max_length=20)
    # Use reported at the check-in counts as a relapse: the relapse rule of the policy applies.
    substance_use: bool = False


class AddNote(StaffCommand):
    """A free-text note on the journey's timeline for the care team; it never leaves the
    program (outbound messages carry no free text)."""

    ACTOR = "written_by"
    text: ShortText
    written_by: OpaqueId


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


class Discharge(StaffCommand):
    """End the journey early with a reason; open urgent work needs a disposition each."""

    ACTOR = "discharged_by"

    discharged_by: OpaqueId
    reason: DischargeReason
    dispositions: list[WorkDisposition] = Field(default_factory=list, max_length=50)


SAFETY_REASON_MAX = 200


class MigratePolicy(StaffCommand):
    """Move a running journey to another policy version (after a reviewed dry run)."""

    ACTOR = "migrated_by"

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


@dataclass(frozen=True)
class Operation:
    """How one staff command travels: one name for the journey's update and the service, the
    HTTP route under ``/journeys/{journey_id}`` (path fields come from the command), the CLI
    verb, and whether only clinical accounts may send it."""

    name: str
    command: type[StaffCommand]
    method: Literal["POST", "PUT"] | None
    path: str | None
    cli: str | None
    clinical: ClinicalCommand | None = None

    @property
    def path_fields(self) -> list[str]:
        """The command fields its route takes from the URL (``{task_id}``), not the body."""
        return [f for _, f, _, _ in string.Formatter().parse(self.path or "") if f]


# The command table: a new command is its model, its rule, its update and one line here.
OPERATIONS = (
    Operation("record_assessment", RecordAssessment, "POST", "/assessments", "assess",
              ClinicalCommand.ASSESS),
    Operation("request_reassessment", RequestReassessment, "POST", "/reassessments", "reassess"),
    Operation("decide", DecideTransition, "POST", "/decisions", "decide", ClinicalCommand.DECIDE),
    Operation("report_event", ReportEvent, "POST", "/events", "event"),
    Operation("record_instrument", RecordInstrument, "POST", "/instruments", "measure",
              ClinicalCommand.RECORD_INSTRUMENT),
    # Closing operational work (outreach) needs no clinical account (service.access).
    Operation("complete_task", CompleteTask, "POST", "/tasks/{task_id}/complete", "done",
              ClinicalCommand.COMPLETE_TASK),
    Operation("record_check_in", RecordCheckIn, "POST", "/check-ins", "check-in"),
    Operation("revise_plan", RevisePlan, "PUT", "/plan", "plan", ClinicalCommand.REVISE_PLAN),
    Operation("sign_plan", SignPlan, "POST", "/plan/signatures", "sign",
              ClinicalCommand.SIGN_PLAN),
    Operation("change_care_team", ChangeCareTeam, "PUT", "/care-team", "team"),
    Operation("discharge", Discharge, "POST", "/discharge", "discharge",
              ClinicalCommand.DISCHARGE),
    Operation("add_note", AddNote, "POST", "/notes", "note"),
    # Reviewed per journey with a dry run first: `journeys policy migrate` (cluster access).
    Operation("migrate_policy", MigratePolicy, None, None, None),
)  # fmt: skip
_BY_COMMAND = {op.command: op for op in OPERATIONS}


def operation_of(command: type[StaffCommand]) -> Operation:
    """The table's line for a command model."""
    return _BY_COMMAND[command]
