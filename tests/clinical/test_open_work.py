"""Open work is never cancelled by the system: completion waits, discharge needs dispositions."""

from datetime import datetime, timedelta

import pytest

from clinical import commands, episode, journal, measures
from clinical.errors import RuleViolation
from clinical.schedule import check_in_window_opens
from models.clinical import ReassessmentStatus
from models.commands import (
    CompleteTask,
    Discharge,
    RecordCheckIn,
    RecordInstrument,
    ReportEvent,
    WorkDisposition,
)
from models.errors import RejectionCode
from models.journey import DischargeReason, EventKind, Phase, Priority
from models.policy import ClinicalEventKind
from models.state import BOUNDED_WORK_RULES, LEGACY_RULES, SAFETY_RULES, JourneyState
from models.work import Task, TaskKind, TaskStatus
from tests.builders import PRIMARY, SUPERVISOR, T0, start_command
from tests.clinical.engine import events, move, run_until

NURSE = "rn-baker"
SELF_HARM = [0, 0, 0, 0, 0, 0, 0, 0, 2]


def _phase(state: JourneyState) -> Phase:
    return state.phase


def _status(task: Task) -> TaskStatus:
    return task.status


def _in_aftercare() -> tuple[JourneyState, datetime]:
    state = commands.start(start_command(), T0)
    move(state, T0, Phase.TREATMENT, "1")
    start = T0 + timedelta(days=1)
    move(state, start, Phase.AFTERCARE, None)
    return state, start


def _check_ins_until(state: JourneyState, until: datetime) -> datetime:
    """Record every check-in whose window opens before ``until``, timers running between."""
    now = state.started_at
    while state.aftercare is not None:
        opens = check_in_window_opens(state.policy, state.aftercare)
        if opens is None or opens > until:
            break
        run_until(state, opens)
        now = opens
        episode.apply_record_check_in(state, RecordCheckIn(recorded_by=PRIMARY), now)
    return now


def _phq9_self_harm(state: JourneyState, now: datetime) -> Task:
    measures.apply_record_instrument(
        state, RecordInstrument(code="PHQ-9", answers=SELF_HARM, recorded_by=PRIMARY), now
    )
    follow_up = [t for t in state.tasks if t.kind is TaskKind.SAFETY_FOLLOW_UP]
    assert len(follow_up) == 1
    return follow_up[0]


def test_self_harm_follow_up_opened_on_aftercare_day_269_holds_completion() -> None:
    """Reproduction: PHQ-9 item 9 = 2 on aftercare day 269; the schedule ends on day 270."""
    state, start = _in_aftercare()
    _check_ins_until(state, start + timedelta(days=269))
    day_269 = start + timedelta(days=269)
    run_until(state, day_269)
    follow_up = _phq9_self_harm(state, day_269)

    run_until(state, start + timedelta(days=275))

    assert state.phase is Phase.AFTERCARE
    assert follow_up.status is TaskStatus.OPEN
    assert state.aftercare is not None
    assert state.aftercare.completion_held
    held = events(state, EventKind.COMPLETION_HELD)
    assert len(held) == 1
    assert follow_up.task_id in held[0].summary
    # The follow-up kept climbing its ladder while completion waited: all three rungs.
    overdue = [e for e in events(state, EventKind.WORK_OVERDUE) if e.refs["task_id"] ==
               follow_up.task_id]  # fmt: skip
    assert [e.refs["rung"] for e in overdue] == ["1", "2", "3"]
    assert not events(state, EventKind.JOURNEY_COMPLETED)

    done_at = start + timedelta(days=276)
    episode.apply_complete_task(
        state, CompleteTask(task_id=follow_up.task_id, completed_by=PRIMARY), done_at
    )
    run_until(state, done_at)
    # Read afresh: the commands above changed both (mypy narrowed them to earlier values).
    assert _phase(state) is Phase.COMPLETED
    assert _status(follow_up) is TaskStatus.DONE
    assert len(events(state, EventKind.JOURNEY_COMPLETED)) == 1


