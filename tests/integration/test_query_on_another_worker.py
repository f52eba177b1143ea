"""A query answered by a worker that does not hold the journey never splits a workflow task.

The journey's worker A is killed (SIGKILL) while a wake-up timer is set; the timer fires and its
workflow task waits on A's sticky queue. A query then reaches worker B, which replays the
history with the fired timer and the clock of the task before it. An update sent meanwhile
arrives with the next workflow task, which B takes once A's task times out.

Were B to act on the fired timer while answering the query, it would keep the commands it made
(the due work and its projection) and send them with that next task ahead of the update's,
while a replay hands the fired timer and the update to the journey together: the history
would not replay (``Missing associated machine for LocalActivity``). B refuses the query
instead, drops the journey, and the task replays the history from the start.
"""

import asyncio
import signal
import subprocess
import uuid
from datetime import datetime
from pathlib import Path

from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowHistory, WorkflowQueryFailedError
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer

from models.commands import AddNote
from readmodel.migrate import migrate
from service.journeys import is_stale_wake_up_refusal
from tests.conftest import encrypted_converter
from tests.histories.record_stale_clock import in_aftercare, spawn_worker
from workflows.journey import ClientJourneyWorkflow
from workflows.temporal_policy import journey_workflow_id

JOURNEY = "J-QUERY-ELSEWHERE"
QUERY_TIMEOUT_S = 60
ATTEMPTS = 3


async def _up(log: Path, seconds: float = 60) -> None:
    """Wait until the worker process writing ``log`` polls (bounded)."""

    def started() -> bool:
        return log.exists() and b"worker.started" in log.read_bytes()

    for _ in range(int(seconds * 10)):
        if await asyncio.to_thread(started):
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"worker did not start (see {log})")


async def _ask(client: Client, journey_id: str) -> str:
    """One query straight to the journey (no retry): ``answered``, ``refused`` (a stale
    wake-up) or ``unanswered`` (the server gave up on it: no worker took it in time)."""
    handle = client.get_workflow_handle(journey_workflow_id(journey_id))
    try:
        await asyncio.wait_for(handle.query(ClientJourneyWorkflow.state), QUERY_TIMEOUT_S)
    except WorkflowQueryFailedError as failed:
        if not is_stale_wake_up_refusal(failed):
            raise
        return "refused"
    except RPCError:
        return "unanswered"
    return "answered"


def _fire_and_update_in_one_task(history: WorkflowHistory) -> bool:
    """Whether an update was accepted by the workflow task that followed a fired timer."""
    in_task = fired = False
    for event in history.events:
        kind = event.event_type
        if kind == EventType.EVENT_TYPE_TIMER_FIRED:
            fired = True
        elif kind == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED:
            in_task, fired = fired, False
        elif kind == EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED:
            in_task = False
        elif kind == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED and in_task:
            return True
    return False


async def test_a_query_on_a_worker_without_the_journey_leaves_a_history_that_replays(
    dev_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    # The query must wait in the task queue until the timer fired, and reach B before A's task
    # moves to B; when the server gives up on it first (a starved machine), set it up again.
    for attempt in range(ATTEMPTS):
        folder = tmp_path / str(attempt)
        folder.mkdir()
        history = await _query_while_the_worker_is_replaced(dev_env, folder, f"{JOURNEY}-{attempt}")
        if history is not None:
            break
    else:
        raise AssertionError(f"the query never reached worker B in {ATTEMPTS} set-ups")
    assert _fire_and_update_in_one_task(history)
    replayer = Replayer(workflows=[ClientJourneyWorkflow], data_converter=encrypted_converter())
    replayed = await replayer.replay_workflow(history, raise_on_replay_failure=False)
    assert replayed.replay_failure is None, replayed.replay_failure


async def _query_while_the_worker_is_replaced(
    dev_env: WorkflowEnvironment, tmp: Path, journey_id: str
) -> WorkflowHistory | None:
    """The scenario; the journey's history, or None when the query was not answered."""
    address = dev_env.client.service_client.config.target_host
    queue = f"elsewhere-{uuid.uuid4().hex[:8]}"
    url = f"sqlite+aiosqlite:///{tmp}/journeys.db"
    await migrate(url)
    a = spawn_worker(address, queue, url, tmp / "a.log")
    b: subprocess.Popen[bytes] | None = None
    try:
        await _up(tmp / "a.log")
        service, deadline = await in_aftercare(dev_env, queue, journey_id, tmp)
        assert deadline is not None  # seconds away
        a.send_signal(signal.SIGKILL)
        a.wait()
        # No worker polls: the query, sent just before the timer fires, waits in the task
        # queue while it fires (its task then waits on A's sticky queue), and B gets it with
        # the fired timer.
        await asyncio.sleep(max(await _seconds_to(dev_env, deadline) - 1.5, 0))
        asked = asyncio.create_task(_ask(dev_env.client, journey_id))
        await asyncio.sleep(max(await _seconds_to(dev_env, deadline), 0) + 0.5)
        b = spawn_worker(address, queue, url, tmp / "b.log")
        answer = await asked
        if answer == "unanswered":
            return None
        assert answer == "refused"
        note = AddNote(text="seen after the wake-up", written_by="th-chen")
        await service.send(journey_id, note)  # rides the task B takes when A's times out
        assert await _ask(dev_env.client, journey_id) == "answered"
        handle = dev_env.client.get_workflow_handle(journey_workflow_id(journey_id))
        history = await handle.fetch_history()
        (tmp / "history.json").write_text(history.to_json())  # for Replayer, on failure
        return history
    finally:
        for proc in (a, b):
            if proc is not None and proc.poll() is None:
                proc.kill()
                proc.wait()


async def _seconds_to(env: WorkflowEnvironment, when: datetime) -> float:
    return (when - await env.get_current_time()).total_seconds()
