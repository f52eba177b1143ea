"""FHIR R4B out over the API: an export is a disclosure. Refused without an active consent
covering recipient, purpose and data; under one, a Bundle fhir.resources parses, every entry
labelled, carrying the Part 2 notice, and logged in the client's accounting of disclosures."""

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from fhir.resources.R4B.bundle import Bundle

from models.consent import PART2_NOTICE
from tests.api.conftest import ApiStack, open_as

MRN = "https://ehr.example.org/mrn"
RECORD = {
    "legal_name": {"given": "Maria", "family": "Alvarez"}, "date_of_birth": "1988-04-12",
    "identifiers": [{"system": MRN, "value": "MRN-448812"}],
}  # fmt: skip
TODAY = datetime.now(UTC).date()
CLINIC = "Riverside Primary Care"
PHQ9_SELF_HARM = [1, 1, 1, 1, 1, 1, 1, 1, 1]


def _consent(**changes: object) -> dict[str, object]:
    return {
        "recipient": CLINIC, "recipient_kind": "organisation", "purpose": "treatment",
        "data": ["all_records"], "effective_from": str(TODAY),
        "expires_on": str(TODAY + timedelta(days=365)),
        "signed_at": datetime.now(UTC).isoformat(), **changes,
    }  # fmt: skip


async def _client_in_treatment(api: ApiStack, journey: str) -> str:
    async with api.client("ops-1") as http:
        client = str((await http.post("/clients", json=RECORD)).json()["client_id"])
    await open_as(api, journey, "ops-1", client_id=client)
    async with api.client("th-chen") as http:
        for _ in range(100):
            if (await http.get(f"/clients/{client}")).status_code == 200:
                break
            await asyncio.sleep(0.1)
        phq9 = {"code": "PHQ-9", "answers": PHQ9_SELF_HARM}
        assert (await http.post(f"/journeys/{journey}/instruments", json=phq9)).status_code == 200
    return client


async def _export(http: httpx.AsyncClient, client: str, **params: str) -> httpx.Response:
    query = {"recipient": CLINIC, "purpose": "treatment", **params}
    return await http.get(f"/fhir/Patient/{client}/$everything", params=query)


