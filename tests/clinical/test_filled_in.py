"""The journey fills in what it knows: the reassessment decided, the assessment's kind and id."""

from collections.abc import Callable
from datetime import datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from clinical import commands
from clinical.errors import RuleViolation
from clinical.timers import run_due_work
from models.clinical import AssessmentKind, ReassessmentTrigger
from models.commands import DecideTransition, RecordAssessment, RequestReassessment
from models.errors import RejectionCode
from models.journey import Phase
from models.state import JourneyState
from tests.builders import PHYSICIAN, PRIMARY, T0, ratings, start_command

NOW = T0 + timedelta(hours=1)


def _start() -> JourneyState:
    return commands.start(start_command("J-FILL"), T0)


def _assess(**overrides: int) -> RecordAssessment:
    return RecordAssessment(dimensions=ratings(**overrides), assessed_by=PHYSICIAN)


def _refused(state: JourneyState, code: RejectionCode, act: Callable[[], object]) -> str:
    """``act`` is refused with ``code`` and the state is unchanged."""
    before = state.model_dump()
    with pytest.raises(RuleViolation) as refused:
        act()
    assert refused.value.code is code
    assert state.model_dump() == before
    return refused.value.message


def _reassess(state: JourneyState) -> str:
    request = RequestReassessment(requested_by=PRIMARY, reason="review")
    opened = commands.apply_request_reassessment(state, request, NOW).reassessment_id
    assert opened is not None
    return opened


def test_decision_without_an_id_decides_the_open_reassessment() -> None:
    state = _start()
    intake = state.active_reassessment
    assert intake is not None
    commands.apply_record_assessment(state, _assess(d1=2), NOW)
    result = commands.apply_decide(state, DecideTransition(decided_by=PHYSICIAN, accept=True), NOW)
    assert result.reassessment_id == intake.reassessment_id
    assert intake.decision is not None
    assert intake.decision.decided_by == PHYSICIAN
    assert state.active_reassessment is None
    assert state.phase is not Phase.INTAKE


def test_decision_with_nothing_open_says_so() -> None:
    state = _start()
    commands.apply_record_assessment(state, _assess(), NOW)
    commands.apply_decide(state, DecideTransition(decided_by=PHYSICIAN, accept=True), NOW)
    decide = DecideTransition(decided_by=PHYSICIAN, accept=True)
    message = _refused(
        state,
        RejectionCode.NO_ACTIVE_REASSESSMENT,
        lambda: commands.check_decide(state, decide, NOW),
    )
    assert message == "no reassessment is open"
    _refused(
        state,
        RejectionCode.NO_ACTIVE_REASSESSMENT,
        lambda: commands.apply_decide(state, decide, NOW),
    )


def test_a_named_reassessment_is_still_decided_and_unknown_names_refused() -> None:
    state = _start()
    commands.apply_record_assessment(state, _assess(), NOW)
    unknown = DecideTransition(reassessment_id="J-FILL.R99", decided_by=PHYSICIAN, accept=True)
    _refused(
        state,
        RejectionCode.UNKNOWN_REASSESSMENT,
        lambda: commands.apply_decide(state, unknown, NOW),
    )
    active = state.active_reassessment
    assert active is not None
    named = DecideTransition(
        reassessment_id=active.reassessment_id, decided_by=PHYSICIAN, accept=True
    )
    assert commands.apply_decide(state, named, NOW).reassessment_id == active.reassessment_id


def test_decision_on_an_open_but_unassessed_reassessment_needs_the_assessment() -> None:
    state = _start()
    decide = DecideTransition(decided_by=PHYSICIAN, accept=True)
    _refused(
        state, RejectionCode.ASSESSMENT_MISSING, lambda: commands.apply_decide(state, decide, NOW)
    )


def test_assessment_kind_and_id_are_the_journeys() -> None:
    state = _start()
    commands.apply_record_assessment(state, _assess(), NOW)
    intake = state.reassessments[0].assessment
    assert intake is not None
    assert intake.kind is AssessmentKind.COMPREHENSIVE
    assert intake.assessment_id.startswith("J-FILL.A")
    commands.apply_decide(state, DecideTransition(decided_by=PHYSICIAN, accept=True), NOW)
    _reassess(state)
    commands.apply_record_assessment(state, _assess(d5=2), NOW)
    later = state.reassessments[-1].assessment
    assert later is not None
    assert later.kind is AssessmentKind.REASSESSMENT
    assert later.assessment_id != intake.assessment_id


