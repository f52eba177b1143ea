"""Schemathesis against the served OpenAPI schema: no generated request gets a 5xx."""

import asyncio
from typing import Any

import httpx
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings

from api.app import create_app
from tests.api.conftest import ApiStack
from tests.serving import served

# Streams never end on their own; the browser test covers the live feed.
SKIP = {("GET", "/feed/stream")}
Operation = schemathesis.APIOperation[Any, Any, Any, Any]
Case = schemathesis.Case[Any]
EXAMPLES = 30


def _fuzz(base: str, headers: dict[str, str]) -> dict[str, int]:
    """Generate requests for every operation; return how many each got."""
    schema = schemathesis.openapi.from_url(f"{base}/openapi.json")
    calls: dict[str, int] = {}
    for result in schema.get_all_operations():
        operation = result.ok()  # type: ignore[union-attr]  # an invalid schema fails here
        if (operation.method.upper(), operation.path) not in SKIP:
            _fuzz_operation(operation, base, headers, calls)
    return calls


def _fuzz_operation(
    operation: Operation, base: str, headers: dict[str, str], calls: dict[str, int]
) -> None:
    label = f"{operation.method.upper()} {operation.path}"

    @given(case=operation.as_strategy())
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def run(case: Case) -> None:
        response = case.call(base_url=base, headers=headers, timeout=30)
        calls[label] = calls.get(label, 0) + 1
        assert response.status_code < 500, f"{label}: {response.status_code} {response.text[:300]}"

    run()


async def test_no_generated_request_causes_a_server_error(api: ApiStack) -> None:
    async with served(create_app(api.services)) as base:
        async with httpx.AsyncClient(base_url=base) as http:
            schema = (await http.get("/openapi.json")).json()
        assert "/journeys/{journey_id}/decisions" in schema["paths"]
        for staff in ("ops-1", "th-other"):
            headers = {"Authorization": f"Bearer {api.tokens[staff]}"}
            calls = await asyncio.to_thread(_fuzz, base, headers)
            assert len(calls) >= 15
            assert min(calls.values()) >= 1
