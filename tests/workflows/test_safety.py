"""The clinical-safety reproductions on the time-skipping server, through the real workflow."""

from collections import Counter
from datetime import timedelta

import pytest
from temporalio.testing import WorkflowEnvironment

from clinical.schedule import check_in_window_opens
from models.commands import (
    CompleteTask,
    Discharge,
    RecordCheckIn,
    RecordInstrument,
    WorkDisposition,
)
from models.errors import RejectionCode
from models.journey import DischargeReason, Phase
from models.state import JourneyState
from models.work import TaskKind, TaskStatus
from readmodel.queries import JourneyQueries
from service.journeys import CommandRejectedError
from service.live import live_view
from tests.builders import PHYSICIAN, PRIMARY
from tests.workflows.driver import JourneyDriver
from workflows.temporal_policy import journey_workflow_id

SELF_HARM = [0, 0, 0, 0, 0, 0, 0, 0, 2]
CIWA_SEVERE = [3, 3, 3, 2, 2, 2, 2, 1, 1, 0]  # 19


async def _record(j: JourneyDriver, code: str, answers: list[int]) -> None:
    await j.service.send(
        j.journey_id, RecordInstrument(code=code, answers=answers, recorded_by="rn-baker")
    )


async def test_self_harm_follow_up_on_aftercare_day_269_holds_completion_until_done(
    env: WorkflowEnvironment, task_queue: str, queries: JourneyQueries
) -> None:
    """Reproduction: PHQ-9 item 9 = 2 on aftercare day 269; the schedule ends on day 270."""
    j = await JourneyDriver.start(env, task_queue, "J-DAY-269")
    await j.place(Phase.TREATMENT, "1")
    await j.place(Phase.AFTERCARE, None)
    state = await j.state()
    assert state.aftercare is not None
    started = state.aftercare.started_at
    while (opens := check_in_window_opens(state.policy, state.aftercare)) is not None:
        await env.sleep(opens - await env.get_current_time())
        await j.service.send(j.journey_id, RecordCheckIn(recorded_by=PRIMARY))
        state = await j.state()
        assert state.aftercare is not None
    await env.sleep(started + timedelta(days=269) - await env.get_current_time())
    await _record(j, "PHQ-9", SELF_HARM)
    follow_up = [t for t in (await j.state()).tasks if t.kind is TaskKind.SAFETY_FOLLOW_UP]
    assert len(follow_up) == 1

    await j.sleep(days=5)
    state = await j.state()
    assert state.phase is Phase.AFTERCARE
    live = live_view(state)
    assert live.completion_waiting_on == [follow_up[0].task_id]
    timeline = await queries.get_timeline(j.journey_id)
    assert timeline is not None
    kinds = Counter(str(e.kind) for e in timeline.events)
    assert kinds["completion_held"] == 1
    assert kinds["work_overdue"] == 3  # owner, supervisor, clinical director rungs
    assert kinds["journey_completed"] == 0
    assert timeline.summary.completion_held  # the board shows why the journey is still open

    await j.service.send(
        j.journey_id, CompleteTask(task_id=follow_up[0].task_id, completed_by=PRIMARY)
    )
    handle = env.client.get_workflow_handle(
        journey_workflow_id(j.journey_id), result_type=JourneyState
    )
    final = await handle.result()
    assert final.phase is Phase.COMPLETED
    assert [t.status for t in final.tasks if t.kind is TaskKind.SAFETY_FOLLOW_UP] == [
        TaskStatus.DONE
    ]


async def test_discharge_with_open_urgent_work_needs_dispositions_and_work_outlives_it(
    env: WorkflowEnvironment, task_queue: str, queries: JourneyQueries
) -> None:
    j = await JourneyDriver.start(env, task_queue, "J-DISPOSE")
    await j.place(Phase.TREATMENT, "3.5")
    await _record(j, "PHQ-9", SELF_HARM)
    task = next(t for t in (await j.state()).tasks if t.kind is TaskKind.SAFETY_FOLLOW_UP)
    before = (await j.state()).model_dump()

    with pytest.raises(CommandRejectedError) as refused:
        await j.service.send(
            j.journey_id,
            Discharge(discharged_by=PHYSICIAN, reason=DischargeReason.AGAINST_ADVICE),
        )
    assert refused.value.code is RejectionCode.OPEN_URGENT_WORK
    assert task.task_id in refused.value.message
    assert (await j.state()).model_dump() == before

    await j.service.send(
        j.journey_id,
        Discharge(
            discharged_by=PHYSICIAN,
            reason=DischargeReason.AGAINST_ADVICE,
            dispositions=[WorkDisposition(item_id=task.task_id, hand_to="rn-baker")],
        ),
    )
    state = await j.state()
    assert state.phase is Phase.DISCHARGED
    handed = next(t for t in state.tasks if t.task_id == task.task_id)
    assert (handed.status, handed.owner) == (TaskStatus.OPEN, "rn-baker")
    handle = env.client.get_workflow_handle(
        journey_workflow_id(j.journey_id), result_type=JourneyState
    )

    await j.sleep(days=3)  # the handed-over follow-up keeps climbing its ladder
    timeline = await queries.get_timeline(j.journey_id)
    assert timeline is not None
    kinds = Counter(str(e.kind) for e in timeline.events)
    assert kinds["work_handed_over"] == 1
    assert kinds["work_overdue"] >= 2
    nurse_work = await queries.open_tasks_due_before(handed.due_at.replace(year=2100), "rn-baker")
    assert task.task_id in [t.task_id for t in nurse_work]

    # The run is still going: it takes the completion of the handed-over work, then ends.
    await j.service.send(j.journey_id, CompleteTask(task_id=task.task_id, completed_by="rn-baker"))
    final = await handle.result()
    assert final.phase is Phase.DISCHARGED
    assert not [t for t in final.tasks if t.status is TaskStatus.OPEN]


async def test_admission_to_4wm_is_watched_and_a_move_to_37wm_keeps_it(
    env: WorkflowEnvironment, task_queue: str, queries: JourneyQueries
) -> None:
    """Reproduction: 4-WM -> 3.7-WM after CIWA-Ar 19; nothing due, no alert 12 h later."""
    unscored = await JourneyDriver.start(env, task_queue, "J-4WM-NO-SCORE")
    await unscored.place(Phase.WITHDRAWAL_MANAGEMENT, "4-WM")
    assert sorted((await unscored.state()).monitoring_due) == ["ciwa-inpatient", "cows-inpatient"]

    moved = await JourneyDriver.start(env, task_queue, "J-4WM-TO-37WM")
    await moved.place(Phase.WITHDRAWAL_MANAGEMENT, "4-WM")
    await _record(moved, "CIWA-Ar", CIWA_SEVERE)
    await _record(moved, "COWS", [0] * 11)
    await moved.place(Phase.WITHDRAWAL_MANAGEMENT, "3.7-WM")
    assert sorted((await moved.state()).monitoring_due) == ["ciwa-inpatient", "cows-inpatient"]
    await moved.sleep(hours=12)

    for journey in ("J-4WM-NO-SCORE", "J-4WM-TO-37WM"):
        timeline = await queries.get_timeline(journey)
        assert timeline is not None
        assert any(e.kind == "monitoring_missed" for e in timeline.events), journey
        nurse = Counter(
            str(n.kind) for n in await queries.feed("rn-baker", limit=200) if n.journey_id ==
            journey
        )  # fmt: skip
        assert nurse["monitoring_missed"] >= 1, journey
