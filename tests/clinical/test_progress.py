"""Milestones (days in recovery, goals, response, remission) and aftercare re-entry rules."""

from collections import Counter
from datetime import datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clinical import commands, episode, measures
from clinical.progress import progress_view
from clinical.schedule import check_in_due
from models.clinical import ReassessmentTrigger
from models.commands import CommandResult, RecordCheckIn, RecordInstrument, ReportEvent
from models.journey import EventKind, Phase
from models.plan import GoalStatus, RecoverySupport
from models.policy import ClinicalEventKind, OutcomeRule, ProgressPolicy
from models.progress import MilestoneKind
from models.state import JourneyState
from models.work import TaskKind, TaskStatus
from tests.builders import PRIMARY, T0, policy, start_command
from tests.clinical.engine import events, move, revise, run_until

DAY = timedelta(days=1)


def _in_treatment() -> JourneyState:
    state = commands.start(start_command(), T0)
    move(state, T0, Phase.TREATMENT, "2.1")
    return state


def _phq9(total: int) -> list[int]:
    """PHQ-9 answers adding up to ``total`` with item 9 at 0 (no safety flag)."""
    answers = [0] * 9
    for i in range(8):
        answers[i] = min(3, total - sum(answers))
    assert sum(answers) == total
    return answers


def _record_phq9(state: JourneyState, total: int, at: datetime) -> None:
    measures.apply_record_instrument(
        state, RecordInstrument(code="PHQ-9", answers=_phq9(total), recorded_by=PRIMARY), at
    )


def _milestones(state: JourneyState, kind: MilestoneKind) -> list[str]:
    return [m.detail for m in state.milestones if m.kind is kind]


def test_days_in_recovery_milestones_notify_the_team_once_and_restart_after_a_relapse() -> None:
    state = _in_treatment()
    run_until(state, T0 + 95 * DAY)
    assert _milestones(state, MilestoneKind.DAYS_IN_RECOVERY) == ["30", "60", "90"]
    first = events(state, EventKind.MILESTONE_REACHED)[0]
    assert first.occurred_at == T0 + 30 * DAY
    assert first.summary == "Milestone: 30 days in recovery"
    assert {PRIMARY, "cm-diaz", "ps-evans", "rc-fox"} <= set(first.recipients)
    assert "dr-ames" not in first.recipients

    relapse_at = T0 + 100 * DAY
    episode.apply_report_event(
        state, ReportEvent(kind=ClinicalEventKind.RELAPSE, reported_by=PRIMARY), relapse_at
    )
    view = progress_view(state, relapse_at + 10 * DAY)
    assert view.recovery_since == relapse_at
    assert view.days_in_recovery == 10
    assert view.next_recovery_milestone_days == 30
    run_until(state, relapse_at + 31 * DAY)
    assert _milestones(state, MilestoneKind.DAYS_IN_RECOVERY) == ["30", "60", "90", "30"]
    assert len(events(state, EventKind.MILESTONE_REACHED)) == 4


def test_phq9_response_and_remission_are_measured_from_the_first_score() -> None:
    state = _in_treatment()
    _record_phq9(state, 18, T0 + DAY)
    _record_phq9(state, 10, T0 + 15 * DAY)  # 44 % below: not yet a response
    assert _milestones(state, MilestoneKind.RESPONSE) == []
    _record_phq9(state, 9, T0 + 29 * DAY)  # 50 % below
    assert _milestones(state, MilestoneKind.RESPONSE) == ["PHQ-9"]
    _record_phq9(state, 4, T0 + 43 * DAY)
    _record_phq9(state, 12, T0 + 57 * DAY)
    _record_phq9(state, 3, T0 + 71 * DAY)  # remission again: not a second milestone
    assert _milestones(state, MilestoneKind.RESPONSE) == ["PHQ-9"]
    assert _milestones(state, MilestoneKind.REMISSION) == ["PHQ-9"]

    (trend,) = progress_view(state, T0 + 72 * DAY).trends
    assert (trend.code, trend.baseline, trend.latest) == ("PHQ-9", 18, 3)
    assert [p[1] for p in trend.points] == [18, 10, 9, 4, 12, 3]
    assert trend.change_percent == -83.3
    assert trend.response is True
    assert trend.remission is True


def test_a_low_first_score_is_not_a_remission() -> None:
    state = _in_treatment()
    _record_phq9(state, 3, T0 + DAY)
    _record_phq9(state, 0, T0 + 2 * DAY)
    assert _milestones(state, MilestoneKind.REMISSION) == []
    assert _milestones(state, MilestoneKind.RESPONSE) == []  # a drop from 3 is not a response


