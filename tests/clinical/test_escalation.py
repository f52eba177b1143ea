"""The escalation ladder: owner, supervisor, clinical director, each rung once per overdue task."""

from collections import Counter
from datetime import timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from clinical import commands, episode
from models.care import Role
from models.commands import ChangeCareTeam, CompleteTask
from models.journey import EventKind, Phase
from models.policy import Policy
from models.state import JourneyState
from models.work import TaskKind
from tests.builders import PRIMARY, SUPERVISOR, T0, TEAM_ROLES, policy, start_command, team
from tests.clinical.engine import events, move, run_until

H = timedelta(hours=1)
WITH_DIRECTOR = {**TEAM_ROLES, "cd-hill": Role.CLINICAL_DIRECTOR}


def _missed_check_in(pol: Policy | None = None) -> JourneyState:
    """In aftercare with the first check-in missed: an outreach task for the case manager."""
    state = commands.start(start_command(pol=pol), T0)
    episode.apply_change_care_team(
        state, ChangeCareTeam(changed_by=SUPERVISOR, care_team=team(roles=WITH_DIRECTOR),
                              reason="director joins"), T0)  # fmt: skip
    move(state, T0, Phase.TREATMENT, "2.1")
    move(state, T0 + H, Phase.AFTERCARE, None)
    run_until(state, T0 + timedelta(days=10, hours=2))
    return state


def _outreach(state: JourneyState) -> str:
    (task,) = [t for t in state.tasks if t.kind is TaskKind.OUTREACH]
    return task.task_id


def test_overdue_outreach_climbs_owner_supervisor_director_once_each() -> None:
    state = _missed_check_in()
    task_id = _outreach(state)
    due = next(t.due_at for t in state.tasks if t.task_id == task_id)
    run_until(state, due + timedelta(days=30))
    rungs = [e for e in events(state, EventKind.WORK_OVERDUE) if e.refs["task_id"] == task_id]
    assert [(e.occurred_at - due, e.recipients) for e in rungs] == [
        (timedelta(0), ["cm-diaz"]),
        (24 * H, [SUPERVISOR]),
        (72 * H, ["cd-hill"]),
    ]
    assert "Outreach overdue since" in rungs[0].summary


def test_closed_work_stops_climbing() -> None:
    state = _missed_check_in()
    task_id = _outreach(state)
    due = next(t.due_at for t in state.tasks if t.task_id == task_id)
    run_until(state, due + 2 * H)
    episode.apply_complete_task(state, CompleteTask(task_id=task_id, completed_by="cm-diaz"),
                                due + 3 * H)  # fmt: skip
    run_until(state, due + timedelta(days=30))
    about = [e for e in events(state, EventKind.WORK_OVERDUE) if e.refs["task_id"] == task_id]
    assert len(about) == 1  # the owner's rung came before the task was closed


def test_a_policy_without_a_ladder_keeps_the_single_escalation() -> None:
    legacy = policy().model_copy(update={"escalation_ladder": []})
    state = commands.start(start_command(pol=legacy), T0)
    run_until(state, T0 + timedelta(days=30))
    assert events(state, EventKind.WORK_OVERDUE) == []
    (overdue,) = events(state, EventKind.REASSESSMENT_OVERDUE)
    assert overdue.recipients == sorted([PRIMARY, SUPERVISOR])
    assert state.active_reassessment is not None
    assert state.active_reassessment.escalated


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(min_value=1, max_value=96), min_size=1, max_size=12))
def test_each_rung_fires_once_per_task_however_time_passes(gaps: list[int]) -> None:
    state = commands.start(start_command(), T0)
    now = T0
    for gap in gaps:
        now += timedelta(hours=gap)
        run_until(state, now)
    fired = Counter(
        (e.refs["task_id"], e.refs["rung"])
        for e in state.outbox
        if e.kind in (EventKind.REASSESSMENT_OVERDUE, EventKind.WORK_OVERDUE)
    )
    assert set(fired.values()) <= {1}
    ladder = policy().escalation_ladder
    for task in state.tasks:
        expected = sum(task.due_at + timedelta(hours=r.after_hours) <= now for r in ladder)
        assert task.escalation_rung == expected
