"""Plan reviews per level of care: due times from policy, reminders, overdue notices, signatures."""

from datetime import datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clinical import commands, episode, migration
from clinical.errors import RuleViolation
from clinical.timers import next_deadline, run_due_work
from models.commands import CompleteTask, MigratePolicy
from models.journey import EventKind, Phase, Priority
from models.plan import Signer
from models.state import JourneyState
from models.work import Task, TaskKind, TaskStatus
from tests.builders import PRIMARY, SUPERVISOR, T0, policy, start_command
from tests.clinical.engine import events, move, revise, run_until, sign

H = timedelta(hours=1)


def _plan_tasks(state: JourneyState, status: TaskStatus | None = None) -> list[Task]:
    return [
        t
        for t in state.tasks
        if t.kind is TaskKind.PLAN_REVIEW and (status is None or t.status is status)
    ]


def _journey_at(loc: str, phase: Phase = Phase.TREATMENT) -> JourneyState:
    state = commands.start(start_command(), T0)
    move(state, T0, phase, loc)
    return state


def test_initial_plan_is_due_per_level_of_care() -> None:
    # CLINICAL.md: 24 h at 3.7, 3.7-WM, 3.2-WM; 48 h at 3.5; 7 days at 3.3 and 3.1.
    expected = {"3.7": 24, "3.5": 48, "3.3": 168, "3.1": 168, "2.1": 504}
    for loc, hours in expected.items():
        state = _journey_at(loc)
        review = state.plan_review
        assert review is not None, loc
        assert review.initial, loc
        assert review.due_at == T0 + timedelta(hours=hours), loc
        (task,) = _plan_tasks(state, TaskStatus.OPEN)
        assert task.owner == PRIMARY
        assert task.due_at == review.due_at
    for loc in ("3.7-WM", "3.2-WM"):
        state = _journey_at(loc, Phase.WITHDRAWAL_MANAGEMENT)
        assert state.plan_review is not None
        assert state.plan_review.due_at == T0 + 24 * H


def test_unsigned_plan_is_reminded_once_then_reported_overdue_once() -> None:
    state = _journey_at("3.5")
    revise(state, T0 + H)
    sign(state, T0 + 2 * H, Signer.CLINICIAN)  # the client has not signed yet

    run_until(state, T0 + 23 * H)
    assert events(state, EventKind.PLAN_REVIEW_DUE) == []
    run_until(state, T0 + 24 * H)
    (reminder,) = events(state, EventKind.PLAN_REVIEW_DUE)
    assert reminder.occurred_at == T0 + 24 * H  # 24 h before the 48 h due time
    assert reminder.recipients == [PRIMARY]

    run_until(state, T0 + 10 * 24 * H)
    # Unsigned past its due time, it climbs the ladder: owner, supervisor, then (no clinical
    # director on this team) the escalation role again, each rung once.
    owner, supervisor, director = events(state, EventKind.PLAN_REVIEW_OVERDUE)
    assert (owner.occurred_at, owner.recipients) == (T0 + 48 * H, [PRIMARY])
    assert (supervisor.occurred_at, supervisor.recipients) == (T0 + 72 * H, [SUPERVISOR])
    assert (director.occurred_at, director.recipients) == (T0 + 120 * H, [SUPERVISOR])
    assert [e.refs["rung"] for e in (owner, supervisor, director)] == ["1", "2", "3"]
    assert all(e.priority is Priority.URGENT for e in (owner, supervisor, director))
    assert len(_plan_tasks(state, TaskStatus.OPEN)) == 1  # unsigned reviews stay due
    assert len(events(state, EventKind.PLAN_REVIEW_DUE)) == 1


def test_a_review_opening_inside_its_reminder_window_gets_no_reminder() -> None:
    state = _journey_at("3.7")  # due in 24 h, the reminder lead is 24 h
    assert state.plan_review is not None
    assert state.plan_review.remind_at is None
    run_until(state, T0 + 30 * H)
    assert events(state, EventKind.PLAN_REVIEW_DUE) == []
    assert len(events(state, EventKind.PLAN_REVIEW_OVERDUE)) == 1  # the owner's rung


def test_both_signatures_close_the_review_and_schedule_the_next_one() -> None:
    state = _journey_at("3.5")
    revise(state, T0 + H)
    sign(state, T0 + 5 * H, Signer.CLINICIAN, Signer.CLIENT)

    (_done,) = _plan_tasks(state, TaskStatus.DONE)
    review = state.plan_review
    assert review is not None
    assert not review.initial
    assert review.due_at == T0 + 5 * H + timedelta(days=7)
    assert review.remind_at == review.due_at - 24 * H
    assert state.signed_plan_version == 1

    # A revision is unsigned: the review it starts stays due until both sign it.
    revise(state, T0 + timedelta(days=6))
    run_until(state, T0 + timedelta(days=8))
    assert len(events(state, EventKind.PLAN_REVIEW_OVERDUE)) == 1
    sign(state, T0 + timedelta(days=8), Signer.CLIENT, Signer.CLINICIAN)
    assert state.plan_review is not None
    assert state.plan_review.due_at == T0 + timedelta(days=15)
    assert len(_plan_tasks(state, TaskStatus.DONE)) == 2


