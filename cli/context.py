"""Build what a command needs from the settings and the global options (composition root).

Temporal, SQLAlchemy and httpx are imported here, when a command asks for a backend, not when
the CLI starts: ``--help`` and commands that stop at a bad value never load them.
"""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cli.backend import Backend
    from readmodel.queries import JourneyQueries
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
    settings: "Settings", *, lazy: bool = False
) -> AsyncIterator["JourneyService"]:
    """Commands and live state over a Temporal client."""
    from runtime.client import connect
    from service.journeys import JourneyService

    client = await connect(settings, lazy=lazy)
    yield JourneyService(client, settings.task_queue)


@asynccontextmanager
async def read_model(settings: "Settings") -> AsyncIterator["JourneyQueries"]:
    """Lists, timelines and feeds from the read model (migrated on first use)."""
    from readmodel.migrate import open_read_model
    from readmodel.queries import JourneyQueries

    async with open_read_model(settings.effective_database_url) as sessions:
        yield JourneyQueries(sessions)


@asynccontextmanager
async def backend(settings: "Settings", reader: str | None = None) -> AsyncIterator["Backend"]:
    """The HTTP API when ``--api`` is given, else Temporal and the read model directly, where
    ``reader`` (``--by``) is who the audit log names for each read."""
    if remote.url:
        from cli.remote import RemoteBackend

        api = RemoteBackend(remote.url, remote.token or "")
        try:
            yield api
        finally:
            await api.close()
        return
    from cli.direct import DirectBackend

    async with journey_service(settings, lazy=True) as journeys, read_model(settings) as queries:
        yield DirectBackend(settings, journeys, queries, reader=reader)