def test_a_first_phq9_of_1_reports_neither_remission_nor_response() -> None:
    # Reproduction (issue 11, item 6): `journeys progress --json` said remission: true.
    state = _in_treatment()
    _record_phq9(state, 1, T0 + DAY)
    _record_phq9(state, 0, T0 + 2 * DAY)
    (trend,) = progress_view(state, T0 + 3 * DAY).trends
    assert (trend.baseline, trend.latest) == (1, 0)
    assert (trend.response, trend.remission) == (None, None)
    assert trend.outcome_note == (
        "first score 1 is below 5: response and remission are not measured"
    )


@pytest.mark.parametrize(
    ("first", "then", "measured"),
    [(0, 0, False), (4, 0, False), (5, 2, True), (6, 3, True), (24, 4, True)],
)
def test_response_and_remission_apply_from_a_first_score_of_5(
    first: int, then: int, measured: bool
) -> None:
    state = _in_treatment()
    _record_phq9(state, first, T0 + DAY)
    _record_phq9(state, then, T0 + 2 * DAY)
    (trend,) = progress_view(state, T0 + 3 * DAY).trends
    expected = (True, True, None) if measured else (None, None, trend.outcome_note)
    assert (trend.response, trend.remission, trend.outcome_note) == expected
    assert (trend.outcome_note is None) is measured
    reached = {m.kind for m in state.milestones}
    assert ({MilestoneKind.RESPONSE, MilestoneKind.REMISSION} <= reached) is measured


def test_a_first_score_at_5_that_stays_is_measured_as_no_remission() -> None:
    state = _in_treatment()
    _record_phq9(state, 5, T0 + DAY)
    (trend,) = progress_view(state, T0 + 2 * DAY).trends
    assert (trend.response, trend.remission, trend.outcome_note) == (False, False, None)


def test_an_outcome_without_a_remission_cut_off_needs_a_first_score_above_0() -> None:
    pol = policy()
    outcomes = [OutcomeRule(instrument="PHQ-9", response_drop_percent=50)]
    pol = pol.model_copy(update={"progress": ProgressPolicy(outcomes=outcomes)})
    state = commands.start(start_command(pol=pol), T0)
    move(state, T0, Phase.TREATMENT, "2.1")
    _record_phq9(state, 0, T0 + DAY)
    (trend,) = progress_view(state, T0 + 2 * DAY).trends
    assert (trend.response, trend.remission) == (None, None)
    assert trend.outcome_note == "first score 0: no response can be measured"


@settings(max_examples=200, deadline=None)
@given(totals=st.lists(st.integers(min_value=0, max_value=24), min_size=1, max_size=8))
def test_progress_claims_response_and_remission_only_from_a_first_score_of_5(
    totals: list[int],
) -> None:
    state = _in_treatment()
    for n, total in enumerate(totals, start=1):
        _record_phq9(state, total, T0 + n * DAY)
    (trend,) = progress_view(state, T0 + 30 * DAY).trends
    first, latest = totals[0], totals[-1]
    applies = first >= 5
    assert trend.remission == (latest < 5 if applies else None)
    responded = any(t * 2 <= first for t in totals[1:])
    assert trend.response == (responded if applies else None)
    kinds = [m.kind for m in state.milestones]
    assert (MilestoneKind.REMISSION in kinds) == (applies and any(t < 5 for t in totals))
    assert (MilestoneKind.RESPONSE in kinds) == (applies and responded)


def test_goal_status_over_time_and_goals_achieved_once() -> None:
    state = _in_treatment()
    revise(state, T0 + DAY, {"g1": GoalStatus.ACTIVE, "g2": GoalStatus.ACTIVE})
    revise(state, T0 + 20 * DAY, {"g1": GoalStatus.ACHIEVED, "g2": GoalStatus.ACTIVE})
    revise(state, T0 + 30 * DAY, {"g1": GoalStatus.ACTIVE, "g2": GoalStatus.REVISED})
    revise(state, T0 + 40 * DAY, {"g1": GoalStatus.ACHIEVED, "g2": GoalStatus.ACHIEVED})
    assert _milestones(state, MilestoneKind.GOAL_ACHIEVED) == ["g1", "g2"]

    view = progress_view(state, T0 + 41 * DAY)
    g1 = next(g for g in view.goals if g.goal_id == "g1")
    assert [(h.plan_version, h.status) for h in g1.history] == [
        (1, GoalStatus.ACTIVE), (2, GoalStatus.ACHIEVED), (3, GoalStatus.ACTIVE),
        (4, GoalStatus.ACHIEVED),
    ]  # fmt: skip
    assert view.goals_achieved == 2


