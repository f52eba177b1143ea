"""The API in-process over a real dev server, a real worker and a SQLite read model."""

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest
from fastapi import FastAPI
from temporalio.testing import WorkflowEnvironment

from api.app import create_app
from api.services import ApiServices
from models.commands import StartJourney
from models.staff import StaffRole
from tests.stack import api_services

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

    app: FastAPI
    services: ApiServices
    tokens: dict[str, str]

    def client(self, staff: str | None) -> httpx.AsyncClient:
        """An HTTP client acting as ``staff`` (None: no credentials)."""
        headers = {"Authorization": f"Bearer {self.tokens[staff]}"} if staff else {}
        transport = httpx.ASGITransport(app=self.app)
        return httpx.AsyncClient(transport=transport, base_url="http://api", headers=headers)


@pytest.fixture(scope="module")
async def api(
    dev_env: WorkflowEnvironment, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[ApiStack]:
    """The API over a fresh read model and task queue, with a running worker."""
    async with api_services(dev_env, tmp_path_factory.mktemp("api")) as services:
        tokens = {s: await services.access.add_staff(s, role) for s, role in STAFF.items()}
        yield ApiStack(create_app(services), services, tokens)


TEAM = {
    "members": [
        {"member_id": "th-chen", "role": "therapist", "primary": True},
        {"member_id": "dr-ames", "role": "physician"},
        {"member_id": "cm-diaz", "role": "case_manager"},
        {"member_id": "sv-gray", "role": "supervisor"},
    ]
}


async def open_as(api: ApiStack, journey_id: str, by: str = "th-chen", **fields: str) -> None:
    """Open a journey under a name the test chooses, through the service as the API does
    (callers of the API never choose ids: ``POST /journeys`` generates them)."""
    start = {"journey_id": journey_id, "care_team": TEAM, "started_by": by, **fields}
    cmd = StartJourney.model_validate_json(
        json.dumps({**start, "policy": api.services.policy.model_dump(mode="json")})
    )
    await api.services.journeys.start(cmd)
