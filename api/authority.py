"""Decision authority on the dashboard: which forms an account is shown.

The forms follow the same two checks as the commands they send: a clinical account
(service.access) and a care-team role the journey's policy allows (clinical.authority). Hiding
a form is a courtesy; a forged post is refused all the same, with a 403 page (api.errors)
and an audit entry.
"""

from dataclasses import dataclass, field

from clinical import authority
from models.authority import ClinicalAction
from models.journey import Phase
from models.state import JourneyState
from models.views import StaffAccount
from service.access import is_clinical

DECISION_PHASES = (Phase.WITHDRAWAL_MANAGEMENT, Phase.TREATMENT, Phase.AFTERCARE)


@dataclass(frozen=True)
class Forms:
    """The clinical forms the journey page shows this account."""

    assess: bool = False
    decide: bool = False
    measure: bool = False
    discharge: bool = False
    # Decision targets offered in the override (the recommendation may still be refused).
    phases: list[str] = field(default_factory=list)
    levels: list[str] = field(default_factory=list)


def forms_for(state: JourneyState, staff: StaffAccount) -> Forms:
    """What ``staff`` may send on this journey."""
    if not is_clinical(staff.role):
        return Forms()
    who = staff.staff_id

    def may_reach(phase: Phase) -> bool:
        return authority.may(state, who, authority.decision_action(state, phase))

    return Forms(
        assess=authority.may(state, who, ClinicalAction.ASSESS),
        decide=authority.may_decide(state, who),
        measure=True,
        discharge=authority.may(state, who, ClinicalAction.DISCHARGE),
        phases=[p.value for p in DECISION_PHASES if may_reach(p)],
        levels=[loc.code for loc in state.policy.levels_of_care if may_reach(loc.phase)],
    )