def _in_aftercare() -> JourneyState:
    state = _in_treatment()
    move(state, T0 + DAY, Phase.AFTERCARE, None)
    return state


def _check_in(
    state: JourneyState,
    supports_attended: list[RecoverySupport] | None = None,
    substance_use: bool = False,
) -> CommandResult:
    assert state.aftercare is not None
    due = check_in_due(state.policy, state.aftercare)
    assert due is not None
    cmd = RecordCheckIn(
        recorded_by="cm-diaz",
        supports_attended=supports_attended or [],
        substance_use=substance_use,
    )
    return episode.apply_record_check_in(state, cmd, due)


def test_check_ins_count_recovery_supports() -> None:
    state = _in_aftercare()
    _check_in(state, supports_attended=[RecoverySupport.MUTUAL_HELP_MEETINGS,
                                        RecoverySupport.PEER_SUPPORT])  # fmt: skip
    _check_in(state, supports_attended=[RecoverySupport.MUTUAL_HELP_MEETINGS])
    view = progress_view(state, T0 + 30 * DAY)
    assert view.recovery_supports_attended == {"mutual_help_meetings": 2, "peer_support": 1}


def test_use_reported_at_a_check_in_is_a_relapse_that_can_lead_back_into_treatment() -> None:
    state = _in_aftercare()
    result = _check_in(state, substance_use=True)
    assert result.message == "check-in recorded; relapse reported"
    active = state.active_reassessment
    assert active is not None
    assert active.trigger is ReassessmentTrigger.EVENT
    assert state.recovery_since is not None
    assert state.recovery_since > T0
    move(state, state.recovery_since, Phase.TREATMENT, "2.1")  # re-entry
    assert state.phase is Phase.TREATMENT
    assert state.aftercare is None


def test_check_ins_missed_in_a_row_open_a_reassessment_once() -> None:
    state = _in_aftercare()
    assert state.aftercare is not None
    start = state.aftercare.started_at
    run_until(state, start + timedelta(days=7 + 3, minutes=1))  # first check-in missed
    assert state.active_reassessment is None
    run_until(state, start + timedelta(days=14 + 3, minutes=1))  # second in a row
    active = state.active_reassessment
    assert active is not None
    assert active.trigger is ReassessmentTrigger.DATA_POINT_MISSING
    assert active.reason == "2 aftercare check-ins missed in a row"
    outreach = [t for t in state.tasks if t.kind is TaskKind.OUTREACH]
    assert len(outreach) == 2
    assert all(t.status is TaskStatus.OPEN for t in outreach)


def test_a_check_in_resets_the_run_of_misses() -> None:
    state = _in_aftercare()
    assert state.aftercare is not None
    start = state.aftercare.started_at
    run_until(state, start + timedelta(days=10, minutes=1))  # day-7 check-in missed
    _check_in(state)  # day 14
    run_until(state, start + timedelta(days=33, minutes=1))  # day-30 check-in missed
    assert state.active_reassessment is None
    assert state.aftercare.missed == 2
    assert state.aftercare.missed_in_row == 1


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.integers(min_value=1, max_value=60),
            st.sampled_from(["phq9", "relapse", "achieve", "wait"]),
            st.integers(min_value=0, max_value=24),
        ),
        max_size=20,
    )
)
def test_every_milestone_fires_once_per_occurrence(steps: list[tuple[int, str, int]]) -> None:
    state = _in_treatment()
    now = T0
    goal = 0
    for gap, kind, value in steps:
        now += timedelta(days=gap)
        run_until(state, now)
        if kind == "phq9":
            _record_phq9(state, value, now)
        elif kind == "relapse":
            episode.apply_report_event(
                state, ReportEvent(kind=ClinicalEventKind.RELAPSE, reported_by=PRIMARY), now
            )
        elif kind == "achieve":
            goal += 1
            revise(state, now, {f"g{goal}": GoalStatus.ACHIEVED})
            revise(state, now, {f"g{goal}": GoalStatus.ACHIEVED})  # unchanged: no second one
    keys = [m.key for m in state.milestones]
    assert len(keys) == len(set(keys))
    reached = events(state, EventKind.MILESTONE_REACHED)
    assert len(reached) == len(state.milestones)
    assert Counter(e.refs["milestone"] for e in reached) == Counter(
        m.kind.value for m in state.milestones
    )
    assert len(_milestones(state, MilestoneKind.GOAL_ACHIEVED)) == goal
    # Every reached day count really had passed since its stretch began.
    for m in state.milestones:
        if m.kind is MilestoneKind.DAYS_IN_RECOVERY:
            since = m.key.split(":", 2)[2]
            assert (m.reached_at - state.started_at.fromisoformat(since)).days == int(m.detail)
