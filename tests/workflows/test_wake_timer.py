"""The journey keeps its wake-up timer while the next deadline holds and still wakes on time."""

from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent
from temporalio.testing import WorkflowEnvironment

from clinical.timers import next_deadline
from models.commands import Discharge, RecordInstrument, WorkDisposition
from models.journey import DischargeReason
from service.live import live_view
from tests.builders import PRIMARY
from tests.workflows.driver import JourneyDriver
from workflows.temporal_policy import journey_workflow_id

TIMER_EVENTS = {EventType.EVENT_TYPE_TIMER_STARTED, EventType.EVENT_TYPE_TIMER_CANCELED}


async def _events(env: WorkflowEnvironment, journey_id: str) -> list[HistoryEvent]:
    handle = env.client.get_workflow_handle(journey_workflow_id(journey_id))
    return list((await handle.fetch_history()).events)


def _timer_events_after(events: list[HistoryEvent], start: int) -> list[int]:
    return [e.event_type for e in events[start:] if e.event_type in TIMER_EVENTS]


async def test_a_command_leaving_the_deadline_keeps_the_timer_and_a_move_restarts_it(
    env: WorkflowEnvironment, task_queue: str
) -> None:
    j = await JourneyDriver.start(env, task_queue, "J-WAKE")
    await j.assess_and_accept(d1=3, d2=2)
    before = len(await _events(env, "J-WAKE"))
    deadline = next_deadline(await j.state())
    for _ in range(3):
        await j.service.send(
            "J-WAKE", RecordInstrument(code="GAD-7", answers=[1] * 7, recorded_by=PRIMARY)
        )
    events = await _events(env, "J-WAKE")
    assert next_deadline(await j.state()) == deadline
    assert _timer_events_after(events, before) == []
    # Six events per command: the workflow task (3), the update (2) and the projection marker.
    assert len(events) - before == 3 * 6

    # At the deadline the timer fires, the due work runs and a timer for the next one starts.
    assert deadline is not None
    before = len(events)
    await env.sleep(deadline - await env.get_current_time())
    await env.sleep(60)
    state = await j.state()
    later = next_deadline(state)
    assert later is not None
    assert later > deadline
    assert [e.event_type for e in (await _events(env, "J-WAKE"))[before:]
            if e.event_type in TIMER_EVENTS | {EventType.EVENT_TYPE_TIMER_FIRED}] == [
        EventType.EVENT_TYPE_TIMER_FIRED,
        EventType.EVENT_TYPE_TIMER_STARTED,
    ]  # fmt: skip

    # A discharge ends the run, and the timer with it. The withdrawal checks missed by then
    # are urgent work: the discharge closes them with a reason.
    before = len(await _events(env, "J-WAKE"))
    closing = [
        WorkDisposition(item_id=item, close_reason="checked by the receiving unit")
        for item in live_view(await j.state()).urgent_work
    ]
    await j.service.send(
        "J-WAKE",
        Discharge(discharged_by=PRIMARY, reason=DischargeReason.TRANSFERRED, dispositions=closing),
    )
    handle = env.client.get_workflow_handle(journey_workflow_id("J-WAKE"))
    await handle.result()
    assert _timer_events_after(await _events(env, "J-WAKE"), before) == [
        EventType.EVENT_TYPE_TIMER_CANCELED
    ]
