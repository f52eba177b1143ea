"""A fired wake-up timer that reaches the journey with a stale clock is refused.

A worker that answers a query for a journey it does not hold replays the history, fired timers
after the last workflow task included, with the clock of that last task, and would keep the
journey with the commands it made for the next workflow task to send, split from that task's
own (an update), which a replay sees together. The journey refuses such a wake-up instead
(``StaleWakeUpError``): the worker drops it and the next task replays from the start.
``tests/integration/test_query_on_another_worker.py`` shows it with real worker processes.
"""

from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import WorkflowHistory
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer

from clinical.timers import next_deadline
from tests.conftest import encrypted_converter
from tests.workflows.driver import JourneyDriver
from workflows.journey import ClientJourneyWorkflow
from workflows.temporal_policy import journey_workflow_id

JOURNEY = "J-STALE"
FIRED = EventType.EVENT_TYPE_TIMER_FIRED
WFT_STARTED = EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED


def _with_stale_clock(events: list[HistoryEvent]) -> tuple[list[HistoryEvent], int]:
    """The events with each workflow task that follows a fired timer started at the time of
    the task before the timer fired; and how many tasks were changed."""
    stale = [HistoryEvent() for _ in events]
    for copy, event in zip(stale, events, strict=True):
        copy.CopyFrom(event)
    changed = 0
    last_started: HistoryEvent | None = None
    pending_fire = False
    for event in stale:
        if event.event_type == FIRED:
            pending_fire = True
        elif event.event_type == WFT_STARTED:
            if pending_fire and last_started is not None:
                event.event_time.CopyFrom(last_started.event_time)
                changed += 1
            pending_fire = False
            last_started = event
    return stale, changed


def _due_work_after_fire(events: list[HistoryEvent]) -> bool:
    """True when a fired timer's workflow task projected due work (recorded a marker)."""
    fired = False
    for event in events:
        if event.event_type == FIRED:
            fired = True
        elif event.event_type == EventType.EVENT_TYPE_TIMER_STARTED:
            fired = False
        elif fired and event.event_type == EventType.EVENT_TYPE_MARKER_RECORDED:
            return True
    return False


async def test_a_fired_timer_on_a_stale_clock_is_refused_and_on_time_does_the_work(
    env: WorkflowEnvironment, task_queue: str
) -> None:
    j = await JourneyDriver.start(env, task_queue, JOURNEY)
    await j.assess_and_accept(d1=3, d2=2)  # withdrawal management: checks due within hours
    for _ in range(2):
        deadline = next_deadline(await j.state())
        assert deadline is not None
        await env.sleep(deadline - await env.get_current_time())
        await env.sleep(60)
    handle = env.client.get_workflow_handle(journey_workflow_id(JOURNEY))
    history = await handle.fetch_history()
    events = list(history.events)
    assert _due_work_after_fire(events)

    stale, changed = _with_stale_clock(events)
    assert changed >= 2
    replayer = Replayer(workflows=[ClientJourneyWorkflow], data_converter=encrypted_converter())
    on_time = await replayer.replay_workflow(history, raise_on_replay_failure=False)
    assert on_time.replay_failure is None, on_time.replay_failure
    late = await replayer.replay_workflow(
        WorkflowHistory(history.workflow_id, stale), raise_on_replay_failure=False
    )
    assert late.replay_failure is not None
    assert 'type: "StaleWakeUpError"' in str(late.replay_failure)
