"""Only our own services reach a journey: payloads not encrypted with a known key are refused.

A client without the codec (``temporal workflow update execute``, a script, the UI's write
actions) sends plaintext payloads; the worker refuses them and nothing is applied. Failure
messages are encrypted too, so a rejection's reason never sits in history as plaintext.
"""

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio import workflow
from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import (
    Client,
    WorkflowExecutionStatus,
    WorkflowFailureError,
    WorkflowHandle,
    WorkflowHistory,
    WorkflowUpdateFailedError,
)
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from models.commands import AddNote, Discharge
from models.journey import DischargeReason
from models.state import JourneyInput, JourneyState
from readmodel.queries import JourneyQueries
from runtime.refused import REFUSED_MESSAGE
from tests.builders import PRIMARY, start_command
from tests.workflows.driver import JourneyDriver
from worker import create_worker
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


def _refusals(caplog: pytest.LogCaptureFixture) -> list[str]:
    """The reasons the worker's codec logged for the payloads it refused."""
    refused = [r for r in caplog.records if r.getMessage() == "codec.payload_refused"]
    return [str(getattr(r, "reason", "")) for r in refused]


async def _history(client: Client, workflow_id: str) -> WorkflowHistory:
    """A workflow's history as the server holds it (read without decoding anything)."""
    return await client.get_workflow_handle(workflow_id).fetch_history()


def _task_failures(history: WorkflowHistory) -> list[HistoryEvent]:
    failed = EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED
    return [e for e in history.events if e.event_type == failed]


@dataclass
class Target:
    """A journey past its first workflow task, its state then, and a stranger's handle on it."""

    driver: JourneyDriver
    before: JourneyState
    stranger: Client
    handle: WorkflowHandle[Any, Any]


async def _target(env: WorkflowEnvironment, task_queue: str) -> Target:
    journey = f"J-{uuid.uuid4().hex[:8]}"
    driver = await JourneyDriver.start(env, task_queue, journey)
    await driver.service.send(journey, AddNote(text="settled in", written_by=PRIMARY))
    stranger = await _foreign_client(env)
    handle = stranger.get_workflow_handle(journey_workflow_id(journey))
    return Target(driver, await driver.state(), stranger, handle)


async def _still_serves_its_staff(driver: JourneyDriver) -> None:
    await driver.service.send(
        driver.journey_id, Discharge(discharged_by=PRIMARY, reason=DischargeReason.ADMINISTRATIVE)
    )
    assert not (await driver.state()).phase.is_open


async def test_update_without_the_codec_is_refused_and_changes_nothing(
    journeys: WorkflowEnvironment, task_queue: str, caplog: pytest.LogCaptureFixture
) -> None:
    target = await _target(journeys, task_queue)
    mallory = Discharge(discharged_by="mallory", reason=DischargeReason.ADMINISTRATIVE)

    # The worker reads the update's argument as refused: the update is rejected before its
    # validator runs, and a rejected update is never written to history.
    with pytest.raises(WorkflowUpdateFailedError):
        await target.handle.execute_update("discharge", mallory)

    after = await target.driver.state()
    assert after.phase is target.before.phase
    assert after.seq == target.before.seq
    history = await _history(target.stranger, target.handle.id)
    assert not _task_failures(history)
    assert b"mallory" not in b"".join(e.SerializeToString() for e in history.events)
    await _still_serves_its_staff(target.driver)
    # The worker logs why, without the payload.
    assert REFUSED_MESSAGE in _refusals(caplog)
    assert "mallory" not in caplog.text


async def test_signal_without_the_codec_is_dropped_and_the_journey_carries_on(
    journeys: WorkflowEnvironment, task_queue: str, caplog: pytest.LogCaptureFixture
) -> None:
    target = await _target(journeys, task_queue)

    # The server keeps a signal in history: read as refused, it is dropped on every replay
    # too, instead of failing each workflow task of the journey from now on.
    await target.handle.signal("discharge", "mallory")
    await _still_serves_its_staff(target.driver)

    after = await target.driver.state()
    assert after.seq == target.before.seq + 1
    assert not _task_failures(await _history(target.stranger, target.handle.id))
    assert REFUSED_MESSAGE in _refusals(caplog)
    assert "mallory" not in caplog.text


async def test_start_without_the_codec_is_refused(
    journeys: WorkflowEnvironment,
    task_queue: str,
    sqlite_sessions: async_sessionmaker[AsyncSession],
    caplog: pytest.LogCaptureFixture,
) -> None:
    journey = f"J-{uuid.uuid4().hex[:8]}"
    foreign = await _foreign_client(journeys)
    # The server takes the start (it holds no key); the worker fails the workflow at once.
    handle = await foreign.start_workflow(
        "ClientJourneyWorkflow",
        JourneyInput(start=start_command(journey)),
        id=journey_workflow_id(journey),
        task_queue=task_queue,
    )

    with pytest.raises(WorkflowFailureError) as failed:
        await journeys.client.get_workflow_handle(handle.id).result()

    assert isinstance(failed.value.cause, ApplicationError)
    assert failed.value.cause.type == "ForeignPayloadError"
    assert failed.value.cause.message == REFUSED_MESSAGE
    assert (await handle.describe()).status is WorkflowExecutionStatus.FAILED
    assert await JourneyQueries(sqlite_sessions).get_timeline(journey) is None
    assert REFUSED_MESSAGE in _refusals(caplog)
    assert "th-chen" not in caplog.text


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