def test_a_move_brings_the_review_forward_and_aftercare_ends_reviews() -> None:
    state = _journey_at("3.1")  # initial plan due in 7 days
    move(state, T0 + 24 * H, Phase.TREATMENT, "3.7")  # 24 h there
    assert state.plan_review is not None
    assert state.plan_review.initial
    assert state.plan_review.due_at == T0 + 48 * H
    (task,) = _plan_tasks(state, TaskStatus.OPEN)
    assert task.due_at == T0 + 48 * H

    move(state, T0 + 30 * H, Phase.TREATMENT, "2.1")  # a longer interval never pushes it back
    assert state.plan_review is not None
    assert state.plan_review.due_at == T0 + 48 * H

    move(state, T0 + 40 * H, Phase.AFTERCARE, None)
    assert state.plan_review is None
    assert _plan_tasks(state, TaskStatus.OPEN) == []
    assert len(_plan_tasks(state, TaskStatus.CANCELLED)) == 1


def test_plan_review_tasks_cannot_be_closed_by_hand() -> None:
    state = _journey_at("3.5")
    assert state.plan_review is not None
    with pytest.raises(RuleViolation, match="not an open follow-up"):
        episode.apply_complete_task(
            state, CompleteTask(task_id=state.plan_review.task_id, completed_by=PRIMARY), T0
        )


LEVELS = ["3.7", "3.5", "3.3", "3.1", "2.5", "2.1", "1"]
step = st.one_of(
    st.tuples(st.just("move"), st.sampled_from([*LEVELS, "aftercare"])),
    st.tuples(st.just("revise"), st.none()),
    st.tuples(st.just("sign"), st.sampled_from(list(Signer))),
    st.tuples(st.just("wait"), st.integers(min_value=1, max_value=24 * 40)),
)


@settings(max_examples=120, deadline=None)
@given(st.sampled_from(LEVELS), st.lists(st.tuples(st.integers(0, 72), step), max_size=25))
def test_review_due_times_never_land_in_the_past_and_notices_fire_once(
    first: str, steps: list[tuple[int, tuple[str, object]]]
) -> None:
    state = _journey_at(first)
    now = T0
    seen: dict[str, datetime] = {}

    def check(at: datetime) -> None:
        review = state.plan_review
        open_tasks = _plan_tasks(state, TaskStatus.OPEN)
        assert len(open_tasks) == (0 if review is None else 1)
        if review is not None:
            assert open_tasks[0].task_id == review.task_id
            # A due time is never set in the past: it is checked when first seen.
            if seen.get(review.task_id) != review.due_at:
                assert review.due_at >= at
                seen[review.task_id] = review.due_at

    def settle(until: datetime) -> None:
        for _ in range(1_000):  # bounded: a timer that never settles fails, never hangs
            deadline = next_deadline(state)
            if deadline is None or deadline > until:
                return
            assert run_due_work(state, deadline)
            check(deadline)
        raise AssertionError("timers did not settle")

    check(now)
    for gap, (kind, arg) in steps:
        now += timedelta(hours=gap)
        settle(now)
        if not state.phase.is_open:
            break
        if kind == "move" and state.phase is not Phase.AFTERCARE:
            target = (Phase.AFTERCARE, None) if arg == "aftercare" else (Phase.TREATMENT, arg)
            move(state, now, *target)  # type: ignore[arg-type]
        elif kind == "revise":
            revise(state, now)
        elif kind == "sign" and state.plan is not None:
            if arg not in {s.signer for s in state.plan.signatures}:
                sign(state, now, arg)  # type: ignore[arg-type]
        elif kind == "wait":
            now += timedelta(hours=int(arg))  # type: ignore[call-overload]
            settle(now)
        check(now)

    reminders = [e.refs["task_id"] for e in events(state, EventKind.PLAN_REVIEW_DUE)]
    assert len(reminders) == len(set(reminders))
    rungs = [
        (e.refs["task_id"], e.refs["rung"]) for e in events(state, EventKind.PLAN_REVIEW_OVERDUE)
    ]
    assert len(rungs) == len(set(rungs))  # each rung once per task


def test_a_migration_brings_a_running_journey_under_plan_review_rules() -> None:
    current = policy()
    older = current.model_copy(
        update={
            "version": "2025.9",
            "levels_of_care": [
                loc.model_copy(update={"initial_plan_due_hours": None, "plan_review_days": None})
                for loc in current.levels_of_care
            ],
        }
    )
    state = commands.start(start_command(pol=older), T0)
    move(state, T0, Phase.TREATMENT, "3.5")
    assert state.plan_review is None

    preview = migration.plan_migration(state, current)
    assert "initial plan due hours at 3.5: none -> 48 h" in preview.changes
    assert "a plan review opens under the new intervals" in preview.changes
    assert state.plan_review is None  # the dry run changed nothing

    cmd = MigratePolicy(policy=current, migrated_by=SUPERVISOR, reason="plan review rules")
    migration.apply_migrate_policy(state, cmd, T0 + 10 * H)
    assert state.plan_review is not None
    assert state.plan_review.initial
    assert state.plan_review.due_at == T0 + 58 * H
