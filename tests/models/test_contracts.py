"""Strict contracts: bad or missing values are refused with a message naming the field."""

from datetime import UTC, date, datetime

import pytest
from pydantic import ValidationError

from models.care import CareTeam, CareTeamMember, Role
from models.clinical import AssessmentKind, Decision
from models.commands import RecordAssessment, StartJourney
from models.journey import Phase
from models.plan import Goal, TreatmentPlan
from models.state import JourneyInput
from tests.builders import policy, start_command


def _fields(err: pytest.ExceptionInfo[ValidationError]) -> set[str]:
    return {".".join(str(p) for p in e["loc"]) for e in err.value.errors()}


def test_rating_out_of_range_names_the_dimension() -> None:
    with pytest.raises(ValidationError) as err:
        RecordAssessment(
            assessment_id="A1",
            kind=AssessmentKind.COMPREHENSIVE,
            dimensions={"d1": 5},
            assessed_by="th-chen",
        )
    assert "dimensions.d1" in _fields(err)


def test_missing_field_is_named() -> None:
    with pytest.raises(ValidationError) as err:
        StartJourney.model_validate({"journey_id": "J-1", "started_by": "ops"})
    assert {"care_team", "policy"} <= _fields(err)


def test_unknown_fields_and_loose_types_are_refused() -> None:
    with pytest.raises(ValidationError) as err:
        CareTeamMember.model_validate({"member_id": "a", "role": "nurse", "nickname": "x"})
    assert "nickname" in _fields(err)
    with pytest.raises(ValidationError):
        CareTeamMember.model_validate({"member_id": 7, "role": "nurse"})


@pytest.mark.parametrize(
    ("members", "message"),
    [
        ([("a", Role.THERAPIST, False), ("s", Role.SUPERVISOR, False)], "exactly one member"),
        ([("a", Role.CASE_MANAGER, True), ("s", Role.SUPERVISOR, False)], "clinician role"),
        ([("a", Role.THERAPIST, True)], "needs a supervisor"),
        ([("a", Role.THERAPIST, True), ("a", Role.SUPERVISOR, False)], "only once"),
    ],
)
def test_care_team_shape_is_checked(members: list[tuple[str, Role, bool]], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        CareTeam(members=[CareTeamMember(member_id=m, role=r, primary=p) for m, r, p in members])


def test_journey_ids_are_opaque_tokens() -> None:
    for bad in ("Jane Doe", "1990-01-01/Smith", "x" * 41, ""):
        with pytest.raises(ValidationError) as err:
            start_command(bad)
        assert "journey_id" in _fields(err)


def test_override_needs_a_variance_reason() -> None:
    with pytest.raises(ValidationError, match="variance_reason"):
        Decision(
            decided_by="th-chen",
            decided_at=datetime.now(UTC),
            phase=Phase.TREATMENT,
            loc_code="2.1",
            follows_recommendation=False,
        )


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValidationError) as err:
        TreatmentPlan(
            version=1,
            goals=[Goal(goal_id="g1", description="sober housing", target_date=date(2027, 1, 1))],
            author="th-chen",
            reason="initial plan",
            revised_at=datetime(2026, 1, 1),
        )
    assert "revised_at" in _fields(err)


def test_plan_goal_ids_are_unique() -> None:
    goal = Goal(goal_id="g1", description="attend IOP", target_date=date(2027, 1, 1))
    with pytest.raises(ValidationError, match="unique"):
        TreatmentPlan(
            version=1, goals=[goal, goal], author="a", reason="r", revised_at=datetime.now(UTC)
        )


def test_workflow_input_takes_start_or_state_not_both() -> None:
    with pytest.raises(ValidationError, match="either start or state"):
        JourneyInput()
    assert JourneyInput(start=start_command()).start is not None
    assert policy().version == "2026.3"
