"""Data-point triggers on the time-skipping server: each opens the right work, once."""

from collections import Counter

import pytest
from temporalio.testing import WorkflowEnvironment

from models.clinical import ReassessmentTrigger, Substance
from models.commands import CompleteTask, RecordInstrument
from models.errors import RejectionCode
from models.journey import Phase, Priority
from models.work import TaskKind, TaskStatus
from readmodel.queries import JourneyQueries
from service.journeys import CommandRejectedError
from tests.builders import PRIMARY, SUPERVISOR
from tests.workflows.driver import JourneyDriver


async def _record(j: JourneyDriver, code: str, answers: list[int]) -> None:
    await j.service.send(
        j.journey_id, RecordInstrument(code=code, answers=answers, recorded_by=PRIMARY)
    )


async def _in_treatment(env: WorkflowEnvironment, queue: str, journey_id: str) -> JourneyDriver:
    j = await JourneyDriver.start(env, queue, journey_id)
    await j.assess_and_accept(d5=3, d6=3)
    return j


async def test_phq9_item_9_opens_an_urgent_safety_task_and_alerts_the_team(
    env: WorkflowEnvironment, task_queue: str, queries: JourneyQueries
) -> None:
    j = await _in_treatment(env, task_queue, "J-SAFETY")
    await _record(j, "PHQ-9", [0, 0, 0, 0, 0, 0, 0, 0, 1])
    state = await j.state()
    safety = [t for t in state.tasks if t.kind is TaskKind.SAFETY_FOLLOW_UP]
    assert len(safety) == 1
    assert safety[0].priority is Priority.URGENT
    assert state.urgent
    assert state.active_reassessment is None  # a low total alone opens no reassessment
    for member in (SUPERVISOR, "dr-ames", "rn-baker", PRIMARY):
        kinds = Counter(str(n.kind) for n in await queries.feed(member, limit=100))
        assert kinds["trigger_fired"] == 1, member
    assert Counter(str(n.kind) for n in await queries.feed("cm-diaz"))["trigger_fired"] == 0

    await j.service.send("J-SAFETY", CompleteTask(task_id=safety[0].task_id, completed_by=PRIMARY))
    state = await j.state()
    assert not state.urgent
    assert [t.status for t in state.tasks if t.kind is TaskKind.SAFETY_FOLLOW_UP] == [
        TaskStatus.DONE
    ]


async def test_each_occurrence_fires_once_never_twice(
    env: WorkflowEnvironment, task_queue: str, queries: JourneyQueries
) -> None:
    j = await _in_treatment(env, task_queue, "J-TWICE")
    await _record(j, "PHQ-9", [0, 0, 0, 0, 0, 0, 0, 0, 2])
    await _record(j, "PHQ-9", [0, 0, 0, 0, 0, 0, 0, 0, 0])
    await _record(j, "PHQ-9", [0, 0, 0, 0, 0, 0, 0, 0, 1])
    state = await j.state()
    # The second firing tightens the follow-up the first opened (bounded open work) and is
    # reported again: two firings, one open follow-up.
    follow_ups = [t for t in state.tasks if t.kind is TaskKind.SAFETY_FOLLOW_UP]
    assert len(follow_ups) == 1
    timeline = await queries.get_timeline("J-TWICE")
    assert timeline is not None
    fired = [e for e in timeline.events if e.kind == "trigger_fired"]
    assert len(fired) == 2
    assert {e.refs["opened"] for e in fired} == {follow_ups[0].task_id}


async def test_severe_phq9_opens_a_data_point_reassessment(
    env: WorkflowEnvironment, task_queue: str
) -> None:
    j = await _in_treatment(env, task_queue, "J-PHQ-SEVERE")
    await _record(j, "PHQ-9", [3, 3, 3, 3, 2, 2, 2, 2, 0])
    active = (await j.state()).active_reassessment
    assert active is not None
    assert active.trigger is ReassessmentTrigger.DATA_POINT
    assert active.reason == "phq9-severe"


async def test_severe_ciwa_fires_where_withdrawal_is_not_medically_monitored(
    env: WorkflowEnvironment, task_queue: str
) -> None:
    severe = [3, 3, 3, 2, 2, 2, 2, 1, 1, 0]  # 19
    for loc in ("2-WM", "3.2-WM"):
        unmonitored = await JourneyDriver.start(env, task_queue, f"J-CIWA-{loc.replace('.', '')}")
        await unmonitored.place(Phase.WITHDRAWAL_MANAGEMENT, loc)
        await _record(unmonitored, "CIWA-Ar", severe)
        active = (await unmonitored.state()).active_reassessment
        assert active is not None, loc
        assert (active.trigger, active.priority) == (
            ReassessmentTrigger.DATA_POINT,
            Priority.URGENT,
        )

    inpatient = await JourneyDriver.start(env, task_queue, "J-CIWA-INP")
    await inpatient.place(Phase.WITHDRAWAL_MANAGEMENT, "3.7-WM")
    await _record(inpatient, "CIWA-Ar", severe)
    assert (await inpatient.state()).active_reassessment is None


