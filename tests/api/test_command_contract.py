"""One command contract: the table, the journey's updates, the routes and their bodies agree;
a note travels the whole path (route, journey, timeline, feed, audit) and never leaves."""

import json

from temporalio import workflow

from api.app import create_app
from api.services import ApiServices
from delivery.templates import email_message, render_webhook
from models.commands import OPERATIONS, CommandResult
from models.delivery import ExternalChannel, GenericType, OutboundMessage, generic_type
from models.journey import EventKind
from tests.api.conftest import ApiStack, open_as
from workflows.journey import ClientJourneyWorkflow

ROUTED = [op for op in OPERATIONS if op.path is not None]


def test_every_line_of_the_table_is_an_update_taking_its_command() -> None:
    updates = workflow._Definition.must_from_class(ClientJourneyWorkflow).updates
    for op in OPERATIONS:
        assert op.name in updates, op.name
        assert updates[op.name].arg_types == [op.command], op.name
        assert updates[op.name].ret_type is CommandResult
        assert op.command.ACTOR in op.command.model_fields
    assert len({op.name for op in OPERATIONS}) == len(OPERATIONS)
    assert len({op.cli for op in OPERATIONS if op.cli}) == len([o for o in OPERATIONS if o.cli])


def test_each_route_takes_its_command_without_the_actor(api: ApiStack) -> None:
    schema = create_app(ApiServices.__new__(ApiServices)).openapi()
    operations = {
        o["operationId"]: (path, method, o)
        for path, methods in schema["paths"].items()
        for method, o in methods.items()
    }
    for op in ROUTED:
        path, method, declared = operations[op.name]
        assert (path, method) == (f"/journeys/{{journey_id}}{op.path}", str(op.method).lower())
        ref = declared["requestBody"]["content"]["application/json"]["schema"]["$ref"]
        body = schema["components"]["schemas"][ref.rsplit("/", 1)[-1]]
        sent = set(op.command.model_fields) - {op.command.ACTOR} - set(op.path_fields)
        assert set(body["properties"]) == sent, op.name
        assert {"200", "401", "403", "404", "409", "422"} <= set(declared["responses"])
    created = operations["create_journey_journeys_post"][2]
    assert "requestBody" in created


async def test_a_note_reaches_the_timeline_and_the_team_but_not_outside(api: ApiStack) -> None:
    text = "Asked for a Spanish-speaking group; prefers evening sessions."
    async with api.client("th-chen") as http:
        await open_as(api, "J-NOTE")
        noted = await http.post("/journeys/J-NOTE/notes", json={"text": f"  {text} "})
        assert noted.status_code == 200, noted.text
        assert noted.json()["message"] == "note added"
        seq = noted.json()["seq"]
        # The actor is the token's owner: naming another one is refused, nothing is written.
        forged = await http.post("/journeys/J-NOTE/notes", json={"text": "x", "written_by": "x"})
        assert forged.status_code == 422
        assert forged.json()["detail"][0]["loc"] == ["body", "written_by"]
        for bad in ({"text": ""}, {"text": "   "}, {"text": "x" * 501}, {}, {"text": 5}):
            refused = await http.post("/journeys/J-NOTE/notes", json=bad)
            assert refused.status_code == 422, bad
            assert refused.json()["detail"][0]["loc"][:2] == ["body", "text"], bad
        garbled = await http.post(
            "/journeys/J-NOTE/notes",
            content=b"{not json",
            headers={"content-type": "application/json"},
        )
        assert garbled.status_code == 422
        detail = (await http.get("/journeys/J-NOTE")).json()
    (event,) = [e for e in detail["timeline"]["events"] if e["kind"] == "note_added"]
    assert event["summary"] == text
    async with api.client("dr-ames") as http:
        feed = (await http.get("/feed")).json()["items"]
    assert [i["summary"] for i in feed if i["journey_id"] == "J-NOTE" and i["seq"] == seq] == [text]
    async with api.client("th-chen") as http:
        own = (await http.get("/feed")).json()["items"]
    assert not [i for i in own if i["journey_id"] == "J-NOTE" and i["seq"] == seq]
    entries = await api.services.access.audit_log(limit=20, journey_id="J-NOTE")
    outcomes = [(e.actor, e.action, e.outcome) for e in entries]
    assert ("th-chen", "POST /journeys/{journey_id}/notes", "ok") in outcomes
    assert ("th-chen", "POST /journeys/{journey_id}/notes", "invalid") in outcomes
    # What could leave the program about it is a category and a link, never the note.
    message = OutboundMessage.model_validate_json(json.dumps({
        "key": f"J-NOTE:{seq}:dr-ames:email", "channel": ExternalChannel.EMAIL, "seq": seq,
        "target": "dr-ames", "journey_id": "J-NOTE", "kind": EventKind.NOTE_ADDED,
        "priority": event["priority"], "occurred_at": event["occurred_at"],
    }))  # fmt: skip
    assert generic_type(EventKind.NOTE_ADDED) is GenericType.CARE_UPDATE
    mail = email_message(message, "https://journeys.example.org", "j@example.org", "a@b.org")
    assert "Spanish" not in mail.as_string()
    assert b"Spanish" not in render_webhook(message, "https://journeys.example.org")


async def test_a_note_on_a_journey_of_another_team_is_refused(api: ApiStack) -> None:
    await open_as(api, "J-NOTE-2")
    async with api.client("th-other") as http:
        refused = await http.post("/journeys/J-NOTE-2/notes", json={"text": "not my client"})
    # Answered as a journey that does not exist: the answer confirms no id.
    assert (refused.status_code, refused.json()) == (404, {"detail": "journey not found"})
    async with api.client("th-chen") as http:
        events = (await http.get("/journeys/J-NOTE-2")).json()["timeline"]["events"]
    assert "note_added" not in {e["kind"] for e in events}  # nothing was written


async def test_commands_at_and_over_their_limits_never_break_a_journey(api: ApiStack) -> None:
    """A 500-character reason is taken and the journey keeps answering; 200,000 dimension keys
    are refused before the journey is asked."""
    async with api.client("th-chen") as http:
        await open_as(api, "J-LIMITS")
        huge = {f"k{i}": 1 for i in range(200_000)}
        refused = await http.post("/journeys/J-LIMITS/assessments", json={"dimensions": huge})
        assert refused.status_code == 422
        assert refused.json()["detail"][0]["loc"] == ["body", "dimensions"]
        reason = "r" * 500
        taken = await http.post("/journeys/J-LIMITS/reassessments", json={"reason": reason})
        assert taken.status_code in (200, 409), taken.text
        noted = await http.post("/journeys/J-LIMITS/notes", json={"text": "n" * 500})
        assert noted.status_code == 200, noted.text
        detail = await http.get("/journeys/J-LIMITS")
        assert detail.status_code == 200
        assert detail.json()["live"]["phase"] == "intake"
