"""Local Temporal servers: the embedded one keeps workflows across restarts; attributes register."""

import asyncio
import stat
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from temporalio import workflow
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowExecutionStatus, WorkflowHandle
from temporalio.common import SearchAttributeKey
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from runtime.client import connect
from runtime.codec import ENCODING
from runtime.devserver import (
    DevServerError,
    EmbeddedTemporal,
    temporal_binary,
    time_skipping_server_binary,
)
from runtime.search_attributes import (
    JOURNEY_LOC,
    JOURNEY_NEXT_REVIEW,
    JOURNEY_PHASE,
    JOURNEY_URGENT,
    SearchAttributeError,
    register,
)
from runtime.settings import Settings
from tests.portpick import free_port

REVIEW_DUE = datetime(2031, 3, 1, 9, 0, tzinfo=UTC)


@workflow.defn(sandboxed=False)
class GateWorkflow:
    """Flags itself for triage, then waits up to a month to be released."""

    def __init__(self) -> None:
        self._released = False

    @workflow.run
    async def run(self) -> str:
        workflow.upsert_search_attributes(
            [
                JOURNEY_PHASE.value_set("treatment"),
                JOURNEY_LOC.value_set("2.1"),
                JOURNEY_NEXT_REVIEW.value_set(REVIEW_DUE),
                JOURNEY_URGENT.value_set(True),
            ]
        )
        try:
            await workflow.wait_condition(lambda: self._released, timeout=timedelta(days=30))
        except TimeoutError:
            return "expired"
        return "released"

    @workflow.signal
    def release(self) -> None:
        self._released = True


@workflow.defn(sandboxed=False)
class NapWorkflow:
    """Sleeps on a short durable timer."""

    @workflow.run
    async def run(self, seconds: float) -> str:
        await workflow.sleep(timedelta(seconds=seconds))
        return "woke"


async def _timer_started(handle: WorkflowHandle[Any, Any]) -> None:
    """Wait (bounded) until the workflow's timer is in its history, hence in the database."""
    async with asyncio.timeout(20):
        while True:
            history = await handle.fetch_history()
            if any(e.event_type == EventType.EVENT_TYPE_TIMER_STARTED for e in history.events):
                return
            await asyncio.sleep(0.05)


async def test_workflows_and_timers_survive_a_server_restart(tmp_path: Path) -> None:
    server = EmbeddedTemporal(tmp_path / "data", free_port(), free_port())
    settings = Settings(_env_file=None, data_dir=tmp_path / "data", codec_keys=None)
    queue = f"restart-{uuid.uuid4().hex[:8]}"
    try:
        await server.start()
        client = await connect(settings, address=server.address)
        async with Worker(client, task_queue=queue, workflows=[GateWorkflow, NapWorkflow]):
            gate = await client.start_workflow(
                GateWorkflow.run, id=f"gate-{queue}", task_queue=queue
            )
            nap = await client.start_workflow(
                NapWorkflow.run, 2.0, id=f"nap-{queue}", task_queue=queue
            )
            await _timer_started(gate)
            await _timer_started(nap)
        await server.stop()

        # Same file, same ports: the stopped server released them.
        await server.start()
        client = await connect(settings, address=server.address)
        gate = client.get_workflow_handle_for(GateWorkflow.run, gate.id)
        assert (await gate.describe()).status == WorkflowExecutionStatus.RUNNING
        async with Worker(client, task_queue=queue, workflows=[GateWorkflow, NapWorkflow]):
            # The nap's timer, stored before the restart, fires after it.
            assert await client.get_workflow_handle(nap.id).result() == "woke"
            await gate.signal(GateWorkflow.release)
            assert await gate.result() == "released"
        await _assert_history_is_encrypted(gate)
    finally:
        await server.stop()


async def _assert_history_is_encrypted(handle: WorkflowHandle[GateWorkflow, str]) -> None:
    history = await handle.fetch_history()
    completed = history.events[-1].workflow_execution_completed_event_attributes
    [result] = completed.result.payloads
    assert result.metadata["encoding"] == ENCODING
    assert b"released" not in result.data