async def test_rising_cows_opens_a_reassessment(env: WorkflowEnvironment, task_queue: str) -> None:
    j = await JourneyDriver.start(env, task_queue, "J-COWS")
    await j.assess_and_accept(d1=3)
    await _record(j, "COWS", [1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0])  # 5
    assert (await j.state()).active_reassessment is None
    await _record(j, "COWS", [2, 2, 1, 1, 2, 2, 2, 1, 1, 1, 0])  # 15: a rise of 10
    active = (await j.state()).active_reassessment
    assert active is not None
    assert active.reason == "cows-rising"


async def test_invalid_answers_change_nothing(env: WorkflowEnvironment, task_queue: str) -> None:
    j = await _in_treatment(env, task_queue, "J-BAD-ANSWERS")
    before = (await j.state()).model_dump()
    for code, answers, rejection in (
        ("PHQ-9", [0] * 8, RejectionCode.INVALID_ANSWERS),
        ("GAD-7", [0, 0, 0, 9, 0, 0, 0], RejectionCode.INVALID_ANSWERS),
        ("XYZ", [1], RejectionCode.UNKNOWN_INSTRUMENT),
    ):
        with pytest.raises(CommandRejectedError) as err:
            await _record(j, code, answers)
        assert err.value.code is rejection
    with pytest.raises(CommandRejectedError) as done:
        await j.service.send(
            "J-BAD-ANSWERS", CompleteTask(task_id="J-BAD-ANSWERS.T2", completed_by=PRIMARY)
        )
    assert done.value.code is RejectionCode.UNKNOWN_TASK
    assert (await j.state()).model_dump() == before


async def test_withdrawal_monitoring_opens_collection_work_once_per_missed_check(
    env: WorkflowEnvironment, task_queue: str, queries: JourneyQueries
) -> None:
    j = await JourneyDriver.start(env, task_queue, "J-MONITOR")
    await j.place(Phase.WITHDRAWAL_MANAGEMENT, "3.7-WM", [Substance.ALCOHOL])
    state = await j.state()
    assert list(state.monitoring_due) == ["ciwa-inpatient"]  # from admission: no score needed
    await j.sleep(hours=2, minutes=1)  # first check due within 1 h, missed after 1 h grace
    state = await j.state()
    collect = [t for t in state.tasks if t.kind is TaskKind.COLLECT_INSTRUMENT]
    assert [(t.owner, t.status, t.priority) for t in collect] == [
        ("rn-baker", TaskStatus.OPEN, Priority.URGENT)
    ]

    ciwa = [2, 2, 1, 1, 1, 1, 1, 1, 1, 1]  # 12: moderate, checked every 2 h in the first day
    await _record(j, "CIWA-Ar", ciwa)  # collected: the task closes, the schedule goes on
    state = await j.state()
    assert [t.status for t in state.tasks if t.kind is TaskKind.COLLECT_INSTRUMENT] == [
        TaskStatus.DONE
    ]
    await j.sleep(hours=1)
    await _record(j, "CIWA-Ar", ciwa)  # on time: nothing missed
    await j.sleep(hours=3, minutes=1)  # missed again: a second, separate occurrence

    await j.place(Phase.TREATMENT, "3.5")  # leaving withdrawal management ends the schedule
    await j.sleep(hours=30)
    timeline = await queries.get_timeline("J-MONITOR")
    assert timeline is not None
    missed = [e for e in timeline.events if e.kind == "monitoring_missed"]
    assert len(missed) == 2
    nurse = Counter(str(n.kind) for n in await queries.feed("rn-baker", limit=200))
    assert nurse["monitoring_missed"] == 2
    state = await j.state()
    assert state.monitoring_due == {}
    # The check missed before the move is still owed; recording the scale closes it.
    owed = [t for t in state.tasks
            if t.status is TaskStatus.OPEN and t.kind is TaskKind.COLLECT_INSTRUMENT]  # fmt: skip
    assert len(owed) == 1
    await _record(j, "CIWA-Ar", [0] * 10)
    state = await j.state()
    assert not [
        t
        for t in state.tasks
        if t.status is TaskStatus.OPEN and t.kind is TaskKind.COLLECT_INSTRUMENT
    ]
