"""``journeys consent add|list|revoke`` and ``journeys disclosures``: in direct mode against the
read model, each call audited under --by by ids only; over --api, the consent routes."""

import asyncio
import json
from typing import Any

import httpx
import pytest

import cli.remote
from cli import render
from models.consent import DataClass, Purpose
from readmodel.consents import ConsentStore
from readmodel.db import create_engine, sessionmaker
from tests.cli import test_clients_cli

# The same read model in a temporary directory, CLI runner and audit log reader as the client
# record's commands.
database = test_clients_cli.database
journeys = test_clients_cli.journeys
audit = test_clients_cli.audit

RECIPIENT = "Dr Ingeborg Thorsdottir"
TERMS = ["--recipient", RECIPIENT, "--recipient-kind", "person", "--purpose", "treatment",
         "--data", "treatment_plans", "--data", "instrument_scores", "--from", "2026-01-01",
         "--signed-at", "2026-01-01T09:30:00+00:00"]  # fmt: skip


@pytest.fixture(autouse=True)
def wide(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tables as on a wide terminal: ids whole on one line."""
    monkeypatch.setattr(render.console, "_width", 250)


@pytest.fixture
def client(database: str) -> str:
    code, out = journeys("client", "add", "--given", "Wilhelmina", "--family", "Achterberg",
                         "--dob", "1991-02-05", "--by", "ops-1", "--json")  # fmt: skip
    assert code == 0, out
    return str(json.loads(out)["client_id"])


def test_add_list_revoke_and_list_again_each_audited_by_ids(database: str, client: str) -> None:
    code, out = journeys("consent", "add", client, *TERMS, "--until", "2026-12-31",
                         "--by", "ops-1")  # fmt: skip
    assert code == 0, out
    consent = out.strip()
    assert consent.startswith("CONS-")
    code, out = journeys("consent", "list", client, "--by", "ops-1", "--json")
    assert code == 0, out
    [listed] = json.loads(out)
    assert (listed["consent_id"], listed["recipient"], listed["revoked_at"]) == (
        consent,
        RECIPIENT,
        None,
    )
    assert listed["data"] == ["treatment_plans", "instrument_scores"]
    assert listed["expires_on"] == "2026-12-31"
    assert listed["recorded_by"] == "ops-1"
    code, out = journeys("consent", "list", client, "--by", "ops-1")
    assert code == 0, out
    assert consent in out
    assert "treatment" in out
    assert "revoked" in out  # the column, empty for now

    code, out = journeys("consent", "revoke", client, consent, "--by", "sv-gray")
    assert code == 0, out
    assert f"{consent} revoked at" in out
    code, out = journeys("consent", "list", client, "--by", "ops-1", "--json")
    [listed] = json.loads(out)
    assert listed["revoked_by"] == "sv-gray"
    assert listed["revoked_at"] is not None
    code, out = journeys("consent", "list", client, "--by", "ops-1")
    assert "by sv-gray" in out

    code, out = journeys("consent", "revoke", client, "CONS-NOSUCH234567", "--by", "sv-gray")
    assert (code, out.strip()) == (1, "error: consent not found")

    entries = asyncio.run(audit(database))
    consent_entries = [(e.actor, e.action, e.outcome) for e in reversed(entries)][1:]
    assert consent_entries == [
        ("ops-1", "consent.add", "ok"),
        ("ops-1", "consent.list", "ok"),
        ("ops-1", "consent.list", "ok"),
        ("sv-gray", "consent.revoke", "ok"),
        ("ops-1", "consent.list", "ok"),
        ("ops-1", "consent.list", "ok"),
        ("sv-gray", "consent.revoke", "not_found"),
    ]
    details = " ".join(e.detail or "" for e in entries)
    assert client in details
    assert consent in details
    for secret in ("Ingeborg", "Thorsdottir", "Wilhelmina", "treatment_plans"):
        assert secret not in details


def test_bad_values_are_one_line_exit_1_and_store_nothing(database: str, client: str) -> None:
    bad = [
        (["--purpose", "marketing"], "error: --purpose: give one of treatment, payment"),
        (["--purpose", "other"], "error: --purpose-detail: name the purpose when --purpose is"),
        (["--until", "2025-12-31"], "error: --until: before --from"),
        (["--data", "diary"], "error: --data: give one of all_records"),
        (["--recipient-kind", "robot"], "error: --recipient-kind: give one of person"),
        (["--from", "1 Jan"], "error: --from: give YYYY-MM-DD"),
        (["--signed-at", "2026-01-01T09:30"], "error: --signed-at: give the time zone"),
        (["--recipient", " "], "error: recipient:"),
    ]
    for changed, message in bad:
        code, out = journeys("consent", "add", client, *TERMS, *changed, "--by", "ops-1")
        assert code == 1, (changed, out)
        assert out.strip().startswith(message), (changed, out)
        assert len(out.strip().splitlines()) == 1, out
    code, out = journeys("consent", "add", client, *TERMS, "--purpose", "other",
                         "--purpose-detail", "research", "--by", "ops-1", "--json")  # fmt: skip
    assert code == 0, out
    assert json.loads(out)["purpose_detail"] == "research"
    code, out = journeys("consent", "list", client, "--by", "ops-1", "--json")
    assert [c["purpose"] for c in json.loads(out)] == ["other"]


def test_an_unknown_client_is_one_line_exit_1_and_stores_nothing(database: str) -> None:
    for args in (
        ["consent", "add", "C-NOSUCH2345", *TERMS],
        ["consent", "list", "C-NOSUCH2345"],
        ["consent", "revoke", "C-NOSUCH2345", "CONS-NOSUCH234567"],
        ["disclosures", "C-NOSUCH2345"],
    ):
        code, out = journeys(*args, "--by", "ops-1")
        assert (code, out.strip()) == (1, "error: client not found"), args
    entries = asyncio.run(audit(database))
    assert {(e.actor, e.outcome) for e in entries} == {("ops-1", "not_found")}
    assert asyncio.run(stored(database, "C-NOSUCH2345")) == ([], [])
    code, _ = journeys("consent", "list", "C-NOSUCH2345")
    assert code == 2  # --by is required without --api


def test_the_accounting_of_disclosures_empty_then_with_a_logged_disclosure(
    database: str, client: str
) -> None:
    code, out = journeys("disclosures", client, "--by", "ops-1", "--json")
    assert (code, json.loads(out)) == (0, [])
    code, out = journeys("disclosures", client, "--by", "ops-1")
    assert code == 0, out
    assert "none" in out
    code, out = journeys("consent", "add", client, *TERMS, "--by", "ops-1")
    consent = out.strip()
    disclosure = asyncio.run(disclose(database, client))

    code, out = journeys("disclosures", client, "--by", "ops-1", "--json")
    assert code == 0, out
    [row] = json.loads(out)
    assert row["disclosure_id"] == disclosure
    assert (row["consent_id"], row["recipient"], row["purpose"]) == (
        consent,
        RECIPIENT,
        "treatment",
    )
    assert (row["what"], row["disclosed_by"]) == ("care plan v2", "th-chen")
    code, out = journeys("disclosures", client, "--by", "ops-1")
    assert code == 0, out
    for shown in (consent, "Thorsdottir", "treatment", "care plan v2", "th-chen"):
        assert shown in out
    entries = asyncio.run(audit(database))
    assert [e.action for e in entries if e.action.startswith("disclosure")] == [
        "disclosure.list"
    ] * 4
    assert "Thorsdottir" not in " ".join(e.detail or "" for e in entries)


def test_over_the_api_each_command_is_its_route(
    monkeypatch: pytest.MonkeyPatch, database: str
) -> None:
    consent = {
        "consent_id": "CONS-API234567892", "client_id": "C-CLIENT2345", "recipient": RECIPIENT,
        "recipient_kind": "person", "purpose": "treatment", "purpose_detail": None,
        "data": ["treatment_plans"], "effective_from": "2026-01-01", "expires_on": None,
        "signed_at": "2026-01-01T09:30:00Z", "recorded_by": "ops-1",
        "recorded_at": "2026-01-01T10:00:00Z", "revoked_at": None, "revoked_by": None,
    }  # fmt: skip
    seen: list[tuple[str, str, Any]] = []

    def answer(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content) if request.content else None
        seen.append((request.method, request.url.path, body))
        if "CONS-NOSUCH" in request.url.path:
            return httpx.Response(404, json={"detail": "consent not found"})
        if request.url.path.startswith("/clients/C-NOSUCH2345"):
            return httpx.Response(404, json={"detail": "client not found"})
        if request.url.path.endswith("/disclosures"):
            return httpx.Response(200, json=[])
        if request.url.path.endswith("/revoke"):
            return httpx.Response(200, json={**consent, "revoked_at": "2026-02-01T08:00:00Z",
                                             "revoked_by": "ops-1"})  # fmt: skip
        if request.method == "GET":
            return httpx.Response(200, json=[consent])
        return httpx.Response(201, json=consent)

    real = cli.remote.RemoteBackend
    monkeypatch.setattr(
        cli.remote,
        "RemoteBackend",
        lambda url, token: real(url, token, transport=httpx.MockTransport(answer)),
    )
    api = ["--api", "http://api.test", "--token", "tok"]
    code, out = journeys(*api, "consent", "add", "C-CLIENT2345", *TERMS)
    assert (code, out.strip()) == (0, "CONS-API234567892")
    code, out = journeys(*api, "consent", "list", "C-CLIENT2345", "--json")
    assert [c["consent_id"] for c in json.loads(out)] == ["CONS-API234567892"]
    code, out = journeys(*api, "consent", "revoke", "C-CLIENT2345", "CONS-API234567892")
    assert (code, out.strip()) == (0, "CONS-API234567892 revoked at 2026-02-01 08:00")
    code, out = journeys(*api, "disclosures", "C-CLIENT2345", "--json")
    assert (code, json.loads(out)) == (0, [])
    code, out = journeys(*api, "consent", "list", "C-NOSUCH2345")
    assert (code, out.strip()) == (1, "error: client not found")
    code, out = journeys(*api, "consent", "revoke", "C-CLIENT2345", "CONS-NOSUCH234567")
    assert (code, out.strip()) == (1, "error: consent not found")
    assert [(m, p) for m, p, _ in seen] == [
        ("POST", "/clients/C-CLIENT2345/consents"),
        ("GET", "/clients/C-CLIENT2345/consents"),
        ("POST", "/clients/C-CLIENT2345/consents/CONS-API234567892/revoke"),
        ("GET", "/clients/C-CLIENT2345/disclosures"),
        ("GET", "/clients/C-NOSUCH2345/consents"),
        ("POST", "/clients/C-CLIENT2345/consents/CONS-NOSUCH234567/revoke"),
    ]
    assert seen[0][2] == {
        "recipient": RECIPIENT, "recipient_kind": "person", "purpose": "treatment",
        "purpose_detail": None, "data": ["treatment_plans", "instrument_scores"],
        "effective_from": "2026-01-01", "expires_on": None,
        "signed_at": "2026-01-01T09:30:00Z",
    }  # fmt: skip


async def stored(url: str, client_id: str) -> tuple[list[Any], list[Any]]:
    engine = create_engine(url)
    try:
        store = ConsentStore(sessionmaker(engine))
        return await store.consents(client_id), await store.disclosures(client_id)
    finally:
        await engine.dispose()


async def disclose(url: str, client_id: str) -> str:
    engine = create_engine(url)
    try:
        store = ConsentStore(sessionmaker(engine))
        data = [DataClass.TREATMENT_PLANS]
        consent = await store.covering(client_id, RECIPIENT, Purpose.TREATMENT, data)
        logged = await store.disclose(client_id, consent, data, "care plan v2", "fax", "th-chen")
        return logged.disclosure_id
    finally:
        await engine.dispose()


def test_export_writes_the_bundle_only_under_a_consent_and_logs_the_disclosure(
    database: str, client: str, tmp_path: Any
) -> None:
    out_file = tmp_path / "export.json"
    export = ["export", client, "--fhir", str(out_file), "--recipient", RECIPIENT,
              "--purpose", "treatment", "--by", "ops-1"]  # fmt: skip
    code, out = journeys(*export)
    assert code == 3, out
    assert "refused (no_consent): no consent names this recipient" in out
    assert not out_file.exists()
    code, out = journeys("consent", "add", client, "--recipient", RECIPIENT, "--recipient-kind",
                         "person", "--purpose", "treatment", "--data", "all_records", "--from",
                         "2026-01-01", "--signed-at", "2026-01-01T09:30:00+00:00",
                         "--by", "ops-1")  # fmt: skip
    assert code == 0, out
    consent = out.strip()
    code, out = journeys(*export)
    assert code == 0, out
    assert "disclosed" in out
    assert out_file.stat().st_mode & 0o777 == 0o600  # client data: owner only
    bundle = json.loads(out_file.read_text())
    assert bundle["resourceType"] == "Bundle"
    (patient,) = [e["resource"] for e in bundle["entry"]
                  if e["resource"]["resourceType"] == "Patient"]  # fmt: skip
    assert patient["name"][0]["family"] == "Achterberg"
    assert "42 CFR part 2" in bundle["meta"]["extension"][0]["valueString"]
    code, out = journeys("disclosures", client, "--by", "ops-1", "--json")
    (logged,) = json.loads(out)
    assert (logged["consent_id"], logged["channel"]) == (consent, "fhir_export")
    bad = ["export", client, "--fhir", str(out_file), "--recipient", RECIPIENT, "--by", "ops-1"]
    code, out = journeys(*bad, "--purpose", "gossip")
    assert code == 1
    code, out = journeys("export", "C-NOSUCHCLNT", *bad[2:], "--purpose", "treatment")
    assert (code, out.strip()) == (1, "error: client not found")
    entries = asyncio.run(audit(database))
    actions = [(e.action, e.outcome) for e in entries if e.action == "client.export"]
    assert ("client.export", "ok") in actions
    assert ("client.export", "Refused") in actions