async def test_registered_search_attributes_can_be_upserted_and_queried(tmp_path: Path) -> None:
    queue = f"attrs-{uuid.uuid4().hex[:8]}"
    async with EmbeddedTemporal(tmp_path, free_port(), free_port()) as server:
        client = await Client.connect(server.address)
        # Registered by the start flags already: registering again changes nothing.
        await register(client)
        async with Worker(client, task_queue=queue, workflows=[GateWorkflow]):
            gate = await client.start_workflow(GateWorkflow.run, id=queue, task_queue=queue)
            await _timer_started(gate)
            attributes = (await gate.describe()).typed_search_attributes
            assert attributes.get(JOURNEY_PHASE) == "treatment"
            assert attributes.get(JOURNEY_LOC) == "2.1"
            assert attributes.get(JOURNEY_NEXT_REVIEW) == REVIEW_DUE
            assert attributes.get(JOURNEY_URGENT) is True
            assert await _listed(client, 'JourneyPhase = "treatment" AND JourneyUrgent = true') == [
                gate.id
            ]
            await gate.signal(GateWorkflow.release)
            assert await gate.result() == "released"


async def _listed(client: Client, query: str) -> list[str]:
    """Workflow ids the visibility store returns for ``query`` (it may lag by a moment)."""
    async with asyncio.timeout(10):
        while True:
            ids = [w.id async for w in client.list_workflows(query)]
            if ids:
                return ids
            await asyncio.sleep(0.1)


async def test_time_skipping_server_accepts_registration_and_upserts() -> None:
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=str(time_skipping_server_binary())
    )
    try:
        await register(env.client)
        # It cannot list attributes, so a second registration adds them all again: harmless.
        await register(env.client)
        async with Worker(env.client, task_queue="attrs", workflows=[GateWorkflow]):
            gate = await env.client.start_workflow(GateWorkflow.run, id="gate", task_queue="attrs")
            # Nobody releases it: the month passes in skipped time.
            assert await gate.result() == "expired"
            attributes = (await gate.describe()).typed_search_attributes
            assert attributes.get(JOURNEY_PHASE) == "treatment"
    finally:
        await env.shutdown()


async def test_an_attribute_of_another_type_is_a_clear_error() -> None:
    clashing = SearchAttributeKey.for_text(JOURNEY_PHASE.name)
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=str(temporal_binary()), search_attributes=[clashing]
    )
    try:
        with pytest.raises(
            SearchAttributeError, match="JourneyPhase exists as Text; the journeys need Keyword"
        ):
            await register(env.client)
    finally:
        await env.shutdown()


async def test_port_in_use_is_a_clear_error(tmp_path: Path) -> None:
    port = free_port()
    async with EmbeddedTemporal(tmp_path / "a", port, free_port()):
        with pytest.raises(DevServerError, match=f"port {port} on 127.0.0.1 is already in use"):
            await EmbeddedTemporal(tmp_path / "b", port, free_port()).start()


async def test_a_server_that_dies_at_start_shows_its_log(tmp_path: Path) -> None:
    server = EmbeddedTemporal(tmp_path, free_port(), free_port(), ["--no-such-flag"])
    with pytest.raises(DevServerError, match=r"exited.*unknown flag: --no-such-flag"):
        await server.start()
    assert (tmp_path / "temporal-server.log").exists()


def test_command_uses_the_data_dir_file_pragmas_and_attribute_flags(tmp_path: Path) -> None:
    server = EmbeddedTemporal(tmp_path, 17233, 18233, ["--dynamic-config-value", "a.b=1"])
    command = " ".join(server.command())
    assert f"--db-filename {tmp_path / 'temporal.db'}" in command
    assert "--sqlite-pragma journal_mode=wal --sqlite-pragma synchronous=normal" in command
    assert "--ip 127.0.0.1 --ui-ip 127.0.0.1 --port 17233 --ui-port 18233" in command
    assert "--search-attribute JourneyNextReview=Datetime" in command
    assert command.endswith("--dynamic-config-value a.b=1")
    assert (server.address, server.ui_url) == ("127.0.0.1:17233", "http://127.0.0.1:18233")


async def test_the_server_files_are_owner_only_and_an_older_data_dir_is_tightened(
    tmp_path: Path,
) -> None:
    # A data directory and server log from an earlier run, readable by everyone.
    data = tmp_path / "data"
    data.mkdir(mode=0o755)
    data.chmod(0o755)
    log = data / "temporal-server.log"
    log.write_text("earlier run\n")
    log.chmod(0o644)
    fresh = tmp_path / "fresh" / "data"
    async with (
        EmbeddedTemporal(data, free_port(), free_port()),
        EmbeddedTemporal(fresh, free_port(), free_port()),
    ):
        for directory in (data, fresh):
            modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in directory.iterdir()}
            assert {"temporal.db", "temporal-server.log"} <= modes.keys()
            assert modes == dict.fromkeys(modes, 0o600)
            assert stat.S_IMODE(directory.stat().st_mode) == 0o700
