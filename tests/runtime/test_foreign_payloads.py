"""Only our own services reach a journey: payloads not encrypted with a known key are refused.

A client without the codec (``temporal workflow update execute``, a script, the UI's write
actions) sends plaintext payloads; the worker refuses them and nothing is applied. Failure
messages are encrypted too, so a rejection's reason never sits in history as plaintext.
"""

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio import workflow
from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from models.commands import AddNote, Discharge
from models.journey import DischargeReason
from models.state import JourneyInput, JourneyState
from readmodel.queries import JourneyQueries
from runtime.codec import REFUSED_MESSAGE
from tests.builders import PRIMARY, start_command
from tests.workflows.driver import JourneyDriver
from worker import create_worker
from workflows.journey import ClientJourneyWorkflow
from workflows.temporal_policy import journey_workflow_id

REASON = "Care team changed: client disclosed relapse on fentanyl"


async def _foreign_client(env: WorkflowEnvironment) -> Client:
    """A client as anyone reaching the frontend has one: our models, but no codec key."""
    return await Client.connect(
        env.client.service_client.config.target_host,
        namespace=env.client.namespace,
        data_converter=pydantic_data_converter,
    )


@pytest.fixture
async def journeys(
    dev_env: WorkflowEnvironment,
    task_queue: str,
    sqlite_sessions: async_sessionmaker[AsyncSession],
) -> AsyncIterator[WorkflowEnvironment]:
    """The dev server with a journey worker on a fresh task queue."""
    async with create_worker(dev_env.client, task_queue, sqlite_sessions):
        yield dev_env


async def _answering(driver: JourneyDriver) -> JourneyState:
    """The journey's state once it answers again (it retries the refused workflow task)."""
    while True:
        try:
            return await driver.state()
        except RPCError:
            await asyncio.sleep(0.2)


async def _refused_tasks(client: Client, workflow_id: str) -> list[HistoryEvent]:
    """The workflow task failures in a workflow's history, read without decoding anything."""
    history = await client.get_workflow_handle(workflow_id).fetch_history()
    return [e for e in history.events if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED]


async def _first_refusal(client: Client, workflow_id: str) -> HistoryEvent:
    """Wait for the first workflow task the worker refused."""
    while True:
        if refused := await _refused_tasks(client, workflow_id):
            return refused[0]
        await asyncio.sleep(0.2)


async def test_update_without_the_codec_is_refused_and_changes_nothing(
    journeys: WorkflowEnvironment, task_queue: str, caplog: pytest.LogCaptureFixture
) -> None:
    journey = f"J-{uuid.uuid4().hex[:8]}"
    driver = await JourneyDriver.start(journeys, task_queue, journey)
    await driver.service.send(journey, AddNote(text="settled in", written_by=PRIMARY))
    before = await driver.state()
    foreign = await _foreign_client(journeys)
    handle = foreign.get_workflow_handle(journey_workflow_id(journey))
    mallory = Discharge(discharged_by="mallory", reason=DischargeReason.ADMINISTRATIVE)

    # The worker cannot decode the update and fails that workflow task before any of the
    # journey's code runs; the server then drops the update and the caller hears a refusal.
    with pytest.raises(RPCError) as refused:
        await handle.execute_update("discharge", mallory)

    assert refused.value.status is RPCStatusCode.FAILED_PRECONDITION
    after = await _answering(driver)
    assert after.phase is before.phase
    assert after.seq == before.seq
    assert "mallory" not in after.model_dump_json()
    # The failed task is in history with its reason encrypted.
    [failed, *_] = await _refused_tasks(foreign, handle.id)
    failure = failed.workflow_task_failed_event_attributes.failure
    assert failure.message == "Encoded failure"
    assert REFUSED_MESSAGE.encode() not in failure.SerializeToString()
    # The journey still takes its own staff's commands.
    await driver.service.send(
        journey, Discharge(discharged_by=PRIMARY, reason=DischargeReason.ADMINISTRATIVE)
    )
    assert not (await driver.state()).phase.is_open
    # The worker logs why, without the payload.
    assert REFUSED_MESSAGE in caplog.text
    assert "mallory" not in caplog.text


async def test_start_without_the_codec_is_refused(
    journeys: WorkflowEnvironment,
    task_queue: str,
    sqlite_sessions: async_sessionmaker[AsyncSession],
    caplog: pytest.LogCaptureFixture,
) -> None:
    journey = f"J-{uuid.uuid4().hex[:8]}"
    foreign = await _foreign_client(journeys)
    handle = await foreign.start_workflow(
        "ClientJourneyWorkflow",
        JourneyInput(start=start_command(journey)),
        id=journey_workflow_id(journey),
        task_queue=task_queue,
    )

    # The server takes the start (it holds no key); the worker refuses its first workflow task
    # on every attempt, so the journey never begins.
    await _first_refusal(foreign, handle.id)

    assert await JourneyQueries(sqlite_sessions).get_timeline(journey) is None
    with pytest.raises(RPCError):
        await journeys.client.get_workflow_handle(handle.id).query(ClientJourneyWorkflow.state)
    assert REFUSED_MESSAGE in caplog.text
    assert "th-chen" not in caplog.text
    await handle.terminate("refused start")


@workflow.defn(sandboxed=False)
class RefusingWorkflow:
    """Refuses every update with a reason the way a journey does, then waits to be released."""

    def __init__(self) -> None:
        self._done = False

    @workflow.run
    async def run(self) -> None:
        await workflow.wait_condition(lambda: self._done)

    @workflow.update
    async def change(self, reason: str) -> None:
        """Fails after acceptance, so the failure is written to history."""
        self._done = True
        raise ApplicationError(reason, "care_team", type="CommandRejected", non_retryable=True)


async def test_a_refused_updates_reason_is_not_plaintext_in_history(
    dev_env: WorkflowEnvironment, task_queue: str
) -> None:
    client = dev_env.client
    async with Worker(client, task_queue=task_queue, workflows=[RefusingWorkflow]):
        handle = await client.start_workflow(
            RefusingWorkflow.run, id=f"refusing-{uuid.uuid4().hex[:8]}", task_queue=task_queue
        )
        with pytest.raises(WorkflowUpdateFailedError) as refused:
            await handle.execute_update(RefusingWorkflow.change, REASON)
        await handle.result()

    # The caller, holding the key, reads the reason.
    assert isinstance(refused.value.cause, ApplicationError)
    assert refused.value.cause.message == REASON
    # The server holds only ciphertext: read the raw history without the codec.
    raw = await (await _foreign_client(dev_env)).get_workflow_handle(handle.id).fetch_history()
    assert b"fentanyl" not in raw.to_json().encode()
    assert b"Care team changed" not in b"".join(e.SerializeToString() for e in raw.events)
