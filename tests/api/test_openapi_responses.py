"""The OpenAPI schema lists every answer a route gives, and the error answers match it."""

from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from api.app import create_app
from api.errors import RETRY_UNAVAILABLE_S, install
from api.responses import ErrorBody
from models.commands import OPERATIONS
from service.journeys import JourneyUnavailableError
from tests.api.conftest import ApiStack, open_as

ERROR_REF = "#/components/schemas/ErrorBody"


@pytest.fixture
async def schema() -> dict[str, Any]:
    # The served document, as a client sees it; no services are needed to describe the API.
    transport = httpx.ASGITransport(app=create_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://api") as http:
        response = await http.get("/openapi.json")
    assert response.status_code == 200
    body: dict[str, Any] = response.json()
    return body


def _errors(operation: dict[str, Any]) -> set[str]:
    return {
        code
        for code, answer in operation["responses"].items()
        if answer.get("content", {}).get("application/json", {}).get("schema", {}).get("$ref")
        == ERROR_REF
    }


def test_the_error_body_is_a_named_schema(schema: dict[str, Any]) -> None:
    body = schema["components"]["schemas"]["ErrorBody"]
    assert body["required"] == ["detail"]
    assert set(body["properties"]) == {"detail", "code"}


def test_every_command_route_lists_401_403_404_409_503_with_the_error_body(
    schema: dict[str, Any],
) -> None:
    commands = [
        (path, method, operation)
        for path, methods in schema["paths"].items()
        for method, operation in methods.items()
        if "journey commands" in operation["tags"]
    ]
    # One route per line of the command table that has one (notes included).
    assert len(commands) == len([op for op in OPERATIONS if op.path is not None]) == 12
    for path, method, operation in commands:
        assert _errors(operation) == {"401", "403", "404", "409", "503"}, (method, path)
        assert {"200", "422"} <= set(operation["responses"]), (method, path)
        for code in ("401", "403", "404", "409", "503"):
            assert operation["responses"][code]["description"], (method, path, code)


@pytest.mark.parametrize(
    ("method", "path", "errors"),
    [
        ("post", "/journeys", {"401", "403", "409"}),
        ("get", "/journeys", {"401", "403"}),
        ("get", "/journeys/{journey_id}", {"401", "403", "404", "503"}),
        ("get", "/journeys/{journey_id}/progress", {"401", "403", "404", "503"}),
    ],
)
def test_journey_routes_list_their_errors(
    schema: dict[str, Any], method: str, path: str, errors: set[str]
) -> None:
    assert _errors(schema["paths"][path][method]) == errors


async def test_each_listed_error_is_answered_with_the_error_body(api: ApiStack) -> None:
    async with api.client("th-chen") as http:
        await open_as(api, "J-OAS-1")
        answers = {
            409: await http.post("/journeys/J-OAS-1/check-ins"),  # not in aftercare
            404: await http.get("/journeys/J-OAS-NOSUCH"),
        }
        refused = answers[409]
    async with api.client(None) as http:
        answers[401] = await http.post("/journeys/J-OAS-1/events", json={"kind": "relapse"})
    async with api.client("ops-1") as http:
        phq9 = {"code": "PHQ-9", "answers": [0] * 9}
        answers[403] = await http.post("/journeys/J-OAS-1/instruments", json=phq9)
    assert refused.status_code == 409
    for status, answer in [*answers.items(), (409, refused)]:
        assert answer.status_code == status, answer.text
        body = ErrorBody.model_validate(answer.json())
        assert body.detail
        assert set(answer.json()) <= {"detail", "code"}
        if status in (403, 409):
            assert body.code, answer.text


async def test_a_journey_moving_to_another_worker_is_answered_503_with_retry_after() -> None:
    # What the service raises when a query is refused for a stale wake-up past its retries
    # (tests/integration/test_query_on_another_worker.py produces the refusal for real).
    app = FastAPI()
    install(app)

    @app.get("/journeys/{journey_id}")
    async def moving(journey_id: str) -> None:
        raise JourneyUnavailableError(f"journey {journey_id} is moving to another worker")

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://api") as http:
        answer = await http.get("/journeys/J-MOVING")
    assert answer.status_code == 503
    assert answer.headers["retry-after"] == RETRY_UNAVAILABLE_S
    body = ErrorBody.model_validate(answer.json())
    assert body.code == "journey_unavailable"
    assert "J-MOVING" in body.detail
