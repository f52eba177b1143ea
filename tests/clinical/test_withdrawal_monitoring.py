"""Withdrawal monitoring from the first hour of a monitored level, across level changes."""

from datetime import datetime, timedelta

from clinical import commands, measures
from clinical.timers import run_due_work
from models.clinical import AssessmentKind, ReassessmentTrigger, Substance
from models.commands import RecordAssessment, RecordInstrument, RequestReassessment
from models.journey import EventKind, Phase, Priority
from models.state import LEGACY_RULES, JourneyState
from models.work import TaskKind, TaskStatus
from tests.builders import PRIMARY, T0, ratings, start_command
from tests.clinical.engine import events, move, run_until

CIWA_MILD = [1, 1, 1, 1, 1, 0, 0, 0, 0, 0]  # 5
CIWA_MODERATE = [2, 2, 1, 1, 1, 1, 1, 1, 1, 1]  # 12
CIWA_SEVERE = [3, 3, 3, 2, 2, 2, 2, 1, 1, 0]  # 19
COWS_MODERATELY_SEVERE = [4, 4, 5, 5, 4, 2, 1, 0, 0, 0, 0]  # 25
H = timedelta(hours=1)


def _admitted(loc: str, *substances: Substance) -> JourneyState:
    state = commands.start(start_command(), T0)
    if substances:
        commands.apply_record_assessment(
            state,
            RecordAssessment(
                assessment_id="A1",
                kind=AssessmentKind.COMPREHENSIVE,
                dimensions=ratings(d1=3),
                assessed_by=PRIMARY,
                substances=list(substances),
            ),
            T0,
        )
    move(state, T0, Phase.WITHDRAWAL_MANAGEMENT, loc)
    return state


def _record(state: JourneyState, code: str, answers: list[int], now: datetime) -> None:
    measures.apply_record_instrument(
        state, RecordInstrument(code=code, answers=answers, recorded_by="rn-baker"), now
    )


def _collection(state: JourneyState) -> list[str]:
    return sorted(
        str(t.ref)
        for t in state.tasks
        if t.kind is TaskKind.COLLECT_INSTRUMENT and t.status is TaskStatus.OPEN
    )


def test_admission_to_4wm_with_no_score_is_watched_from_the_first_hour() -> None:
    state = _admitted("4-WM")
    # No substance recorded: both scales of the level are required, each due within 1 h.
    assert state.monitoring_due == {"ciwa-inpatient": T0 + H, "cows-inpatient": T0 + H}
    run_until(state, T0 + 2 * H + timedelta(minutes=1))
    assert _collection(state) == ["ciwa-inpatient", "cows-inpatient"]
    missed = events(state, EventKind.MONITORING_MISSED)
    assert len(missed) == 2
    assert all(e.priority is Priority.URGENT for e in missed)
    assert all("rn-baker" in e.recipients for e in missed)


def test_substances_recorded_at_assessment_choose_the_scales() -> None:
    alcohol = _admitted("3.7-WM", Substance.ALCOHOL)
    assert list(alcohol.monitoring_due) == ["ciwa-inpatient"]
    opioids = _admitted("3.7-WM", Substance.OPIOIDS)
    assert list(opioids.monitoring_due) == ["cows-inpatient"]
    both = _admitted("3.7-WM", Substance.SEDATIVES, Substance.OPIOIDS)
    assert sorted(both.monitoring_due) == ["ciwa-inpatient", "cows-inpatient"]
    # A substance no scale names never leaves the client unwatched: every scale runs.
    stimulants = _admitted("3.2-WM", Substance.STIMULANTS)
    assert sorted(stimulants.monitoring_due) == ["ciwa-inpatient", "cows-inpatient"]


def test_frequency_follows_the_score() -> None:
    state = _admitted("4-WM", Substance.ALCOHOL)
    _record(state, "CIWA-Ar", CIWA_MILD, T0 + H)
    assert state.monitoring_due["ciwa-inpatient"] == T0 + 9 * H  # mild: every 8 h
    _record(state, "CIWA-Ar", CIWA_MODERATE, T0 + 3 * H)
    assert state.monitoring_due["ciwa-inpatient"] == T0 + 5 * H  # first 24 h: every 2 h
    _record(state, "CIWA-Ar", CIWA_MODERATE, T0 + 30 * H)
    assert state.monitoring_due["ciwa-inpatient"] == T0 + 36 * H  # later: every 6 h


def test_reproduction_4wm_to_37wm_after_ciwa_19_keeps_the_schedule() -> None:
    """4-WM -> 3.7-WM after CIWA-Ar 19: checks stay due, and 12 h of silence alerts the team."""
    state = _admitted("4-WM")
    _record(state, "CIWA-Ar", CIWA_SEVERE, T0 + H)
    _record(state, "COWS", [0] * 11, T0 + H)
    move(state, T0 + 2 * H, Phase.WITHDRAWAL_MANAGEMENT, "3.7-WM")
    # Re-timed to the new level from the last score: severe in the first 24 h, every 2 h.
    assert state.monitoring_due["ciwa-inpatient"] == T0 + 3 * H
    assert "cows-inpatient" in state.monitoring_due
    run_until(state, T0 + 14 * H)
    missed = [e for e in events(state, EventKind.MONITORING_MISSED)
              if e.refs["rule_id"] == "ciwa-inpatient"]  # fmt: skip
    assert missed
    assert "ciwa-inpatient" in _collection(state)


