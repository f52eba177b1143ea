"""API services over a dev server, a running worker and a fresh SQLite read model."""

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from temporalio.testing import WorkflowEnvironment

from api.services import ApiServices
from delivery.store import DeliveryStore
from readmodel.access import AccessRepository
from readmodel.clients import ClientKeys, ClientStore
from readmodel.consents import ConsentStore
from readmodel.db import create_engine, sessionmaker
from readmodel.migrate import migrate
from readmodel.queries import JourneyQueries
from service.journeys import JourneyService
from tests.builders import policy
from tests.conftest import TEST_KEY, TEST_KEY_ID
from worker import create_worker


@asynccontextmanager
async def api_services(env: WorkflowEnvironment, directory: Path) -> AsyncIterator[ApiServices]:
    """Services for the API with a worker on a fresh task queue, until the block ends."""
    url = f"sqlite+aiosqlite:///{directory / 'journeys.db'}"
    await migrate(url)
    engine = create_engine(url)
    sessions = sessionmaker(engine)
    queue = f"api-{uuid.uuid4().hex[:8]}"
    services = ApiServices(
        journeys=JourneyService(env.client, queue),
        queries=JourneyQueries(sessions),
        access=AccessRepository(sessions),
        policy=policy(),
        deliveries=DeliveryStore(sessions),
        clients=ClientStore(sessions, ClientKeys.of({TEST_KEY_ID: TEST_KEY}, TEST_KEY_ID)),
        consents=ConsentStore(sessions),
        # As the API's own services: its client's (encrypting) codec serves /codec.
        codec=env.client.data_converter.payload_codec,
    )
    try:
        async with create_worker(env.client, queue, sessions):
            yield services
    finally:
        await engine.dispose()
