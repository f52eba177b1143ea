"""Program policy: versioned data that drives the clinical rules."""

from collections.abc import Mapping
from datetime import timedelta
from enum import StrEnum
from typing import Literal

from pydantic import Field, PositiveInt, model_validator

from models.authority import AuthorityPolicy
from models.base import FrozenModel, LocCode, ShortText
from models.care import Role
from models.clinical import Substance
from models.instruments import InstrumentRegistry
from models.journey import ADDRESSED_BY_COMMAND, EventKind, Phase, Priority


class ClinicalEventKind(StrEnum):
    """Clinical events staff report; each may open a reassessment per policy."""

    RELAPSE = "relapse"
    POSITIVE_SCREEN = "positive_screen"
    MISSED_SESSION = "missed_session"
    CRISIS = "crisis"
    HOSPITALIZATION = "hospitalization"


class LevelOfCare(FrozenModel):
    """One ASAM level of care in the program's catalog."""

    code: LocCode
    name: ShortText
    phase: Literal[Phase.WITHDRAWAL_MANAGEMENT, Phase.TREATMENT]
    review_interval_days: PositiveInt
    # Individualized plan: due this long after admission to the level, reviewed this often.
    initial_plan_due_hours: PositiveInt | None = None
    plan_review_days: PositiveInt | None = None


class PlacementCondition(FrozenModel):
    """A dimension rated at least ``at_least``."""

    dimension: str
    at_least: int = Field(ge=0, le=4)


class PlacementRule(FrozenModel):
    """First matching rule gives the recommendation; an empty ``when`` always matches.

    ``requires`` must all hold as well, whatever ``match`` says (e.g. withdrawal rated 2 or
    more, and biomedical or psychiatric rated 4). Each rule says where it comes from: a
    ``source`` citing a section of the clinical reference, or ``program_choice``. Policies
    stored before these fields have neither; loading a policy file requires one (policy_loader).
    """

    rule_id: str
    match: Literal["any", "all"] = "any"
    when: list[PlacementCondition] = Field(default_factory=list)
    requires: list[PlacementCondition] = Field(default_factory=list)
    phase: Phase
    loc_code: LocCode | None = None
    applies_in: list[Phase] | None = None
    source: ShortText | None = None
    program_choice: bool = False

    @model_validator(mode="after")
    def _one_origin(self) -> "PlacementRule":
        if self.source is not None and self.program_choice:
            raise ValueError(f"{self.rule_id}: give source or program_choice, not both")
        return self


class EventRule(FrozenModel):
    """What a reported clinical event does."""

    kind: ClinicalEventKind
    priority: Priority
    opens_reassessment: bool
    reassessment_due_hours: PositiveInt = 72
    threshold: PositiveInt = 1


class AftercarePolicy(FrozenModel):
    """Aftercare check-ins as ISO 8601 durations (``P7D``) from the start of aftercare."""

    check_ins: list[timedelta] = Field(min_length=1)
    grace: timedelta
    duration: timedelta
    outreach_role: Role
    outreach_due_hours: PositiveInt
    # This many check-ins missed in a row open a reassessment (possible re-entry into care).
    reassess_after_missed: PositiveInt | None = None
    reassessment_due_hours: PositiveInt = 72

    @model_validator(mode="after")
    def _ordered(self) -> "AftercarePolicy":
        if self.check_ins != sorted(set(self.check_ins)) or self.check_ins[0] <= timedelta(0):
            raise ValueError("check_ins: must be positive and strictly increasing")
        if self.grace <= timedelta(0):
            raise ValueError("grace: must be positive")
        if self.check_ins[-1] > self.duration:
            raise ValueError("check_ins: a check-in falls after aftercare ends")
        return self


class TriggerAction(StrEnum):
    """What a data-point trigger opens."""

    OPEN_REASSESSMENT = "open_reassessment"
    URGENT_TASK = "urgent_task"


class TriggerCondition(FrozenModel):
    """All given parts must hold: a critical-item flag, a total, a rise since the last score."""

    flag: str | None = None
    total_at_least: int | None = Field(default=None, ge=0)
    rise_at_least: PositiveInt | None = None

    @model_validator(mode="after")
    def _something(self) -> "TriggerCondition":
        if self.flag is None and self.total_at_least is None and self.rise_at_least is None:
            raise ValueError("when: give flag, total_at_least or rise_at_least")
        return self


class TriggerRule(FrozenModel):
    """A data-point trigger on an instrument result."""

    trigger_id: str
    instrument: str
    when: TriggerCondition
    in_locs: list[LocCode] | None = None
    action: TriggerAction
    priority: Priority = Priority.URGENT
    due_hours: PositiveInt


