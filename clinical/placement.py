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
    met = [c.dimension for c in rule.when if dimensions[c.dimension] >= c.at_least]
    if not rule.when:
        return []
    matched = len(met) == len(rule.when) if rule.match == "all" else bool(met)
    return sorted(set(met)) if matched else None


def _rationale(
    policy: Policy, rule: PlacementRule, drivers: list[str], dimensions: dict[str, int]
) -> str:
    target = rule.loc_code or rule.phase.value
    if not drivers:
        return f"{target}: no dimension rated at a level that calls for more intensive care"
    named = "; ".join(f"{d} {policy.dimensions[d]} rated {dimensions[d]}" for d in drivers)
    return f"{target} ({rule.rule_id}) driven by {named}"[:500]
