"""Which phase and level-of-care changes the journey state machine allows."""

from clinical.errors import RuleViolation
from models.errors import RejectionCode
from models.journey import Phase
from models.policy import Policy

ALLOWED: dict[Phase, frozenset[Phase]] = {
    Phase.INTAKE: frozenset({Phase.WITHDRAWAL_MANAGEMENT, Phase.TREATMENT}),
    Phase.WITHDRAWAL_MANAGEMENT: frozenset({Phase.WITHDRAWAL_MANAGEMENT, Phase.TREATMENT}),
    Phase.TREATMENT: frozenset({Phase.TREATMENT, Phase.WITHDRAWAL_MANAGEMENT, Phase.AFTERCARE}),
    Phase.AFTERCARE: frozenset({Phase.AFTERCARE, Phase.WITHDRAWAL_MANAGEMENT, Phase.TREATMENT}),
}


def allowed_targets(current: Phase) -> frozenset[Phase]:
    """Phases a reassessment decision may move to from ``current``."""
    return ALLOWED.get(current, frozenset())


def check_transition(policy: Policy, current: Phase, target: Phase, loc_code: str | None) -> None:
    """Refuse a decision target the state machine or the LOC catalog does not allow."""
    if target not in allowed_targets(current):
        raise RuleViolation(
            RejectionCode.TRANSITION_NOT_ALLOWED, f"phase: cannot move from {current} to {target}"
        )
    if not target.has_loc:
        if loc_code is not None:
            raise RuleViolation(
                RejectionCode.LOC_NOT_ALLOWED, f"loc_code: {target} has no level of care"
            )
        return
    if loc_code is None:
        raise RuleViolation(RejectionCode.LOC_REQUIRED, f"loc_code: {target} needs a level of care")
    level = policy.level(loc_code)
    if level is None or level.phase is not target:
        raise RuleViolation(
            RejectionCode.UNKNOWN_LOC, f"loc_code: {loc_code!r} is not a {target} level of care"
        )