class MonitoringInterval(FrozenModel):
    """How soon the next check is due after a score (the first matching entry wins)."""

    total_at_least: int = Field(default=0, ge=0)
    # Only during the first hours of the stay in monitored levels (e.g. the first 24 h).
    within_hours: PositiveInt | None = None
    every_hours: PositiveInt


class MonitoringRule(FrozenModel):
    """A required withdrawal scale at some levels of care (e.g. CIWA-Ar at 3.7-WM).

    Under the current rules the schedule starts on entering the level: the first check is due
    within ``first_check_hours``; after each score the next is due by ``intervals`` (first match
    on the score and the hours since entering monitored levels), else ``every_hours``. Which
    scales run follows the substances recorded at assessment (all of the level's scales when
    none is recorded, or none of them matches). Journeys recorded under the old rules start the
    schedule with the first score and end it at every level-of-care change.
    """

    rule_id: str
    instrument: str
    in_locs: list[LocCode] = Field(min_length=1)
    every_hours: PositiveInt
    grace_hours: int = Field(default=1, ge=0)
    role: Role
    priority: Priority = Priority.URGENT
    substances: list[Substance] = Field(default_factory=list)
    first_check_hours: PositiveInt | None = None
    intervals: list[MonitoringInterval] = Field(default_factory=list)

    @property
    def first_check(self) -> int:
        """Hours from entering the level to the first check."""
        return self.first_check_hours or self.every_hours

    def interval_hours(self, total: int, hours_in: float) -> int:
        """Hours until the next check after a score of ``total``, ``hours_in`` into the stay."""
        for interval in self.intervals:
            within = interval.within_hours is None or hours_in < interval.within_hours
            if total >= interval.total_at_least and within:
                return interval.every_hours
        return self.every_hours

    @property
    def longest_hours(self) -> int:
        """The longest time a client at this level can wait for the next check."""
        return max([self.first_check, self.every_hours, *(i.every_hours for i in self.intervals)])


class EscalationRung(FrozenModel):
    """One rung of the ladder for overdue work: who hears, how long after the due time."""

    after_hours: int = Field(ge=0)
    to: Literal["owner"] | Role


class PlanReviewPolicy(FrozenModel):
    """Reminders for a plan coming due; an unsigned plan past its due time is overdue."""

    reminder_hours: PositiveInt = 24


class OutcomeRule(FrozenModel):
    """Treatment response and remission on one instrument, measured from the first score."""

    instrument: str
    response_drop_percent: int | None = Field(default=None, ge=1, le=100)
    remission_below: PositiveInt | None = None


class ProgressPolicy(FrozenModel):
    """Milestones the team is told about: days in recovery, response and remission."""

    recovery_days: list[PositiveInt] = Field(default_factory=list)
    outcomes: list[OutcomeRule] = Field(default_factory=list)

    @model_validator(mode="after")
    def _ordered(self) -> "ProgressPolicy":
        if self.recovery_days != sorted(set(self.recovery_days)):
            raise ValueError("recovery_days: must be strictly increasing")
        return self


class RoutingRule(FrozenModel):
    """Which care-team roles hear about one event kind."""

    event: EventKind
    roles: list[Role] = Field(default_factory=list)
    primary: bool = True
    urgent_roles: list[Role] = Field(default_factory=list)
    # Roles added while the journey is in a phase (e.g. the nurse during withdrawal management).
    phase_roles: dict[Phase, list[Role]] = Field(default_factory=dict)


