"""Worker entry point: wires the read model and the journey workflow to a task queue."""

import asyncio
import os
import signal
import sys

import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.client import Client
from temporalio.worker import Worker

from activities.readmodel import ReadModelActivities
from readmodel.db import create_engine, sessionmaker
from readmodel.migrate import migrate
from runtime.client import connect
from runtime.log import configure_logging
from runtime.settings import Settings, get_settings
from workflows.journey import ClientJourneyWorkflow

# Bounded workflow cache: idle journeys are evicted and replayed on demand.
MAX_CACHED_WORKFLOWS = 2000

log = structlog.get_logger(__name__)


def create_worker(
    client: Client,
    task_queue: str,
    sessions: async_sessionmaker[AsyncSession],
    *,
    max_cached_workflows: int = MAX_CACHED_WORKFLOWS,
) -> Worker:
    """A worker running journey workflows and their read-model projections."""
    projections = ReadModelActivities(sessions)
    return Worker(
        client,
        task_queue=task_queue,
        workflows=[ClientJourneyWorkflow],
        activities=[projections.project],
        max_cached_workflows=max_cached_workflows,
    )


async def run_worker(settings: Settings, stop: asyncio.Event) -> None:
    """Migrate the read model, connect, and run the worker until ``stop`` is set."""
    database_url = settings.effective_database_url
    await migrate(database_url)
    engine = create_engine(database_url)
    client = await connect(settings)
    worker = create_worker(client, settings.task_queue, sessionmaker(engine))
    log.info("worker.started", task_queue=settings.task_queue)
    async with worker:
        await stop.wait()
    await engine.dispose()
    log.info("worker.stopped")


async def _main() -> None:
    settings = get_settings()
    configure_logging(settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await run_worker(settings, stop)


if __name__ == "__main__":
    asyncio.run(_main())
    # The SDK's native runtime can abort at interpreter exit after a worker ran
    # (temporalio/sdk-python#300); leave without running those finalizers.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)