def test_completion_waits_for_an_open_reassessment_and_outreach() -> None:
    state, start = _in_aftercare()
    # No check-ins at all: every missed one opens outreach work, which must be done first.
    run_until(state, start + timedelta(days=300))
    assert state.phase is Phase.AFTERCARE
    outreach = [t for t in state.tasks if t.status is TaskStatus.OPEN]
    assert outreach
    assert state.active_reassessment is not None
    assert state.aftercare is not None
    assert state.aftercare.completion_held


def test_completion_happens_at_once_when_nothing_is_open() -> None:
    state, start = _in_aftercare()
    _check_ins_until(state, start + timedelta(days=300))
    run_until(state, start + timedelta(days=271))
    assert state.phase is Phase.COMPLETED
    assert not events(state, EventKind.COMPLETION_HELD)


def test_legacy_journeys_keep_completing_as_recorded() -> None:
    """A journey recorded under the old rules replays the old completion (its history says so)."""
    state, start = _in_aftercare()
    state.rules = LEGACY_RULES
    _check_ins_until(state, start + timedelta(days=269))
    day_269 = start + timedelta(days=269)
    run_until(state, day_269)
    follow_up = _phq9_self_harm(state, day_269)
    run_until(state, start + timedelta(days=271))
    assert state.phase is Phase.COMPLETED
    assert follow_up.status is TaskStatus.CANCELLED


def _with_urgent_work() -> tuple[JourneyState, datetime, Task, str]:
    state = commands.start(start_command(), T0)
    move(state, T0, Phase.TREATMENT, "3.5")
    now = T0 + timedelta(days=1)
    follow_up = _phq9_self_harm(state, now)
    episode.apply_report_event(
        state, ReportEvent(kind=ClinicalEventKind.CRISIS, reported_by=PRIMARY), now
    )
    active = state.active_reassessment
    assert active is not None
    return state, now, follow_up, active.reassessment_id


def test_discharge_with_open_urgent_work_is_refused_and_changes_nothing() -> None:
    state, now, follow_up, reassessment = _with_urgent_work()
    before = state.model_copy(deep=True)
    with pytest.raises(RuleViolation) as refused:
        episode.apply_discharge(
            state, Discharge(discharged_by=PRIMARY, reason=DischargeReason.AGAINST_ADVICE), now
        )
    assert refused.value.code is RejectionCode.OPEN_URGENT_WORK
    assert follow_up.task_id in refused.value.message
    assert reassessment in refused.value.message
    assert state == before

    # One disposition is not enough.
    partial = [WorkDisposition(item_id=follow_up.task_id, hand_to=NURSE)]
    with pytest.raises(RuleViolation) as still:
        episode.apply_discharge(
            state,
            Discharge(discharged_by=PRIMARY, reason=DischargeReason.OTHER, dispositions=partial),
            now,
        )
    assert still.value.code is RejectionCode.OPEN_URGENT_WORK
    assert state == before


@pytest.mark.parametrize(
    ("item", "hand_to", "code"),
    [
        ("J-TEST-1.T999", None, "not open work"),
        ("follow-up", "someone-else", "not on the care team"),
    ],
)
def test_invalid_dispositions_are_refused(item: str, hand_to: str | None, code: str) -> None:
    state, now, follow_up, reassessment = _with_urgent_work()
    item = follow_up.task_id if item == "follow-up" else item
    bad = WorkDisposition(
        item_id=item, hand_to=hand_to, close_reason=None if hand_to else "no longer needed"
    )
    good = WorkDisposition(item_id=reassessment, close_reason="seen in the emergency room")
    before = state.model_copy(deep=True)
    with pytest.raises(RuleViolation) as refused:
        episode.apply_discharge(
            state,
            Discharge(discharged_by=PRIMARY, reason=DischargeReason.OTHER,
                      dispositions=[bad, good]),
            now,
        )  # fmt: skip
    assert refused.value.code is RejectionCode.INVALID_DISPOSITION
    assert code in refused.value.message
    assert state == before


def test_an_item_named_twice_is_refused() -> None:
    state, now, follow_up, reassessment = _with_urgent_work()
    twice = [
        WorkDisposition(item_id=follow_up.task_id, hand_to=NURSE),
        WorkDisposition(item_id=follow_up.task_id, close_reason="duplicate"),
        WorkDisposition(item_id=reassessment, close_reason="seen"),
    ]
    with pytest.raises(RuleViolation, match="named twice"):
        episode.apply_discharge(
            state, Discharge(discharged_by=PRIMARY, reason=DischargeReason.OTHER,
                             dispositions=twice), now,
        )  # fmt: skip