class Policy(FrozenModel):
    """A program's versioned policy."""

    policy_id: str
    version: str
    asam_edition: Literal[3, 4]
    dimensions: dict[str, ShortText] = Field(min_length=1)
    levels_of_care: list[LevelOfCare] = Field(min_length=1)
    placement: list[PlacementRule] = Field(min_length=1)
    intake_assessment_due_hours: PositiveInt
    scheduled_review_due_hours: PositiveInt
    request_due_hours: PositiveInt
    escalation_role: Role
    events: list[EventRule]
    aftercare: AftercarePolicy
    routing: list[RoutingRule]
    instruments: InstrumentRegistry | None = None
    triggers: list[TriggerRule] = Field(default_factory=list)
    monitoring: list[MonitoringRule] = Field(default_factory=list)
    # Defaults switch the features off, so a policy stored before they existed behaves as it did.
    plan_review: PlanReviewPolicy = Field(default_factory=PlanReviewPolicy)
    # Overdue work climbs this ladder, each rung once per task; empty (policies stored before
    # it existed): an overdue reassessment alerts the primary clinician and escalation_role once.
    escalation_ladder: list[EscalationRung] = Field(default_factory=list)
    progress: ProgressPolicy = Field(default_factory=ProgressPolicy)
    # Which care-team roles may decide, assess, sign, revise the plan and discharge.
    authority: AuthorityPolicy = Field(default_factory=AuthorityPolicy)

    @model_validator(mode="after")
    def _consistent(self) -> "Policy":
        codes = [loc.code for loc in self.levels_of_care]
        if len(codes) != len(set(codes)):
            raise ValueError("levels_of_care: codes must be unique")
        phases = {loc.code: loc.phase for loc in self.levels_of_care}
        for rule in self.placement:
            _check_placement_rule(rule, phases, set(self.dimensions))
        if self.placement[-1].when or self.placement[-1].requires:
            raise ValueError("placement: the last rule must match everything (empty 'when')")
        if len({r.kind for r in self.events}) != len(self.events):
            raise ValueError("events: one rule per clinical event kind")
        if len({r.event for r in self.routing}) != len(self.routing):
            raise ValueError("routing: one rule per event kind")
        self._check_triggers()
        self._check_monitoring()
        hours = [r.after_hours for r in self.escalation_ladder]
        if hours != sorted(set(hours)):
            raise ValueError("escalation_ladder: after_hours must be strictly increasing")
        for outcome in self.progress.outcomes:
            if self.instruments is None or self.instruments.get(outcome.instrument) is None:
                raise ValueError(f"progress.outcomes: unknown instrument {outcome.instrument!r}")
        return self

    def _check_triggers(self) -> None:
        for rule in self.triggers:
            definition = self.instruments.get(rule.instrument) if self.instruments else None
            if definition is None:
                raise ValueError(
                    f"triggers.{rule.trigger_id}: unknown instrument {rule.instrument!r}"
                )
            flags = {c.flag for c in definition.critical_items}
            if rule.when.flag is not None and rule.when.flag not in flags:
                raise ValueError(
                    f"triggers.{rule.trigger_id}: {rule.instrument} has no flag {rule.when.flag!r}"
                )
            unknown = [c for c in rule.in_locs or [] if self.level(c) is None]
            if unknown:
                raise ValueError(
                    f"triggers.{rule.trigger_id}: unknown level of care {unknown[0]!r}"
                )

    def _check_monitoring(self) -> None:
        for rule in self.monitoring:
            if self.instruments is None or self.instruments.get(rule.instrument) is None:
                raise ValueError(
                    f"monitoring.{rule.rule_id}: unknown instrument {rule.instrument!r}"
                )
            unknown = [c for c in rule.in_locs if self.level(c) is None]
            if unknown:
                raise ValueError(f"monitoring.{rule.rule_id}: unknown level of care {unknown[0]!r}")

    def level(self, code: str) -> LevelOfCare | None:
        """The catalog entry for ``code``, if the program offers it."""
        return next((loc for loc in self.levels_of_care if loc.code == code), None)

    def missing_rules(self) -> list[str]:
        """Event kinds this policy has no rule for.

        Checked when a policy file is loaded; a policy stored in a running journey stays valid
        when the code later learns new kinds (they fall back to the defaults below).
        """
        missing = [f"events: no rule for {k}" for k in ClinicalEventKind if k not in
                   {r.kind for r in self.events}]  # fmt: skip
        routed = {r.event for r in self.routing} | ADDRESSED_BY_COMMAND
        return missing + [f"routing: no rule for {k}" for k in EventKind if k not in routed]

    def event_rule(self, kind: ClinicalEventKind) -> EventRule:
        """The rule for one clinical event kind (record only, if the policy predates it)."""
        default = EventRule(kind=kind, priority=Priority.ROUTINE, opens_reassessment=False)
        return next((r for r in self.events if r.kind is kind), default)

    def routing_rule(self, kind: EventKind) -> RoutingRule:
        """The routing rule for one event kind (the primary only, if the policy predates it)."""
        return next((r for r in self.routing if r.event is kind), RoutingRule(event=kind))


def _check_placement_rule(
    rule: PlacementRule, phases: Mapping[str, Phase], dimensions: set[str]
) -> None:
    unknown = [c.dimension for c in rule.when + rule.requires if c.dimension not in dimensions]
    if unknown:
        raise ValueError(f"placement.{rule.rule_id}: unknown dimension {unknown[0]!r}")
    if rule.phase.has_loc and phases.get(rule.loc_code or "") is not rule.phase:
        raise ValueError(f"placement.{rule.rule_id}: no {rule.phase} level {rule.loc_code!r}")
    if not rule.phase.has_loc and rule.loc_code is not None:
        raise ValueError(f"placement.{rule.rule_id}: phase {rule.phase} takes no level of care")
    if rule.phase not in (Phase.WITHDRAWAL_MANAGEMENT, Phase.TREATMENT, Phase.AFTERCARE):
        raise ValueError(f"placement.{rule.rule_id}: cannot recommend phase {rule.phase}")