def _resources(body: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [e["resource"] for e in body["entry"] if e["resource"]["resourceType"] == kind]


async def test_an_export_without_a_consent_is_refused_and_discloses_nothing(
    api: ApiStack,
) -> None:
    client = await _client_in_treatment(api, "J-FHIR-1")
    async with api.client("th-chen") as http:
        refused = await _export(http, client)
        assert refused.status_code == 403
        assert refused.json() == {"detail": "no consent names this recipient", "code": "no_consent"}
        assert "Alvarez" not in refused.text
        # A consent to part of the record does not cover the whole of it.
        narrow = _consent(data=["episodes", "instrument_scores"])
        assert (await http.post(f"/clients/{client}/consents", json=narrow)).status_code == 201
        partial = await _export(http, client)
        assert partial.status_code == 403
        assert "all of the data" in partial.json()["detail"]
        assert (await http.get(f"/clients/{client}/disclosures")).json() == []
    entries = await api.services.access.audit_log(limit=30)
    refusals = [e for e in entries if e.outcome == "no_consent"]
    assert refusals
    assert all("Alvarez" not in (e.detail or "") for e in entries)


async def test_an_export_under_a_consent_is_a_logged_disclosure(api: ApiStack) -> None:
    client = await _client_in_treatment(api, "J-FHIR-2")
    async with api.client("th-chen") as http:
        consent = (await http.post(f"/clients/{client}/consents", json=_consent())).json()
        exported = await _export(http, client)
        assert exported.status_code == 200, exported.text
        assert exported.headers["content-type"].startswith("application/fhir+json")
        body = exported.json()
        for_payment = await _export(http, client, purpose="payment")
        elsewhere = await _export(http, client, recipient="Another Clinic")
        (disclosure,) = (await http.get(f"/clients/{client}/disclosures")).json()
        revoke = f"/clients/{client}/consents/{consent['consent_id']}/revoke"
        assert (await http.post(revoke)).status_code == 200
        after_revocation = await _export(http, client)
        accounting = (await http.get(f"/clients/{client}/disclosures")).json()
    Bundle.model_validate(body)  # a valid FHIR R4B Bundle
    assert body["type"] == "searchset"
    (patient,) = _resources(body, "Patient")
    assert patient["name"][0]["family"] == "Alvarez"
    assert patient["identifier"][0]["value"] == "MRN-448812"
    assert _resources(body, "EpisodeOfCare")
    (response,) = _resources(body, "QuestionnaireResponse")
    assert len(response["item"]) == 9
    assert _resources(body, "Consent")
    for entry in body["entry"]:
        labels = {s["code"] for s in entry["resource"]["meta"]["security"]}
        assert {"42CFRPart2", "R", "NORDSCLCD"} <= labels
    assert body["meta"]["extension"][0]["valueString"] == PART2_NOTICE
    assert for_payment.status_code == elsewhere.status_code == 403
    assert (disclosure["consent_id"], disclosure["recipient"], disclosure["purpose"]) == (
        consent["consent_id"], CLINIC, "treatment",
    )  # fmt: skip
    assert disclosure["notice"] == PART2_NOTICE
    assert disclosure["channel"] == "fhir_export"
    # Revocation stops the next export at once; the accounting keeps what was disclosed.
    assert after_revocation.status_code == 403
    assert "revoked" in after_revocation.json()["detail"]
    assert [d["disclosure_id"] for d in accounting] == [disclosure["disclosure_id"]]


async def test_a_client_outside_ones_teams_cannot_be_exported(api: ApiStack) -> None:
    client = await _client_in_treatment(api, "J-FHIR-3")
    async with api.client("th-chen") as http:
        await http.post(f"/clients/{client}/consents", json=_consent())
    async with api.client("th-other") as http:
        hidden = await _export(http, client)
        missing = await _export(http, "C-NOSUCHCLNT")
    assert hidden.status_code == missing.status_code == 404
    async with api.client("th-chen") as http:
        assert (await http.get(f"/clients/{client}/disclosures")).json() == []


EHR_MRN = "urn:recovery-journeys:ehr-mrn"
PATIENT: dict[str, Any] = {
    "resourceType": "Patient",
    "identifier": [{"system": EHR_MRN, "value": "MRN-900173"}],
    "name": [{"use": "official", "family": "Okafor", "given": ["Chidi"]}],
    "birthDate": "1979-11-02",
}


async def test_a_patient_is_created_once_and_matched_by_mrn_after(api: ApiStack) -> None:
    async with api.client("ops-1") as http:
        created = await http.post("/fhir/Patient", json=PATIENT)
        again = await http.post("/fhir/Patient", json=PATIENT)
        no_mrn = await http.post("/fhir/Patient", json={**PATIENT, "identifier": []})
        no_birth = {k: v for k, v in PATIENT.items() if k != "birthDate"}
        other_mrn = [{"system": EHR_MRN, "value": "MRN-1"}]
        no_dob = await http.post("/fhir/Patient", json={**no_birth, "identifier": other_mrn})
        not_json = await http.post("/fhir/Patient", content=b"{oops")
    assert (created.status_code, again.status_code) == (201, 200)
    assert created.json()["id"] == again.json()["id"]
    assert created.headers["content-type"].startswith("application/fhir+json")
    for refused, where in ((no_mrn, "Patient.identifier"), (no_dob, "Patient.birthDate"),
                           (not_json, "Patient")):  # fmt: skip
        assert refused.status_code == 422
        outcome = refused.json()
        assert outcome["resourceType"] == "OperationOutcome"
        assert outcome["issue"][0]["expression"] == [where]
    async with api.client("th-chen") as http:
        assert (await http.post("/fhir/Patient", json=PATIENT)).status_code == 403


async def test_a_phq9_questionnaire_response_fires_the_item_9_trigger(api: ApiStack) -> None:
    # A PHQ-9 as an EHR sends it: the one exported from another client's journey.
    source = await _client_in_treatment(api, "J-FHIR-SRC")
    async with api.client("th-chen") as http:
        await http.post(f"/clients/{source}/consents", json=_consent())
        (response,) = _resources((await _export(http, source)).json(), "QuestionnaireResponse")
    async with api.client("ops-1") as http:
        patient = {**PATIENT, "identifier": [{"system": EHR_MRN, "value": "MRN-PHQ9"}]}
        client = str((await http.post("/fhir/Patient", json=patient)).json()["id"])
    await open_as(api, "J-FHIR-IN", "ops-1", client_id=client)
    async with api.client("th-chen") as http:
        for _ in range(100):
            if (await http.get(f"/clients/{client}")).status_code == 200:
                break
            await asyncio.sleep(0.1)
        incoming = {**response, "subject": {"reference": f"Patient/{client}"}}
        incoming.pop("id", None)
        bad = {**incoming, "item": incoming["item"][:8]}
        refused = await http.post("/fhir/QuestionnaireResponse", json=bad)
        recorded = await http.post("/fhir/QuestionnaireResponse", json=incoming)
        stranger = {**incoming, "subject": {"reference": "Patient/C-NOSUCHCLNT"}}
        unknown = await http.post("/fhir/QuestionnaireResponse", json=stranger)
        detail = (await http.get("/journeys/J-FHIR-IN")).json()
    async with api.client("ops-1") as http:
        not_clinical = await http.post("/fhir/QuestionnaireResponse", json=incoming)
    assert refused.status_code == 422
    assert refused.json()["resourceType"] == "OperationOutcome"
    assert recorded.status_code == 200, recorded.text
    assert recorded.json()["instrument"]["code"] == "PHQ-9"
    assert "self_harm_risk" in recorded.json()["instrument"]["flags"]
    kinds = [e["kind"] for e in detail["timeline"]["events"]]
    assert kinds.count("instrument_recorded") == 1  # the refused one changed nothing
    assert "trigger_fired" in kinds
    assert any(t["kind"] == "safety_follow_up" for t in detail["timeline"]["tasks"])
    assert unknown.status_code == 404
    assert not_clinical.status_code == 403
    assert not_clinical.json()["code"] == "clinical_role_required"
