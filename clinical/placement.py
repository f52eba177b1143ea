"""Placement recommendation from an ASAM assessment."""

from clinical.errors import RuleViolation
from models.clinical import Recommendation
from models.errors import RejectionCode
from models.journey import Phase
from models.policy import PlacementRule, Policy


def check_dimensions(policy: Policy, dimensions: dict[str, int]) -> None:
    """Refuse ratings that do not cover exactly the policy's dimension set."""
    missing = sorted(set(policy.dimensions) - set(dimensions))
    unknown = sorted(set(dimensions) - set(policy.dimensions))
    if missing or unknown:
        parts = [f"missing {', '.join(missing)}"] if missing else []
        parts += [f"unknown {', '.join(unknown)}"] if unknown else []
        raise RuleViolation(RejectionCode.DIMENSIONS_MISMATCH, f"dimensions: {'; '.join(parts)}")


def recommend(policy: Policy, dimensions: dict[str, int], current: Phase) -> Recommendation:
    """The first placement rule that applies in ``current`` and matches the ratings."""
    check_dimensions(policy, dimensions)
    for rule in policy.placement:
        if rule.applies_in is not None and current not in rule.applies_in:
            continue
        drivers = _matching_dimensions(rule, dimensions)
        if drivers is not None:
            return Recommendation(
                phase=rule.phase,
                loc_code=rule.loc_code,
                rationale=_rationale(policy, rule, drivers, dimensions),
                driving_dimensions=drivers,
                rule_id=rule.rule_id,
            )
    # Policy validation guarantees a catch-all last rule, so this is a broken invariant.
    raise AssertionError("policy has no catch-all placement rule")


def _matching_dimensions(rule: PlacementRule, dimensions: dict[str, int]) -> list[str] | None:
    if any(dimensions[c.dimension] < c.at_least for c in rule.requires):
        return None
    met = [c.dimension for c in rule.when if dimensions[c.dimension] >= c.at_least]
    if not rule.when:
        return sorted({c.dimension for c in rule.requires})
    matched = len(met) == len(rule.when) if rule.match == "all" else bool(met)
    return sorted({*met, *(c.dimension for c in rule.requires)}) if matched else None


def origin(rule: PlacementRule) -> str | None:
    """Where the rule comes from, as the rationale says it (None: a policy stored before)."""
    if rule.source is not None:
        return f"source: {rule.source}"
    return "a program choice, not from a cited source" if rule.program_choice else None


def _rationale(
    policy: Policy, rule: PlacementRule, drivers: list[str], dimensions: dict[str, int]
) -> str:
    target = rule.loc_code or rule.phase.value
    said = origin(rule)
    # The origin comes first so that a long list of dimensions never cuts it off.
    why = f" [{rule.rule_id}: {said}]" if said is not None else ""
    if not drivers:
        return f"{target}{why}: no dimension rated at a level that calls for more intensive care"
    named = "; ".join(f"{d} {policy.dimensions[d]} rated {dimensions[d]}" for d in drivers)
    if said is None:
        return f"{target} ({rule.rule_id}) driven by {named}"[:500]
    return f"{target}{why} driven by {named}"[:500]


def unsourced_rules(policy: Policy) -> list[str]:
    """Rules of a policy file that say neither where they come from nor that they are a choice."""
    return [
        f"placement.{r.rule_id}: give source (a citation, e.g. 'CLINICAL.md: ASAM Criteria') "
        "or program_choice: true"
        for r in policy.placement
        if r.source is None and not r.program_choice
    ]


def intensity(policy: Policy, loc_code: str) -> int:
    """How intensive a level is within its phase: the catalog lists each phase's levels from
    the most intensive down, so a larger number is more intensive."""
    level = policy.level(loc_code)
    if level is None:
        raise ValueError(f"loc_code: unknown level of care {loc_code!r}")
    same_phase = [loc.code for loc in policy.levels_of_care if loc.phase is level.phase]
    return len(same_phase) - same_phase.index(loc_code)