def test_a_move_to_an_ambulatory_level_re_times_to_its_interval() -> None:
    state = _admitted("4-WM", Substance.ALCOHOL)
    _record(state, "CIWA-Ar", CIWA_MODERATE, T0 + H)
    assert state.monitoring_due == {"ciwa-inpatient": T0 + 3 * H}
    move(state, T0 + 2 * H, Phase.WITHDRAWAL_MANAGEMENT, "2-WM")
    assert state.monitoring_due == {"ciwa-ambulatory": T0 + 13 * H}


def test_a_move_before_the_first_check_never_delays_it() -> None:
    state = _admitted("4-WM", Substance.ALCOHOL)
    move(state, T0 + timedelta(minutes=30), Phase.WITHDRAWAL_MANAGEMENT, "2-WM")
    assert state.monitoring_due == {"ciwa-ambulatory": T0 + H}


def test_collection_work_closes_when_the_scale_is_recorded_at_the_new_level() -> None:
    state = _admitted("4-WM", Substance.ALCOHOL)
    run_until(state, T0 + 2 * H + timedelta(minutes=1))
    assert _collection(state) == ["ciwa-inpatient"]
    move(state, T0 + 3 * H, Phase.WITHDRAWAL_MANAGEMENT, "3.2-WM")
    assert _collection(state) == ["ciwa-inpatient"]  # still owed: the same scale
    _record(state, "CIWA-Ar", CIWA_MILD, T0 + 4 * H)
    assert _collection(state) == []


def test_only_leaving_withdrawal_management_ends_the_schedules() -> None:
    state = _admitted("3.7-WM")
    run_until(state, T0 + 2 * H + timedelta(minutes=1))
    assert _collection(state)
    move(state, T0 + 3 * H, Phase.TREATMENT, "3.5")
    assert state.monitoring_due == {}
    assert state.monitoring_since is None
    # The checks already missed stay owed (urgent work is never cancelled by the system).
    assert _collection(state) == ["ciwa-inpatient", "cows-inpatient"]
    run_until(state, T0 + 48 * H)
    assert len(events(state, EventKind.MONITORING_MISSED)) == 2


def test_severe_ciwa_at_32wm_opens_an_urgent_reassessment() -> None:
    state = _admitted("3.2-WM", Substance.ALCOHOL)
    _record(state, "CIWA-Ar", CIWA_SEVERE, T0 + H)
    active = state.active_reassessment
    assert active is not None
    assert (active.trigger, active.priority) == (ReassessmentTrigger.DATA_POINT, Priority.URGENT)
    assert active.due_at == T0 + 5 * H


def test_severe_ciwa_at_37wm_is_medically_monitored_and_opens_none() -> None:
    state = _admitted("3.7-WM", Substance.ALCOHOL)
    _record(state, "CIWA-Ar", CIWA_SEVERE, T0 + H)
    assert state.active_reassessment is None


def test_cows_moderately_severe_opens_an_urgent_reassessment_without_a_rise() -> None:
    state = _admitted("3.7-WM", Substance.OPIOIDS)
    _record(state, "COWS", COWS_MODERATELY_SEVERE, T0 + H)  # the first score: no rise
    active = state.active_reassessment
    assert active is not None
    assert active.reason == "cows-moderately-severe"
    assert active.priority is Priority.URGENT


def test_journeys_under_the_old_rules_keep_the_old_schedule() -> None:
    state = commands.start(start_command(), T0)
    state.rules = LEGACY_RULES
    move(state, T0, Phase.WITHDRAWAL_MANAGEMENT, "4-WM")
    assert state.monitoring_due == {}
    assert not run_due_work(state, T0 + 10 * H)
    _record(state, "CIWA-Ar", CIWA_MODERATE, T0 + 10 * H)
    assert state.monitoring_due == {"ciwa-inpatient": T0 + 18 * H}  # every_hours, not the score
    move(state, T0 + 11 * H, Phase.WITHDRAWAL_MANAGEMENT, "3.7-WM")
    assert state.monitoring_due == {}


def test_a_reassessment_naming_substances_later_narrows_the_scales() -> None:
    state = _admitted("4-WM")
    assert sorted(state.monitoring_due) == ["ciwa-inpatient", "cows-inpatient"]
    commands.apply_request_reassessment(
        state, RequestReassessment(requested_by=PRIMARY, reason="substance history"), T0 + H / 2
    )
    commands.apply_record_assessment(
        state,
        RecordAssessment(
            assessment_id="A9",
            kind=AssessmentKind.REASSESSMENT,
            dimensions=ratings(d1=4),
            assessed_by=PRIMARY,
            substances=[Substance.OPIOIDS],
        ),
        T0 + H / 2,
    )
    assert list(state.monitoring_due) == ["cows-inpatient"]