def test_discharge_hands_over_and_closes_with_a_record_and_cancels_routine_work() -> None:
    state, now, follow_up, reassessment = _with_urgent_work()
    # Routine work: a missed monitoring-free outreach is not possible here; a plan review is.
    routine = [t for t in state.tasks if t.status is TaskStatus.OPEN
               and t.task_id != follow_up.task_id and t.ref != reassessment]  # fmt: skip
    dispositions = [
        WorkDisposition(item_id=follow_up.task_id, hand_to=NURSE),
        WorkDisposition(item_id=reassessment, close_reason="admitted to hospital; seen there"),
    ]
    episode.apply_discharge(
        state,
        Discharge(
            discharged_by=PRIMARY, reason=DischargeReason.TRANSFERRED, dispositions=dispositions
        ),
        now,
    )
    assert state.phase is Phase.DISCHARGED
    # Handed over: still open, now the nurse's, and it outlives the journey.
    assert follow_up.status is TaskStatus.OPEN
    assert follow_up.owner == NURSE
    assert follow_up.handed_over
    closed = next(r for r in state.reassessments if r.reassessment_id == reassessment)
    assert closed.status is ReassessmentStatus.CANCELLED
    handed = events(state, EventKind.WORK_HANDED_OVER)
    assert len(handed) == 1
    assert NURSE in handed[0].recipients
    assert SUPERVISOR in handed[0].recipients
    closed_events = events(state, EventKind.WORK_CLOSED)
    assert len(closed_events) == 1
    assert "admitted to hospital" in closed_events[0].summary
    discharged = events(state, EventKind.JOURNEY_DISCHARGED)[0]
    assert all(t.status is TaskStatus.CANCELLED for t in routine)
    for task in routine:
        assert task.task_id in discharged.refs["cancelled"]

    # The handed-over follow-up keeps escalating after discharge, then is completed.
    run_until(state, now + timedelta(days=5))
    overdue = events(state, EventKind.WORK_OVERDUE)
    assert [e.refs["rung"] for e in overdue if e.refs["task_id"] == follow_up.task_id] == [
        "1", "2", "3",
    ]  # fmt: skip
    episode.apply_complete_task(
        state, CompleteTask(task_id=follow_up.task_id, completed_by=NURSE), now + timedelta(6)
    )
    assert _status(follow_up) is TaskStatus.DONE
    assert not [t for t in state.tasks if t.status is TaskStatus.OPEN]


def test_a_handed_over_reassessment_becomes_handover_work_for_the_member() -> None:
    state, now, follow_up, reassessment = _with_urgent_work()
    episode.apply_discharge(
        state,
        Discharge(
            discharged_by=PRIMARY,
            reason=DischargeReason.AGAINST_ADVICE,
            dispositions=[
                WorkDisposition(item_id=follow_up.task_id, close_reason="client reached"),
                WorkDisposition(item_id=reassessment, hand_to="dr-ames"),
            ],
        ),
        now,
    )
    handover = [t for t in state.tasks if t.kind is TaskKind.HANDOVER]
    assert len(handover) == 1
    assert handover[0].owner == "dr-ames"
    assert handover[0].ref == reassessment
    assert handover[0].status is TaskStatus.OPEN
    assert follow_up.status is TaskStatus.CANCELLED


def test_other_commands_stay_refused_after_discharge_with_handed_over_work() -> None:
    state, now, follow_up, reassessment = _with_urgent_work()
    episode.apply_discharge(
        state,
        Discharge(
            discharged_by=PRIMARY,
            reason=DischargeReason.OTHER,
            dispositions=[
                WorkDisposition(item_id=follow_up.task_id, hand_to=NURSE),
                WorkDisposition(item_id=reassessment, close_reason="seen"),
            ],
        ),
        now,
    )
    with pytest.raises(RuleViolation) as refused:
        episode.apply_report_event(
            state, ReportEvent(kind=ClinicalEventKind.RELAPSE, reported_by=PRIMARY), now
        )
    assert refused.value.code is RejectionCode.JOURNEY_CLOSED


