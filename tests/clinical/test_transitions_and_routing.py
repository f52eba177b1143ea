"""The state machine's allowed moves and event routing."""

import pytest

from clinical.errors import RuleViolation
from clinical.routing import recipients
from clinical.transitions import allowed_targets, check_transition
from models.care import Role
from models.errors import RejectionCode
from models.journey import EventKind, Phase, Priority
from tests.builders import PRIMARY, SUPERVISOR, policy, team


def test_allowed_targets_match_the_design() -> None:
    assert allowed_targets(Phase.INTAKE) == {Phase.WITHDRAWAL_MANAGEMENT, Phase.TREATMENT}
    assert Phase.AFTERCARE not in allowed_targets(Phase.WITHDRAWAL_MANAGEMENT)
    assert Phase.AFTERCARE in allowed_targets(Phase.TREATMENT)
    assert allowed_targets(Phase.AFTERCARE) >= {Phase.WITHDRAWAL_MANAGEMENT, Phase.TREATMENT}
    assert allowed_targets(Phase.COMPLETED) == set()
    assert allowed_targets(Phase.DISCHARGED) == set()


@pytest.mark.parametrize(
    ("current", "target", "loc", "code"),
    [
        (Phase.INTAKE, Phase.AFTERCARE, None, RejectionCode.TRANSITION_NOT_ALLOWED),
        (Phase.WITHDRAWAL_MANAGEMENT, Phase.AFTERCARE, None, RejectionCode.TRANSITION_NOT_ALLOWED),
        (Phase.TREATMENT, Phase.INTAKE, None, RejectionCode.TRANSITION_NOT_ALLOWED),
        (Phase.INTAKE, Phase.TREATMENT, None, RejectionCode.LOC_REQUIRED),
        (Phase.INTAKE, Phase.TREATMENT, "3.7-WM", RejectionCode.UNKNOWN_LOC),
        (Phase.INTAKE, Phase.WITHDRAWAL_MANAGEMENT, "3.5", RejectionCode.UNKNOWN_LOC),
        (Phase.TREATMENT, Phase.TREATMENT, "9.9", RejectionCode.UNKNOWN_LOC),
        (Phase.TREATMENT, Phase.AFTERCARE, "1", RejectionCode.LOC_NOT_ALLOWED),
    ],
)
def test_disallowed_transitions_are_refused_with_a_code(
    current: Phase, target: Phase, loc: str | None, code: RejectionCode
) -> None:
    with pytest.raises(RuleViolation) as err:
        check_transition(policy(), current, target, loc)
    assert err.value.code is code


def test_allowed_transitions_pass() -> None:
    check_transition(policy(), Phase.INTAKE, Phase.WITHDRAWAL_MANAGEMENT, "3.7-WM")
    check_transition(policy(), Phase.TREATMENT, Phase.AFTERCARE, None)
    check_transition(policy(), Phase.AFTERCARE, Phase.TREATMENT, "2.1")


def test_overdue_reassessment_goes_to_supervisor_and_primary() -> None:
    chosen = recipients(policy(), team(), EventKind.REASSESSMENT_OVERDUE, Priority.URGENT)
    assert chosen == sorted([SUPERVISOR, PRIMARY])


def test_urgent_clinical_event_adds_urgent_roles() -> None:
    routine = recipients(policy(), team(), EventKind.CLINICAL_EVENT_REPORTED, Priority.ROUTINE)
    urgent = recipients(policy(), team(), EventKind.CLINICAL_EVENT_REPORTED, Priority.URGENT)
    assert routine == [PRIMARY]
    assert set(urgent) == {PRIMARY, "dr-ames", "rn-baker", SUPERVISOR}


def test_phase_roles_join_while_the_journey_is_in_that_phase() -> None:
    kind, routine = EventKind.CLINICAL_EVENT_REPORTED, Priority.ROUTINE
    assert recipients(policy(), team(), kind, routine, Phase.TREATMENT) == [PRIMARY]
    detox = recipients(policy(), team(), kind, routine, Phase.WITHDRAWAL_MANAGEMENT)
    assert set(detox) == {PRIMARY, "rn-baker", "dr-ames"}
    after = recipients(policy(), team(), kind, routine, Phase.AFTERCARE)
    assert set(after) == {PRIMARY, "ps-evans", "rc-fox"}


def test_phase_change_reaches_every_clinical_and_support_role() -> None:
    chosen = recipients(policy(), team(), EventKind.PHASE_CHANGED, Priority.ROUTINE)
    assert SUPERVISOR not in chosen
    assert {"dr-ames", "rn-baker", "th-chen", "cm-diaz", "ps-evans", "rc-fox"} == set(chosen)


def test_roles_missing_from_team_route_to_nobody_but_primary() -> None:
    small = team(roles={"th-chen": Role.THERAPIST, "sv-gray": Role.SUPERVISOR})
    chosen = recipients(policy(), small, EventKind.CHECK_IN_MISSED, Priority.ROUTINE)
    assert chosen == ["th-chen"]
