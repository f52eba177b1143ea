"""Sex at birth at intake and the AUDIT-C cut-off it chooses; progress figures that hold."""

import json
from typing import Any

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.testing import WorkflowEnvironment

from runtime.codec import ENCODING
from tests.api.conftest import TEAM, ApiStack, open_as
from workflows.temporal_policy import journey_workflow_id

AUDIT_C_3 = {"code": "AUDIT-C", "answers": [1, 1, 1]}


async def _start(api: ApiStack, journey_id: str, **extra: Any) -> None:
    await open_as(api, journey_id, **extra)


@pytest.mark.parametrize(
    ("journey_id", "extra", "band", "cutoff_for"),
    [
        ("J-AUDC-F", {"sex_at_birth": "female"}, "positive", "female"),
        ("J-AUDC-M", {"sex_at_birth": "male"}, "negative", "male"),
        ("J-AUDC-U", {"sex_at_birth": "unknown"}, "positive", "unknown"),
        ("J-AUDC-N", {}, "positive", "unknown"),
    ],
)
async def test_audit_c_of_3_follows_the_sex_recorded_at_intake(
    api: ApiStack, journey_id: str, extra: dict[str, str], band: str, cutoff_for: str
) -> None:
    await _start(api, journey_id, **extra)
    async with api.client("th-chen") as http:
        scored = await http.post(f"/journeys/{journey_id}/instruments", json=AUDIT_C_3)
        assert scored.status_code == 200, scored.text
        detail = (await http.get(f"/journeys/{journey_id}")).json()
    instrument = scored.json()["instrument"]
    assert (instrument["total"], instrument["band"], instrument["cutoff_for"]) == (
        3, band, cutoff_for,
    )  # fmt: skip
    summaries = [e["summary"] for e in detail["timeline"]["events"]]
    assert any(s.startswith(f"AUDIT-C recorded: 3 ({band}") for s in summaries)
    if extra.get("sex_at_birth") in ("female", "male"):
        # A known sex never reaches the read model, the live view or the timeline.
        assert "sex" not in json.dumps(detail)


async def test_an_invalid_sex_at_birth_is_refused_naming_the_field(api: ApiStack) -> None:
    async with api.client("th-chen") as http:
        before = len((await http.get("/journeys", params={"limit": 500})).json()["items"])
        body = {"care_team": TEAM, "sex_at_birth": "f"}
        refused = await http.post("/journeys", json=body)
        after = len((await http.get("/journeys", params={"limit": 500})).json()["items"])
    assert refused.status_code == 422
    assert refused.json()["detail"][0]["loc"] == ["body", "sex_at_birth"]
    assert after == before  # nothing was started


async def test_sex_at_birth_stays_in_the_encrypted_state(
    api: ApiStack, dev_env: WorkflowEnvironment
) -> None:
    await _start(api, "J-AUDC-ENC", sex_at_birth="female")
    handle = dev_env.client.get_workflow_handle(journey_workflow_id("J-AUDC-ENC"))
    description = await handle.describe()
    attributes = {p.key.name: p.value for p in description.typed_search_attributes}
    assert "female" not in json.dumps(attributes, default=str)
    async for event in handle.fetch_history_events():
        if event.event_type is EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED:
            payloads = event.workflow_execution_started_event_attributes.input.payloads
            assert [p.metadata["encoding"] for p in payloads] == [ENCODING]
            assert b"female" not in payloads[0].data
            break
    else:
        raise AssertionError("no start event")


async def test_progress_of_a_first_phq9_of_1_claims_no_remission(api: ApiStack) -> None:
    # Issue 11, item 6, through the API: a first PHQ-9 of 1 then 0 is neither a response nor a
    # remission (the first score was never at least 5).
    await _start(api, "J-API-REM")
    async with api.client("th-chen") as http:
        for answers in ([1] + [0] * 8, [0] * 9):
            done = await http.post(
                "/journeys/J-API-REM/instruments", json={"code": "PHQ-9", "answers": answers}
            )
            assert done.status_code == 200, done.text
        progress = (await http.get("/journeys/J-API-REM/progress")).json()
    (trend,) = progress["trends"]
    assert (trend["baseline"], trend["latest"]) == (1, 0)
    assert (trend["response"], trend["remission"]) == (None, None)
    assert trend["outcome_note"] == (
        "first score 1 is below 5: response and remission are not measured"
    )
    assert progress["milestones"] == []
