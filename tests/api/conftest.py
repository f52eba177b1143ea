"""The API in-process over a real dev server, a real worker and a SQLite read model."""

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest
from temporalio.testing import WorkflowEnvironment

from api.app import create_app
from api.services import ApiServices
from readmodel.access import AccessRepository, StaffRole
from readmodel.db import create_engine, sessionmaker
from readmodel.migrate import migrate
from readmodel.queries import JourneyQueries
from service.journeys import JourneyService
from tests.builders import policy
from worker import create_worker

STAFF = {
    "th-chen": StaffRole.CLINICIAN,
    "dr-ames": StaffRole.CLINICIAN,
    "th-other": StaffRole.CLINICIAN,
    "sv-gray": StaffRole.SUPERVISOR,
    "ops-1": StaffRole.OPERATIONS,
    "admin-1": StaffRole.ADMIN,
}


@dataclass
class ApiStack:
    """An app with its services and one token per staff member."""

    app: object
    services: ApiServices
    tokens: dict[str, str]

    def client(self, staff: str | None) -> httpx.AsyncClient:
        """An HTTP client acting as ``staff`` (None: no credentials)."""
        headers = {"Authorization": f"Bearer {self.tokens[staff]}"} if staff else {}
        transport = httpx.ASGITransport(app=self.app)  # type: ignore[arg-type]
        return httpx.AsyncClient(transport=transport, base_url="http://api", headers=headers)


@pytest.fixture(scope="module")
async def api(
    dev_env: WorkflowEnvironment, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[ApiStack]:
    """The API over a fresh read model and task queue, with a running worker."""
    url = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('api') / 'journeys.db'}"
    await migrate(url)
    engine = create_engine(url)
    sessions = sessionmaker(engine)
    queue = f"api-{uuid.uuid4().hex[:8]}"
    access = AccessRepository(sessions)
    tokens = {staff: await access.add_staff(staff, role) for staff, role in STAFF.items()}
    services = ApiServices(
        journeys=JourneyService(dev_env.client, queue),
        queries=JourneyQueries(sessions),
        access=access,
        policy=policy(),
    )
    async with create_worker(dev_env.client, queue, sessions):
        yield ApiStack(create_app(services), services, tokens)
    await engine.dispose()


TEAM = {
    "members": [
        {"member_id": "th-chen", "role": "therapist", "primary": True},
        {"member_id": "dr-ames", "role": "physician"},
        {"member_id": "cm-diaz", "role": "case_manager"},
        {"member_id": "sv-gray", "role": "supervisor"},
    ]
}
