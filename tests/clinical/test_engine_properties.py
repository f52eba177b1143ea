"""Property tests over the pure journey engine: no command sequence breaks the machine."""

import itertools
from datetime import datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from clinical import commands, episode
from clinical.errors import RuleViolation
from clinical.timers import next_deadline, run_due_work
from clinical.transitions import allowed_targets
from models.clinical import AssessmentKind, ReassessmentStatus, ReassessmentTrigger
from models.commands import (
    AddNote,
    CommandResult,
    DecideTransition,
    Discharge,
    RecordAssessment,
    RecordCheckIn,
    ReportEvent,
    RequestReassessment,
)
from models.journey import DischargeReason, EventKind, Phase
from models.policy import ClinicalEventKind
from models.state import JourneyState
from tests.builders import PHYSICIAN, PRIMARY, T0, start_command

WM, TX, AC = Phase.WITHDRAWAL_MANAGEMENT, Phase.TREATMENT, Phase.AFTERCARE
VALID_TARGETS = [(WM, "3.7-WM"), (WM, "3.2-WM"), (TX, "3.5"), (TX, "2.1"), (TX, "1"), (AC, None)]
INVALID_TARGETS = [(Phase.INTAKE, None), (TX, "9.9"), (WM, "3.5"), (TX, None), (AC, "1")]
target_st = st.one_of(st.sampled_from(VALID_TARGETS), st.sampled_from(INVALID_TARGETS))

ratings_st = st.fixed_dictionaries({f"d{i}": st.integers(0, 4) for i in range(1, 7)})

cycle_st = st.tuples(st.just("cycle"), ratings_st, st.booleans(), target_st, st.booleans())

# Full assess-and-decide cycles are weighted up so sequences travel deep into the machine.
op_st = st.one_of(
    cycle_st,
    cycle_st,
    cycle_st,
    cycle_st,
    st.tuples(st.just("assess"), ratings_st, st.booleans()),
    st.tuples(st.just("decide"), st.booleans(), target_st, st.booleans()),
    st.tuples(st.just("event"), st.sampled_from(list(ClinicalEventKind))),
    st.tuples(st.just("request"), st.just(0)),
    st.tuples(st.just("check_in"), st.just(0)),
    # Free text up to the limit: a note is never cut and never breaks the journey.
    st.tuples(st.just("note"), st.text(min_size=1, max_size=500).filter(str.strip)),
    st.tuples(st.just("wait"), st.integers(1, 24 * 40)),
    st.tuples(st.just("wait"), st.integers(24 * 60, 24 * 200)),
    # Discharge ends everything, so it is drawn one time in ten.
    st.tuples(st.just("discharge"), st.sampled_from(list(DischargeReason)), st.integers(0, 9)),
)


def _apply(state: JourneyState, op: tuple[object, ...], now: datetime) -> CommandResult | None:
    kind = op[0]
    active = state.active_reassessment
    if kind == "assess":
        trigger_intake = active is not None and active.trigger is ReassessmentTrigger.INTAKE
        right_kind = AssessmentKind.COMPREHENSIVE if trigger_intake else AssessmentKind.REASSESSMENT
        wrong = AssessmentKind.REASSESSMENT if trigger_intake else AssessmentKind.COMPREHENSIVE
        cmd = RecordAssessment(
            assessment_id=f"A{state.next_id}",
            kind=right_kind if op[2] else wrong,
            dimensions=op[1],  # type: ignore[arg-type]
            assessed_by=PRIMARY,
        )
        return commands.apply_record_assessment(state, cmd, now)
    if kind == "decide":
        rid = active.reassessment_id if active else "J-TEST-1.R999"
        decide = DecideTransition(
            reassessment_id=rid,
            decided_by=PHYSICIAN,
            accept=bool(op[1]),
            phase=op[2][0],  # type: ignore[index]
            loc_code=op[2][1],  # type: ignore[index]
            variance_reason="clinical judgement" if op[3] else None,
        )
        return commands.apply_decide(state, decide, now)
    if kind == "event":
        return episode.apply_report_event(
            state,
            ReportEvent(kind=op[1], reported_by=PRIMARY),  # type: ignore[arg-type]
            now,
        )
    if kind == "request":
        return commands.apply_request_reassessment(
            state, RequestReassessment(requested_by=PRIMARY, reason="team request"), now
        )
    if kind == "check_in":
        return episode.apply_record_check_in(state, RecordCheckIn(recorded_by=PRIMARY), now)
    if kind == "note":
        note = AddNote(text=str(op[1]), written_by=PRIMARY)
        result = episode.apply_add_note(state, note, now)
        added = state.outbox[-1]
        assert (added.kind, added.summary) == (EventKind.NOTE_ADDED, note.text)
        assert PRIMARY not in added.recipients
        assert set(added.recipients) == {m.member_id for m in state.care_team.members} - {PRIMARY}
        return result
    if kind == "discharge":
        return episode.apply_discharge(
            state,
            Discharge(discharged_by=PRIMARY, reason=op[1]),  # type: ignore[arg-type]
            now,
        )
    return None