def test_routine_only_work_is_cancelled_by_discharge_without_dispositions() -> None:
    state = commands.start(start_command(), T0)
    move(state, T0, Phase.TREATMENT, "3.5")
    episode.apply_report_event(
        state,
        ReportEvent(kind=ClinicalEventKind.POSITIVE_SCREEN, reported_by=PRIMARY),
        T0 + timedelta(hours=1),
    )
    open_before = [t for t in state.tasks if t.status is TaskStatus.OPEN]
    assert open_before
    episode.apply_discharge(
        state,
        Discharge(discharged_by=SUPERVISOR, reason=DischargeReason.ADMINISTRATIVE),
        T0 + timedelta(hours=2),
    )
    assert all(t.status is TaskStatus.CANCELLED for t in open_before)
    assert "cancelled" in events(state, EventKind.JOURNEY_DISCHARGED)[0].refs


def test_the_longest_ids_and_reasons_never_break_an_event() -> None:
    """Forty-character journey ids, many open items and 500-character reasons: events are cut
    to the summary limit instead of failing the journey."""
    long_id = "J" * 40
    state = commands.start(start_command(long_id), T0)
    # Under the rules before bounded open work each firing stacks a task of its own: the most
    # open items an event can name (journeys on those rules still run).
    state.rules = SAFETY_RULES
    move(state, T0, Phase.TREATMENT, "1")
    start = T0 + timedelta(days=1)
    move(state, start, Phase.AFTERCARE, None)
    for hour in range(12):
        _phq9_self_harm_any(state, start + timedelta(hours=hour))
    _check_ins_until(state, start + timedelta(days=300))
    run_until(state, start + timedelta(days=271))
    held = events(state, EventKind.COMPLETION_HELD)
    assert len(held) == 1
    assert len(held[0].summary) == 500  # cut, not refused
    assert held[0].refs["waiting_on"].endswith("and 2 more")  # past ten ids, the rest counted
    urgent = journal.urgent_open_work(state)
    episode.apply_discharge(
        state,
        Discharge(
            discharged_by=PRIMARY,
            reason=DischargeReason.OTHER,
            dispositions=[WorkDisposition(item_id=i, close_reason="x" * 500) for i in urgent],
        ),
        start + timedelta(days=272),
    )
    closed = events(state, EventKind.WORK_CLOSED)
    assert len(closed) == len(urgent)
    assert all(len(e.summary) == 500 for e in closed)


def _phq9_self_harm_any(state: JourneyState, now: datetime) -> None:
    measures.apply_record_instrument(
        state, RecordInstrument(code="PHQ-9", answers=SELF_HARM, recorded_by=PRIMARY), now
    )


def test_a_trigger_firing_again_tightens_its_open_follow_up_instead_of_stacking() -> None:
    """Bounded open work: twelve self-harm flags make one open safety follow-up, due by the
    first firing's time, and every firing is still reported to the team."""
    state = commands.start(start_command(), T0)
    assert state.rules == BOUNDED_WORK_RULES
    move(state, T0, Phase.TREATMENT, "1")
    start = T0 + timedelta(days=1)
    for hour in range(12):
        _phq9_self_harm_any(state, start + timedelta(hours=hour))
    follow_ups = [t for t in state.tasks if t.kind is TaskKind.SAFETY_FOLLOW_UP]
    assert len(follow_ups) == 1
    assert follow_ups[0].status is TaskStatus.OPEN
    assert follow_ups[0].priority is Priority.URGENT
    assert follow_ups[0].due_at <= start + timedelta(hours=24)
    fired = events(state, EventKind.TRIGGER_FIRED)
    assert len(fired) == 12
    assert {e.refs["opened"] for e in fired} == {follow_ups[0].task_id}
    # Once done, the next flag opens a new one.
    episode.apply_complete_task(
        state, CompleteTask(task_id=follow_ups[0].task_id, completed_by=PRIMARY),
        start + timedelta(hours=13),
    )  # fmt: skip
    _phq9_self_harm_any(state, start + timedelta(hours=14))
    assert len([t for t in journal.open_tasks(state) if t.kind is TaskKind.SAFETY_FOLLOW_UP]) == 1
