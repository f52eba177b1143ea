"""Build what a command needs from the settings and the global options (composition root)."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from cli.backend import Backend
from cli.direct import DirectBackend
from cli.remote import RemoteBackend
from readmodel.db import create_engine, sessionmaker
from readmodel.migrate import migrate
from readmodel.queries import JourneyQueries
from runtime.client import connect
from runtime.settings import Settings
from service.journeys import JourneyService


@dataclass
class Remote:
    """``--api`` and ``--token``: talk to the HTTP API instead of Temporal."""

    url: str | None = None
    token: str | None = None


remote = Remote()


@asynccontextmanager
async def journey_service(
    settings: Settings, *, lazy: bool = False
) -> AsyncIterator[JourneyService]:
    """Commands and live state over a Temporal client."""
    client = await connect(settings, lazy=lazy)
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


@asynccontextmanager
async def backend(settings: Settings) -> AsyncIterator[Backend]:
    """The HTTP API when ``--api`` is given, else Temporal and the read model directly."""
    if remote.url:
        api = RemoteBackend(remote.url, remote.token or "")
        try:
            yield api
        finally:
            await api.close()
        return
    async with journey_service(settings, lazy=True) as journeys, read_model(settings) as queries:
        yield DirectBackend(settings, journeys, queries)
