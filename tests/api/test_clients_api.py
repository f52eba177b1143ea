"""Client records over the API on a real dev server and worker: add, read, edit, search, a
client's journeys; scope, audit without PHI, and journeys that carry only the client's id."""

import asyncio
import json
from typing import Any

import httpx
from google.protobuf.message import Message
from temporalio.api.common.v1 import Payload
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from cli.clients import RemoteClients
from cli.remote import RemoteBackend
from models.client import ClientRecord
from readmodel.clients import ClientSearch
from tests.api.conftest import TEAM, ApiStack
from tests.conftest import encrypted_converter

RECORD: dict[str, Any] = {
    "legal_name": {"given": "Thaddeus", "family": "Okonkwo-Lindqvist"},
    "preferred_name": "Tad",
    "date_of_birth": "1979-08-23",
    "sex_at_birth": "male",
    "identifiers": [{"system": "urn:ehr:mrn", "value": "MRN-904417"}],
    "phone": "+1 720 555 0163",
    "address": {"lines": ["88 Juniper Hollow Rd"], "city": "Golden"},
    "payer": {"name": "Peak Mutual", "member_id": "PKM-66120934"},
}
PHI = ["Thaddeus", "Okonkwo", "1979-08-23", "MRN-904417", "555 0163", "Juniper", "PKM-66120934"]


async def add_client(api: ApiStack, by: str = "ops-1", **changes: Any) -> str:
    async with api.client(by) as http:
        answer = await http.post("/clients", json={**RECORD, **changes})
    assert answer.status_code == 201, answer.text
    client_id: str = answer.json()["client_id"]
    return client_id


async def test_add_read_edit_and_find_a_client(api: ApiStack) -> None:
    client_id = await add_client(api)
    assert client_id.startswith("C-")
    assert len(client_id) == 12
    async with api.client("ops-1") as http:
        got = await http.get(f"/clients/{client_id}")
        assert got.status_code == 200
        assert got.json()["record"]["legal_name"] == RECORD["legal_name"]
        edited = await http.put(f"/clients/{client_id}", json={**RECORD, "pronouns": "he/him"})
        assert edited.status_code == 200
        assert edited.json()["record"]["pronouns"] == "he/him"
        by_name = await http.get("/clients", params={"name": "thaddeus  okonkwo-LINDQVIST"})
        assert [c["client_id"] for c in by_name.json()] == [client_id]
        by_dob_and_mrn = await http.get(
            "/clients", params={"dob": "1979-08-23", "mrn": "MRN-904417"}
        )
        assert [c["client_id"] for c in by_dob_and_mrn.json()] == [client_id]
        partial = await http.get("/clients", params={"name": "Thaddeus"})
        assert partial.json() == []
        nothing = await http.get("/clients")
        assert nothing.status_code == 422


async def test_bad_values_are_named_not_echoed_and_unknown_ids_are_404(api: ApiStack) -> None:
    async with api.client("ops-1") as http:
        bad = await http.post("/clients", json={**RECORD, "phone": "call Thaddeus at home"})
        assert bad.status_code == 422
        assert bad.json()["detail"][0]["loc"] == ["body", "phone"]
        assert "Thaddeus" not in bad.text
        huge = await http.post("/clients", json={**RECORD, "pronouns": "x" * 100_000})
        assert huge.status_code == 422
        assert len(huge.text) < 2_000
        for path in (
            "/clients/C-NOSUCH2345",
            "/clients/not-an-id",
            "/clients/C-NOSUCH2345/journeys",
        ):
            missing = await http.get(path)
            assert missing.status_code == 404
            assert missing.json() == {"detail": "client not found"}
        put = await http.put("/clients/C-NOSUCH2345", json=RECORD)
        assert put.status_code == 404


