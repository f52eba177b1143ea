"""Build the services a command needs from the settings (the CLI's composition root)."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from readmodel.db import create_engine, sessionmaker
from readmodel.migrate import migrate
from readmodel.queries import JourneyQueries
from runtime.client import connect
from runtime.settings import Settings
from service.journeys import JourneyService


@asynccontextmanager
async def journey_service(settings: Settings) -> AsyncIterator[JourneyService]:
    """Commands and live state over a Temporal client."""
    client = await connect(settings)
    yield JourneyService(client, settings.task_queue)


@asynccontextmanager
async def read_model(settings: Settings) -> AsyncIterator[JourneyQueries]:
    """Lists, timelines and feeds from the read model (migrated on first use)."""
    url = settings.effective_database_url
    await migrate(url)
    engine = create_engine(url)
    try:
        yield JourneyQueries(sessionmaker(engine))
    finally:
        await engine.dispose()