def test_id_matches_what_callers_derived_before() -> None:
    # Callers used to send f"{journey}.A{seq + 1}": the journey names assessments alike.
    state = _start()
    expected = f"J-FILL.A{state.seq + 1}"
    commands.apply_record_assessment(state, _assess(), NOW)
    assessment = state.reassessments[0].assessment
    assert assessment is not None
    assert assessment.assessment_id == expected


def test_explicit_kind_and_id_are_kept() -> None:
    # Histories recorded before carry both: the journey must do exactly what it did then.
    state = _start()
    given = RecordAssessment(
        assessment_id="A-OLD",
        kind=AssessmentKind.COMPREHENSIVE,
        dimensions=ratings(),
        assessed_by=PHYSICIAN,
    )
    commands.apply_record_assessment(state, given, NOW)
    assessment = state.reassessments[0].assessment
    assert assessment is not None
    assert (assessment.assessment_id, assessment.kind) == ("A-OLD", AssessmentKind.COMPREHENSIVE)


@pytest.mark.parametrize("at_intake", [True, False])
def test_explicit_wrong_kind_is_refused(at_intake: bool) -> None:
    state = _start()
    if not at_intake:
        commands.apply_record_assessment(state, _assess(), NOW)
        commands.apply_decide(state, DecideTransition(decided_by=PHYSICIAN, accept=True), NOW)
        _reassess(state)
    wrong = AssessmentKind.REASSESSMENT if at_intake else AssessmentKind.COMPREHENSIVE
    cmd = RecordAssessment(kind=wrong, dimensions=ratings(), assessed_by=PHYSICIAN)
    message = _refused(
        state,
        RejectionCode.WRONG_ASSESSMENT_KIND,
        lambda: commands.apply_record_assessment(state, cmd, NOW),
    )
    assert message.startswith("kind: ")


def test_assessment_with_nothing_open_says_so() -> None:
    state = _start()
    commands.apply_record_assessment(state, _assess(), NOW)
    commands.apply_decide(state, DecideTransition(decided_by=PHYSICIAN, accept=True), NOW)
    _refused(
        state,
        RejectionCode.NO_ACTIVE_REASSESSMENT,
        lambda: commands.apply_record_assessment(state, _assess(), NOW),
    )


OPS = st.lists(
    st.tuples(
        st.sampled_from(["assess", "decide", "reassess", "wait"]),
        st.integers(0, 4),
        st.integers(1, 24 * 40),
    ),
    min_size=1,
    max_size=30,
)


def _apply(state: JourneyState, op: str, rating: int, now: datetime) -> None:
    if op == "assess":
        commands.apply_record_assessment(state, _assess(d1=rating, d5=rating), now)
    elif op == "decide":
        commands.apply_decide(state, DecideTransition(decided_by=PHYSICIAN, accept=True), now)
    else:
        request = RequestReassessment(requested_by=PRIMARY, reason="review")
        commands.apply_request_reassessment(state, request, now)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(OPS)
def test_filled_in_values_over_any_sequence(ops: list[tuple[str, int, int]]) -> None:
    """Ids never repeat, kinds follow the trigger, refusals change nothing, over time."""
    state = _start()
    now = NOW
    for op, rating, hours in ops:
        now += timedelta(hours=hours) if op == "wait" else timedelta(minutes=1)
        if op == "wait":
            run_due_work(state, now)
            continue
        before = state.model_dump()
        active = state.active_reassessment
        refused: RejectionCode | None = None
        try:
            _apply(state, op, rating, now)
        except RuleViolation as exc:
            refused = exc.code
        if refused is not None:
            assert state.model_dump() == before
            if active is None and op in ("assess", "decide"):
                assert refused is RejectionCode.NO_ACTIVE_REASSESSMENT
            continue
        if op == "decide":
            assert active is not None
            assert active.decision is not None
        if not state.phase.is_open:
            break
    assessments = [r for r in state.reassessments if r.assessment is not None]
    ids = [r.assessment.assessment_id for r in assessments if r.assessment is not None]
    assert len(ids) == len(set(ids))
    for r in assessments:
        assert r.assessment is not None
        intake = r.trigger is ReassessmentTrigger.INTAKE
        expected = AssessmentKind.COMPREHENSIVE if intake else AssessmentKind.REASSESSMENT
        assert r.assessment.kind is expected
