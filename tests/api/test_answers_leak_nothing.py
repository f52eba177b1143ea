"""Answers tell no more than they must: security headers on every answer, validation errors that
do not echo the input, journey ids checked before they reach the audit log, and a journey
outside one's team answered as one that does not exist."""

from dataclasses import replace

import httpx
import pytest

from api.app import create_app
from readmodel.access import AccessRepository
from readmodel.db import create_engine, sessionmaker
from readmodel.migrate import migrate
from tests.api.conftest import STAFF, TEAM, ApiStack, open_as
from tests.readmodel.conftest import pg_url  # noqa: F401 (the PostgreSQL database fixture)
from tests.readmodel.support import reset

LONG_IDS = ["J" * 60_000, "J" * 41, "J-%2E%2E-bad id"]


async def _journey(api: ApiStack, journey_id: str) -> None:
    await open_as(api, journey_id, "ops-1")


def _assert_guarded(answer: httpx.Response) -> None:
    assert "frame-ancestors 'none'" in answer.headers["content-security-policy"]
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert answer.headers["referrer-policy"] == "no-referrer"
    assert "no-store" in answer.headers["cache-control"]


async def test_pages_and_json_answers_carry_the_security_headers(api: ApiStack) -> None:
    await _journey(api, "J-HDR-1")
    async with api.client("th-chen") as http:
        answers = [
            await http.get("/"),
            await http.get("/ui/journeys/J-HDR-1"),
            await http.get("/ui/feed"),
            await http.get("/journeys/J-HDR-1"),
            await http.get("/journeys"),
            await http.get("/journeys/J-HDR-NONE"),
            await http.post("/journeys/J-HDR-1/notes", json={"text": ""}),
        ]
    async with api.client(None) as anonymous:
        answers += [await anonymous.get("/login"), await anonymous.get("/me")]
    for answer in answers:
        _assert_guarded(answer)
    page = answers[0].headers["content-security-policy"]
    # The dashboard's own scripts, styles and live feed still load; nothing else does.
    for directive in ("default-src 'self'", "style-src 'self'", "connect-src 'self'"):
        assert directive in page
    assert "unsafe-inline" not in page


async def test_the_api_docs_keep_their_viewer_and_refuse_framing(api: ApiStack) -> None:
    async with api.client(None) as anonymous:
        docs = await anonymous.get("/docs")
    assert docs.status_code == 200
    _assert_guarded(docs)
    assert "https://cdn.jsdelivr.net" in docs.headers["content-security-policy"]


async def test_a_validation_answer_does_not_echo_a_large_input(api: ApiStack) -> None:
    await _journey(api, "J-ECHO-1")
    huge = "Z" * 100_000
    async with api.client("th-chen") as http:
        note = await http.post("/journeys/J-ECHO-1/notes", json={"text": huge})
        started = await http.post("/journeys", json={"care_team": TEAM, "journey_id": huge})
        form = await http.post("/ui/journeys/J-ECHO-1/reassess", data={"reason": huge})
    for answer in (note, started):
        assert answer.status_code == 422
        assert "ZZZZZZZZZZ" not in answer.text
        assert len(answer.text) < 2_000
        assert answer.json()["detail"][0]["loc"][-1] in ("text", "journey_id")
    assert "ZZZZZZZZZZ" not in form.text + form.headers.get("location", "")


@pytest.mark.parametrize("journey_id", LONG_IDS, ids=["60000", "41", "bad-characters"])
async def test_a_bad_journey_id_is_a_short_404_with_a_bounded_audit_row(
    api: ApiStack, journey_id: str
) -> None:
    async with api.client("ops-1") as http:
        for answer in (
            await http.get(f"/journeys/{journey_id}"),
            await http.post(f"/journeys/{journey_id}/events", json={"kind": "crisis"}),
            await http.get(f"/ui/journeys/{journey_id}"),
        ):
            assert answer.status_code == 404
            assert len(answer.content) < 4_000
            assert "JJJJJJJJJJJJJJJJJJJJJJJJJJJJJJJJJJJJJJJJJ" not in answer.text
    entries = await api.services.access.audit_log(limit=3)
    for entry in entries:
        assert (entry.actor, entry.outcome) == ("ops-1", "invalid_id")
        assert entry.journey_id is None
        assert entry.detail is not None
        assert len(entry.detail) <= 100


async def test_a_bad_journey_id_is_audited_on_postgresql(
    api: ApiStack,
    pg_url: str,  # noqa: F811
) -> None:
    await reset(pg_url)
    await migrate(pg_url)
    engine = create_engine(pg_url)
    services = replace(api.services, access=AccessRepository(sessionmaker(engine)))
    try:
        tokens = {"ops-pg": await services.access.add_staff("ops-pg", STAFF["ops-1"])}
        transport = httpx.ASGITransport(app=create_app(services))
        headers = {"Authorization": f"Bearer {tokens['ops-pg']}"}
        async with httpx.AsyncClient(
            transport=transport, base_url="http://api", headers=headers
        ) as http:
            for journey_id in LONG_IDS[:2]:
                answer = await http.get(f"/journeys/{journey_id}")
                assert answer.status_code == 404
                assert len(answer.content) < 200
        entries = await services.access.audit_log(limit=2)
        assert [(e.outcome, e.journey_id) for e in entries] == [("invalid_id", None)] * 2
    finally:
        await engine.dispose()


@pytest.fixture
async def out_of_team(api: ApiStack) -> str:
    await _journey(api, "J-HIDDEN-1")
    return "J-HIDDEN-1"


async def test_a_journey_outside_the_team_answers_as_a_missing_one(
    api: ApiStack, out_of_team: str
) -> None:
    async with api.client("th-other") as http:
        for template in ("/journeys/{}", "/journeys/{}/progress", "/ui/journeys/{}"):
            there = await http.get(template.format(out_of_team))
            missing = await http.get(template.format("J-NEVER-1"))
            assert there.status_code == missing.status_code == 404
            assert there.content == missing.content
        for path, body in (("notes", {"text": "hello"}), ("events", {"kind": "crisis"})):
            there = await http.post(f"/journeys/{out_of_team}/{path}", json=body)
            missing = await http.post(f"/journeys/J-NEVER-1/{path}", json=body)
            assert there.status_code == missing.status_code == 404
            assert there.json() == missing.json() == {"detail": "journey not found"}
    # The audit log keeps the real reason.
    hidden = await api.services.access.audit_log(limit=5, journey_id=out_of_team)
    assert {e.outcome for e in hidden} == {"forbidden"}
    missing_entries = await api.services.access.audit_log(limit=5, journey_id="J-NEVER-1")
    assert {e.outcome for e in missing_entries} <= {"not_found", "JourneyNotFoundError"}