async def test_journeys_carry_only_the_client_id_and_a_second_admission_links(
    api: ApiStack, dev_env: WorkflowEnvironment
) -> None:
    client_id = await add_client(api)
    async with api.client("th-chen") as http:
        # A clinician sees no client before one of its journeys has them on the team.
        hidden = await http.get(f"/clients/{client_id}")
        assert hidden.status_code == 404
        assert (await http.get("/clients", params={"mrn": "MRN-904417"})).json() == []
        unknown = await http.post(
            "/journeys", json={"care_team": TEAM, "client_id": "C-NOSUCH2345"}
        )
        assert unknown.status_code == 422
        assert unknown.json()["detail"][0]["loc"] == ["body", "client_id"]
        first = await http.post("/journeys", json={"care_team": TEAM, "client_id": client_id})
        second = await http.post("/journeys", json={"care_team": TEAM, "client_id": client_id})
        assert first.status_code == second.status_code == 201
        journeys = {first.json()["journey_id"], second.json()["journey_id"]}
        # A journey is linked once its start is projected into the read model.
        for _ in range(100):
            listed = await http.get(f"/clients/{client_id}/journeys")
            if listed.status_code == 200 and len(listed.json()) == len(journeys):
                break
            await asyncio.sleep(0.05)
        seen = await http.get(f"/clients/{client_id}")
        assert seen.status_code == 200
        listed = await http.get(f"/clients/{client_id}/journeys")
        assert {j["journey_id"] for j in listed.json()} == journeys
        assert {j["client_id"] for j in listed.json()} == {client_id}
    async with api.client("th-other") as http:
        assert (await http.get(f"/clients/{client_id}")).status_code == 404
        assert (await http.get(f"/clients/{client_id}/journeys")).status_code == 404
        assert (await http.put(f"/clients/{client_id}", json=RECORD)).status_code == 404
        assert (await http.get("/clients", params={"mrn": "MRN-904417"})).json() == []

    # A client without the codec reads the history as the server stores it.
    temporal = Client(dev_env.client.service_client, namespace=dev_env.client.namespace)
    for journey_id in journeys:
        handle = temporal.get_workflow_handle(f"journey-{journey_id}")
        history = await handle.fetch_history()
        raw = history.to_json().encode()
        decoded = await decrypted_payloads(history.events)
        described = await handle.describe()
        attributes = repr(described.typed_search_attributes) + repr(described.search_attributes)
        for secret in PHI:
            assert secret.encode() not in raw, secret
            assert secret.encode() not in decoded, secret
            assert secret not in attributes, secret
            assert secret not in described.id
        assert client_id.encode() in decoded
        assert client_id not in attributes


async def decrypted_payloads(events: Any) -> bytes:
    """Every payload of the history, decrypted with the test key, concatenated."""
    found: list[Payload] = []

    def walk(message: Message) -> None:
        if isinstance(message, Payload):
            found.append(message)
            return
        for _field, value in message.ListFields():
            items = (
                value if isinstance(value, list | tuple) or hasattr(value, "extend") else [value]
            )
            for item in items:
                if isinstance(item, Message):
                    walk(item)

    for event in events:
        walk(event)
    codec = encrypted_converter().payload_codec
    assert codec is not None
    return b"".join(p.data for p in await codec.decode(found))


async def test_every_client_read_and_write_is_audited_without_phi(api: ApiStack) -> None:
    client_id = await add_client(api, by="admin-1")
    async with api.client("admin-1") as http:
        await http.get(f"/clients/{client_id}")
        await http.put(f"/clients/{client_id}", json=RECORD)
        await http.get("/clients", params={"name": "Thaddeus Okonkwo-Lindqvist"})
        await http.get(f"/clients/{client_id}/journeys")
    log = [e.model_dump(mode="json") for e in await api.services.access.audit_log(limit=1000)]
    mine = [
        e for e in log if e["actor"] == "admin-1" and e["action"].split()[-1].startswith("/clients")
    ]
    assert {e["action"] for e in mine} >= {
        "POST /clients",
        "GET /clients/{client_id}",
        "PUT /clients/{client_id}",
        "GET /clients",
        "GET /clients/{client_id}/journeys",
    }
    assert all(client_id in (e["detail"] or "") for e in mine)
    text = json.dumps(log)
    for secret in PHI:
        assert secret not in text, secret


async def test_the_cli_over_the_api_reads_and_writes_as_the_token_owner(api: ApiStack) -> None:
    transport = httpx.ASGITransport(app=api.app)
    backend = RemoteBackend("http://api", api.tokens["ops-1"], transport=transport)
    clients = RemoteClients(backend)
    try:
        record = ClientRecord.model_validate_json(
            json.dumps({"legal_name": {"given": "Anselm", "family": "Brightwater"},
                        "date_of_birth": "1960-12-31"})
        )  # fmt: skip
        client_id = await clients.add(record)
        view, linked = await clients.show(client_id)
        assert view.record == record
        assert linked == []
        found = await clients.find(ClientSearch(name="Anselm Brightwater"))
        assert [c.client_id for c in found] == [client_id]
        edited = await clients.edit(client_id, record.model_copy(update={"pronouns": "he/him"}))
        assert edited.record.pronouns == "he/him"
    finally:
        await backend.close()