def _advance(state: JourneyState, now: datetime, hours: int) -> datetime:
    """Advance time like the workflow does: wake at every deadline on the way."""
    end = now + timedelta(hours=hours)
    while (deadline := next_deadline(state)) is not None and deadline <= end:
        now = max(now, deadline)
        run_due_work(state, now)
        # Due work always moves the next deadline on, so the workflow never spins.
        following = next_deadline(state)
        assert following is None or following > now
    return end


def _expand(ops: list[tuple[object, ...]]) -> list[tuple[object, ...]]:
    """A cycle is a request (refused while one is open), an assessment, a decision."""
    out: list[tuple[object, ...]] = []
    for op in ops:
        if op[0] == "cycle":
            out += [("request", 0), ("assess", op[1], True), ("decide", *op[2:])]
        elif op[0] != "discharge" or op[2] == 0:
            out.append(op)
    return out


def _run(ops: list[tuple[object, ...]]) -> tuple[JourneyState, list[str]]:
    ops = _expand(ops)
    now = T0
    state = commands.start(start_command(), now)
    rejected: list[str] = []
    for op in ops:
        if op[0] == "wait":
            now = _advance(state, now, int(op[1]))  # type: ignore[call-overload]
            continue
        before = state.model_dump()
        try:
            _apply(state, op, now)
        except RuleViolation as violation:
            assert state.model_dump() == before, f"rejected {op[0]} changed the state"
            rejected.append(violation.code.value)
        now += timedelta(minutes=5)
    return state, rejected


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(op_st, min_size=3, max_size=40))
def test_no_command_sequence_reaches_a_state_the_machine_does_not_allow(
    ops: list[tuple[object, ...]],
) -> None:
    state, _ = _run(ops)
    segments = state.segments
    assert segments[0].phase is Phase.INTAKE
    for before, after in itertools.pairwise(segments):
        if after.phase.is_open:
            assert after.phase in allowed_targets(before.phase)
            assert (after.loc_code is not None) == after.phase.has_loc
        assert before.ended_at == after.effective_at
    assert sum(r.status.is_active for r in state.reassessments) <= 1
    assert [e.seq for e in state.outbox] == list(range(1, state.seq + 1))
    assert (state.phase, state.loc_code) == (segments[-1].phase, segments[-1].loc_code)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(op_st, min_size=3, max_size=40))
def test_every_phase_or_loc_change_has_a_recorded_decision(
    ops: list[tuple[object, ...]],
) -> None:
    state, _ = _run(ops)
    decisions = [
        r.decision
        for r in state.reassessments
        if r.status is ReassessmentStatus.COMPLETED and r.decision is not None
    ]
    for segment in state.segments[1:]:
        if not segment.phase.is_open:
            continue
        matching = [
            d
            for d in decisions
            if (d.phase, d.loc_code) == (segment.phase, segment.loc_code)
            and d.decided_at == segment.effective_at
        ]
        assert matching, f"segment {segment.index} has no decision"
        if not matching[0].follows_recommendation:
            assert matching[0].variance_reason


@settings(max_examples=200, deadline=None)
@given(st.lists(op_st, max_size=30))
def test_review_due_times_never_land_in_the_past(ops: list[tuple[object, ...]]) -> None:
    now = T0
    state = commands.start(start_command(), now)
    for op in _expand(ops):
        if op[0] == "wait":
            now = _advance(state, now, int(op[1]))  # type: ignore[call-overload]
            continue
        try:
            result = _apply(state, op, now)
        except RuleViolation:
            continue
        if op[0] == "decide" and result is not None and state.next_review_due is not None:
            assert state.next_review_due > now
        now += timedelta(minutes=5)
