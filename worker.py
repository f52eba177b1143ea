"""Worker entry point: wires the read model and the journey workflow to a task queue."""

import asyncio
import os
import signal
import sys

import httpx
import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.client import Client
from temporalio.worker import Worker

from activities.delivery import DeliveryActivities
from activities.readmodel import ReadModelActivities
from delivery.dispatcher import Dispatcher
from readmodel.migrate import open_read_model
from runtime import search_attributes, tracing
from runtime.client import connect, worker_client
from runtime.codec import CodecKeyError
from runtime.log import configure_logging
from runtime.metrics_server import Role, start_metrics
from runtime.refused import ForeignPayloadError
from runtime.search_attributes import SearchAttributeError
from runtime.settings import Settings, get_settings
from workflows.delivery import DeliveryWorkflow
from workflows.journey import ClientJourneyWorkflow

log = structlog.get_logger(__name__)
# The cluster or the keys are not set up for the journeys; restarting will not help.
EXIT_SETUP = 2


def create_worker(
    client: Client,
    task_queue: str,
    sessions: async_sessionmaker[AsyncSession],
    *,
    max_cached_workflows: int | None = None,
    settings: Settings | None = None,
    http: httpx.AsyncClient | None = None,
) -> Worker:
    """A worker running journey workflows, their read-model projections and deliveries.

    The workflow cache is bounded (``worker_cache_size`` unless ``max_cached_workflows`` is
    given): idle journeys are evicted and replayed from their history when they wake.
    """
    config = settings or get_settings()
    projections = ReadModelActivities(sessions)
    delivery = DeliveryActivities(
        sessions, config, http or httpx.AsyncClient(timeout=config.delivery_timeout_s)
    )
    return Worker(
        # Payloads not encrypted with a known key are refused one by one, never failing a
        # workflow task; a start carrying one fails its workflow before any journey code runs.
        worker_client(client),
        task_queue=task_queue,
        workflow_failure_exception_types=[ForeignPayloadError],
        workflows=[ClientJourneyWorkflow, DeliveryWorkflow],
        activities=[projections.project, delivery.deliver, delivery.park],
        max_cached_workflows=(
            config.worker_cache_size if max_cached_workflows is None else max_cached_workflows
        ),
    )


async def run_worker(settings: Settings, stop: asyncio.Event) -> None:
    """Connect, check the namespace, migrate the read model, and run until ``stop`` is set.

    Raises:
        MissingSearchAttributesError: the namespace lacks journey search attributes (every
            journey's workflow task would fail until they are registered).
    """
    # Tracing, when the OTEL_* variables ask for it, before the client that carries it.
    tracing.setup(tracing.WORKER_SERVICE)
    # This process's metrics, and the SDK runtime its clients report through (once per process).
    endpoints = start_metrics(settings, Role.WORKER)
    client = await connect(settings, runtime=endpoints.runtime)
    await search_attributes.require(client)
    async with (
        open_read_model(settings.effective_database_url) as sessions,
        httpx.AsyncClient(timeout=settings.delivery_timeout_s) as http,
    ):
        worker = create_worker(client, settings.task_queue, sessions, settings=settings, http=http)
        dispatcher = Dispatcher(client, sessions, settings.task_queue, settings)
        log.info(
            "worker.started",
            task_queue=settings.task_queue,
            metrics=endpoints.app_url,
            sdk_metrics=endpoints.sdk_url,
        )
        async with worker:
            dispatching = asyncio.create_task(dispatcher.run(stop))
            await stop.wait()
            await dispatching
    log.info("worker.stopped")


async def _main() -> None:
    settings = get_settings()
    configure_logging(settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await run_worker(settings, stop)


def main() -> int:
    """Run the worker; a setup problem is one line on stderr and exit code 2."""
    try:
        asyncio.run(_main())
    except (SearchAttributeError, CodecKeyError) as exc:
        print(f"worker: {exc}", file=sys.stderr)
        return EXIT_SETUP
    finally:
        # The last spans are sent here: the exit below skips exit handlers.
        tracing.shutdown()
    return 0


if __name__ == "__main__":
    code = main()
    # The SDK's native runtime can abort at interpreter exit after a worker ran
    # (temporalio/sdk-python#300); leave without running those finalizers.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
