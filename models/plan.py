"""The individualized, versioned treatment plan."""

from datetime import date
from enum import StrEnum
from typing import Annotated

from pydantic import AwareDatetime, Field, PositiveInt, StringConstraints, model_validator

from models.base import OpaqueId, ShortText, StrictModel
from models.care import Role


class GoalStatus(StrEnum):
    """Progress of one goal."""

    ACTIVE = "active"
    ACHIEVED = "achieved"
    REVISED = "revised"
    DROPPED = "dropped"


class Problem(StrictModel):
    """A problem the plan addresses, optionally tied to an ASAM dimension."""

    problem_id: OpaqueId
    description: ShortText
    dimension: Annotated[str, StringConstraints(min_length=1, max_length=64)] | None = None


class Goal(StrictModel):
    """A measurable goal with a target date."""

    goal_id: OpaqueId
    description: ShortText
    target_date: date
    status: GoalStatus = GoalStatus.ACTIVE
    problem_id: OpaqueId | None = None
    measure: ShortText | None = None


class Objective(StrictModel):
    """A step toward a goal."""

    objective_id: OpaqueId
    goal_id: OpaqueId
    description: ShortText
    target_date: date


class Modality(StrEnum):
    """Treatment modalities."""

    CBT = "cbt"
    DBT = "dbt"
    MAT = "mat"
    TRAUMA_INFORMED = "trauma_informed"
    FAMILY_THERAPY = "family_therapy"
    MOTIVATIONAL_INTERVIEWING = "motivational_interviewing"
    CONTINGENCY_MANAGEMENT = "contingency_management"
    MUTUAL_HELP_FACILITATION = "mutual_help_facilitation"
    OTHER = "other"


class Intervention(StrictModel):
    """Who does what, how often, toward which objective."""

    intervention_id: OpaqueId
    objective_id: OpaqueId
    modality: Modality
    frequency: ShortText
    responsible_role: Role


class MutualHelp(StrEnum):
    """The client's preferred mutual-help approach."""

    NONE = "none"
    TWELVE_STEP = "twelve_step"
    SMART_RECOVERY = "smart_recovery"
    OTHER = "other"


class Preferences(StrictModel):
    """What the client wants their care to respect."""

    mutual_help: MutualHelp = MutualHelp.NONE
    faith: ShortText | None = None
    culture: ShortText | None = None
    language: ShortText | None = None
    family_involvement: bool = False


class SupportKind(StrEnum):
    """Recovery supports and requirements."""

    HOUSING = "housing"
    EMPLOYMENT = "employment"
    FINANCIAL_COUNSELLING = "financial_counselling"
    CHILDCARE = "childcare"
    LEGAL = "legal"
    COURT_ORDERED = "court_ordered"


class Support(StrictModel):
    """One support or requirement."""

    kind: SupportKind
    note: ShortText | None = None


class RecoverySupport(StrEnum):
    """Recovery supports planned for, and attended in, aftercare."""

    MUTUAL_HELP_MEETINGS = "mutual_help_meetings"
    PEER_SUPPORT = "peer_support"
    RECOVERY_COACH = "recovery_coach"
    RECOVERY_HOUSING = "recovery_housing"
    ALUMNI_GROUP = "alumni_group"
    OUTPATIENT_COUNSELLING = "outpatient_counselling"
    MEDICATION_CONTINUATION = "medication_continuation"


class RelapsePrevention(StrictModel):
    """Triggers, warning signs and coping strategies."""

    triggers: list[ShortText] = Field(default_factory=list, max_length=30)
    warning_signs: list[ShortText] = Field(default_factory=list, max_length=30)
    coping_strategies: list[ShortText] = Field(default_factory=list, max_length=30)


class Signer(StrEnum):
    """Who signs a plan review."""

    CLINICIAN = "clinician"
    CLIENT = "client"


class Signature(StrictModel):
    """A signature on one plan version."""

    signer: Signer
    signed_by: OpaqueId
    signed_at: AwareDatetime


class PlanContent(StrictModel):
    """Everything a plan version says (what staff send when they revise it)."""

    goals: list[Goal] = Field(min_length=1, max_length=50)
    problems: list[Problem] = Field(default_factory=list, max_length=50)
    objectives: list[Objective] = Field(default_factory=list, max_length=100)
    interventions: list[Intervention] = Field(default_factory=list, max_length=100)
    preferences: Preferences = Field(default_factory=Preferences)
    supports: list[Support] = Field(default_factory=list, max_length=20)
    relapse_prevention: RelapsePrevention = Field(default_factory=RelapsePrevention)
    aftercare_plan: ShortText | None = None
    recovery_supports: list[RecoverySupport] = Field(default_factory=list, max_length=20)

    @model_validator(mode="after")
    def _references_hold(self) -> "PlanContent":
        _unique("goals", [g.goal_id for g in self.goals])
        _unique("problems", [p.problem_id for p in self.problems])
        _unique("objectives", [o.objective_id for o in self.objectives])
        problems = {p.problem_id for p in self.problems}
        goals = {g.goal_id for g in self.goals}
        objectives = {o.objective_id for o in self.objectives}
        for g in self.goals:
            if g.problem_id is not None and g.problem_id not in problems:
                raise ValueError(f"goals: {g.goal_id} names unknown problem {g.problem_id}")
        for o in self.objectives:
            if o.goal_id not in goals:
                raise ValueError(f"objectives: {o.objective_id} names unknown goal {o.goal_id}")
        for i in self.interventions:
            if i.objective_id not in objectives:
                raise ValueError(
                    f"interventions: {i.intervention_id} names unknown objective {i.objective_id}"
                )
        return self


def _unique(field: str, ids: list[str]) -> None:
    if len(ids) != len(set(ids)):
        raise ValueError(f"{field}: ids must be unique")


class TreatmentPlan(PlanContent):
    """One version of the plan; every revision is a new version with who and why."""

    version: PositiveInt
    author: OpaqueId
    reason: ShortText
    revised_at: AwareDatetime
    signatures: list[Signature] = Field(default_factory=list)

    @property
    def fully_signed(self) -> bool:
        """Signed by both the clinician and the client."""
        return {s.signer for s in self.signatures} == set(Signer)
