"""Commands are idempotent: a client that retries with its Idempotency-Key gets the first
answer back, and the journey records the command once."""

from typing import Any

from tests.api.conftest import TEAM, ApiStack, open_as

RATINGS = {"d1": 3, "d2": 2, "d3": 1, "d4": 1, "d5": 3, "d6": 3}


def _kinds(detail: dict[str, Any], kind: str) -> int:
    return len([e for e in detail["timeline"]["events"] if e["kind"] == kind])


async def test_a_retried_command_is_applied_once_and_answers_the_same(api: ApiStack) -> None:
    async with api.client("th-chen") as http:
        await open_as(api, "J-IDEM")
        key = {"Idempotency-Key": "assess-7f3a"}
        first = await http.post("/journeys/J-IDEM/assessments", json={"dimensions": RATINGS},
                                headers=key)  # fmt: skip
        again = await http.post("/journeys/J-IDEM/assessments", json={"dimensions": RATINGS},
                                headers=key)  # fmt: skip
        assert first.status_code == again.status_code == 200, again.text
        assert again.json() == first.json()
        for _ in range(3):
            crisis = await http.post(
                "/journeys/J-IDEM/events",
                json={"kind": "crisis"},
                headers={"Idempotency-Key": "c1"},
            )
            assert crisis.status_code == 200
        # Without a key every request is a new command.
        for _ in range(2):
            await http.post("/journeys/J-IDEM/events", json={"kind": "missed_session"})
        detail = (await http.get("/journeys/J-IDEM")).json()
    assert _kinds(detail, "assessment_recorded") == 1
    reported = [e["refs"].get("event") for e in detail["timeline"]["events"]
                if e["kind"] == "clinical_event_reported"]  # fmt: skip
    assert reported.count("crisis") == 1
    assert reported.count("missed_session") == 2


async def test_the_same_key_from_another_account_or_operation_is_another_command(
    api: ApiStack,
) -> None:
    async with api.client("th-chen") as http:
        await open_as(api, "J-IDEM-2")
        headers = {"Idempotency-Key": "shared"}
        await http.post("/journeys/J-IDEM-2/notes", json={"text": "one"}, headers=headers)
        await http.post("/journeys/J-IDEM-2/events", json={"kind": "crisis"}, headers=headers)
    async with api.client("dr-ames") as http:
        await http.post("/journeys/J-IDEM-2/notes", json={"text": "two"}, headers=headers)
        detail = (await http.get("/journeys/J-IDEM-2")).json()
    assert _kinds(detail, "note_added") == 2
    assert _kinds(detail, "clinical_event_reported") == 1


async def test_a_retried_start_opens_one_journey(api: ApiStack) -> None:
    async with api.client("th-chen") as http:
        body = {"care_team": TEAM}
        first = await http.post("/journeys", json=body, headers={"Idempotency-Key": "start-1"})
        again = await http.post("/journeys", json=body, headers={"Idempotency-Key": "start-1"})
        other = await http.post("/journeys", json=body, headers={"Idempotency-Key": "start-2"})
        plain = [await http.post("/journeys", json=body) for _ in range(2)]
    assert first.status_code == again.status_code == 201, again.text
    assert again.json()["journey_id"] == first.json()["journey_id"]
    ids = {r.json()["journey_id"] for r in [first, other, *plain]}
    assert len(ids) == 4
    # The id says nothing of the key (a hash, never the caller's text).
    assert "start" not in first.json()["journey_id"]
    async with api.client("dr-ames") as http:
        theirs = await http.post("/journeys", json=body, headers={"Idempotency-Key": "start-1"})
    assert theirs.json()["journey_id"] != first.json()["journey_id"]


async def test_a_bad_key_is_refused_and_nothing_changes(api: ApiStack) -> None:
    async with api.client("th-chen") as http:
        await open_as(api, "J-IDEM-3")
        for bad in ("", "x" * 65, "has space", "-leading", "a/b"):
            refused = await http.post(
                "/journeys/J-IDEM-3/notes", json={"text": "n"}, headers={"Idempotency-Key": bad}
            )
            assert refused.status_code == 422, bad
            assert refused.json()["detail"][0]["loc"] == ["header", "Idempotency-Key"]
        detail = (await http.get("/journeys/J-IDEM-3")).json()
    assert _kinds(detail, "note_added") == 0
