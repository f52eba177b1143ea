"""The embedded dev server keeps journeys and their timers across a restart."""

import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio import workflow
from temporalio.client import Client
from temporalio.worker import Worker

from models.commands import RequestReassessment
from readmodel.db import create_engine, sessionmaker
from readmodel.migrate import migrate
from runtime.devserver import DevServerError, EmbeddedTemporal
from service.journeys import JourneyService
from tests.builders import PRIMARY
from tests.conftest import encrypted_converter
from tests.portpick import free_port
from tests.workflows.driver import JourneyDriver
from worker import create_worker


@workflow.defn(sandboxed=False)
class NapWorkflow:
    """Sleeps on a durable timer."""

    @workflow.run
    async def run(self, seconds: float) -> str:
        await workflow.sleep(timedelta(seconds=seconds))
        return "woke"


async def _client(server: EmbeddedTemporal) -> Client:
    return await Client.connect(server.address, data_converter=encrypted_converter())


async def test_journeys_and_timers_survive_a_server_restart(tmp_path: Path) -> None:
    server = EmbeddedTemporal(tmp_path / "data", free_port(), free_port())
    url = f"sqlite+aiosqlite:///{tmp_path / 'journeys.db'}"
    await migrate(url)
    engine = create_engine(url)
    try:
        await _run_across_restart(server, sessionmaker(engine))
    finally:
        await server.stop()
        await engine.dispose()


async def _run_across_restart(
    server: EmbeddedTemporal, sessions: async_sessionmaker[AsyncSession]
) -> None:
    queue = f"restart-{uuid.uuid4().hex[:8]}"
    await server.start()
    client = await _client(server)
    async with create_worker(client, queue, sessions):
        # No worker runs the nap before the restart: its timer must come from the database.
        nap = await client.start_workflow(
            NapWorkflow.run, 4.0, id=f"nap-{queue}", task_queue=f"{queue}-nap"
        )
        j = await JourneyDriver.start(_EnvShim(client), queue, "J-RESTART")  # type: ignore[arg-type]
        await j.assess_and_accept(d1=3, d2=2)
        before = await j.state()
    await server.stop()

    await server.start()
    client = await _client(server)
    async with (
        create_worker(client, queue, sessions),
        Worker(client, task_queue=f"{queue}-nap", workflows=[NapWorkflow]),
    ):
        assert await client.get_workflow_handle(nap.id).result() == "woke"
        service = JourneyService(client, queue)
        # Replayed from history on a new worker, the journey is exactly what it was.
        after = await service.state("J-RESTART")
        assert after == before
        assert after.loc_code == "3.7-WM"
        assert after.next_review_due is not None
        # The journey keeps taking commands after the restart.
        result = await service.request_reassessment(
            "J-RESTART", RequestReassessment(requested_by=PRIMARY, reason="after restart")
        )
        assert result.reassessment_id is not None


class _EnvShim:
    """The driver only needs ``client`` from a test environment."""

    def __init__(self, client: Client) -> None:
        self.client = client


async def test_port_in_use_is_a_clear_error(tmp_path: Path) -> None:
    port = free_port()
    first = EmbeddedTemporal(tmp_path / "a", port, free_port())
    await first.start()
    try:
        with pytest.raises(DevServerError, match=f"port {port}"):
            await EmbeddedTemporal(tmp_path / "b", port, free_port()).start()
    finally:
        await first.stop()
