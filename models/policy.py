"""Program policy: versioned data that drives the clinical rules."""

from collections.abc import Mapping
from datetime import timedelta
from enum import StrEnum
from typing import Literal

from pydantic import Field, PositiveInt, model_validator

from models.base import LocCode, ShortText, StrictModel
from models.care import Role
from models.journey import EventKind, Phase, Priority


class ClinicalEventKind(StrEnum):
    """Clinical events staff report; each may open a reassessment per policy."""

    RELAPSE = "relapse"
    POSITIVE_SCREEN = "positive_screen"
    MISSED_SESSION = "missed_session"
    CRISIS = "crisis"
    HOSPITALIZATION = "hospitalization"


class LevelOfCare(StrictModel):
    """One ASAM level of care in the program's catalog."""

    code: LocCode
    name: ShortText
    phase: Literal[Phase.WITHDRAWAL_MANAGEMENT, Phase.TREATMENT]
    review_interval_days: PositiveInt


class PlacementCondition(StrictModel):
    """A dimension rated at least ``at_least``."""

    dimension: str
    at_least: int = Field(ge=0, le=4)


class PlacementRule(StrictModel):
    """First matching rule gives the recommendation; an empty ``when`` always matches."""

    rule_id: str
    match: Literal["any", "all"] = "any"
    when: list[PlacementCondition] = Field(default_factory=list)
    phase: Phase
    loc_code: LocCode | None = None
    applies_in: list[Phase] | None = None


class EventRule(StrictModel):
    """What a reported clinical event does."""

    kind: ClinicalEventKind
    priority: Priority
    opens_reassessment: bool
    reassessment_due_hours: PositiveInt = 72
    threshold: PositiveInt = 1


class AftercarePolicy(StrictModel):
    """Aftercare check-ins as ISO 8601 durations (``P7D``) from the start of aftercare."""

    check_ins: list[timedelta] = Field(min_length=1)
    grace: timedelta
    duration: timedelta
    outreach_role: Role
    outreach_due_hours: PositiveInt

    @model_validator(mode="after")
    def _ordered(self) -> "AftercarePolicy":
        if self.check_ins != sorted(set(self.check_ins)) or self.check_ins[0] <= timedelta(0):
            raise ValueError("check_ins: must be positive and strictly increasing")
        if self.grace <= timedelta(0):
            raise ValueError("grace: must be positive")
        if self.check_ins[-1] > self.duration:
            raise ValueError("check_ins: a check-in falls after aftercare ends")
        return self


class RoutingRule(StrictModel):
    """Which care-team roles hear about one event kind."""

    event: EventKind
    roles: list[Role] = Field(default_factory=list)
    primary: bool = True
    urgent_roles: list[Role] = Field(default_factory=list)


class Policy(StrictModel):
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

    @model_validator(mode="after")
    def _consistent(self) -> "Policy":
        codes = [loc.code for loc in self.levels_of_care]
        if len(codes) != len(set(codes)):
            raise ValueError("levels_of_care: codes must be unique")
        phases = {loc.code: loc.phase for loc in self.levels_of_care}
        for rule in self.placement:
            _check_placement_rule(rule, phases, set(self.dimensions))
        if self.placement[-1].when:
            raise ValueError("placement: the last rule must match everything (empty 'when')")
        if {r.kind for r in self.events} != set(ClinicalEventKind):
            raise ValueError("events: every clinical event kind needs exactly one rule")
        if len(self.events) != len(ClinicalEventKind):
            raise ValueError("events: every clinical event kind needs exactly one rule")
        routed = [r.event for r in self.routing]
        if sorted(routed) != sorted(EventKind):
            raise ValueError("routing: every event kind needs exactly one routing rule")
        return self

    def level(self, code: str) -> LevelOfCare | None:
        """The catalog entry for ``code``, if the program offers it."""
        return next((loc for loc in self.levels_of_care if loc.code == code), None)

    def event_rule(self, kind: ClinicalEventKind) -> EventRule:
        """The rule for one clinical event kind."""
        return next(r for r in self.events if r.kind is kind)

    def routing_rule(self, kind: EventKind) -> RoutingRule:
        """The routing rule for one event kind."""
        return next(r for r in self.routing if r.event is kind)


def _check_placement_rule(
    rule: PlacementRule, phases: Mapping[str, Phase], dimensions: set[str]
) -> None:
    unknown = [c.dimension for c in rule.when if c.dimension not in dimensions]
    if unknown:
        raise ValueError(f"placement.{rule.rule_id}: unknown dimension {unknown[0]!r}")
    if rule.phase.has_loc and phases.get(rule.loc_code or "") is not rule.phase:
        raise ValueError(f"placement.{rule.rule_id}: no {rule.phase} level {rule.loc_code!r}")
    if not rule.phase.has_loc and rule.loc_code is not None:
        raise ValueError(f"placement.{rule.rule_id}: phase {rule.phase} takes no level of care")
    if rule.phase not in (Phase.WITHDRAWAL_MANAGEMENT, Phase.TREATMENT, Phase.AFTERCARE):
        raise ValueError(f"placement.{rule.rule_id}: cannot recommend phase {rule.phase}")
