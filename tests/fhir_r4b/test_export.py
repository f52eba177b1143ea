"""The Bundle: every resource valid R4B, labelled, with ids and references from opaque ids."""

import json
import re
from collections import Counter
from typing import Any

import pytest
from fhir.resources.R4B.bundle import Bundle

from fhir_r4b import codes
from fhir_r4b.codes import fhir_id
from fhir_r4b.export import build_bundle
from fhir_r4b.facts import PatientFacts
from tests.fhir_r4b.records import (
    PHQ9_ANSWERS,
    SECRET_FAMILY,
    SECRET_NAME,
    consent_facts,
    journey_record,
    patient_facts,
)

Json = dict[str, Any]


def _bundle_json(bundle_type: str = "collection", revoked: bool = False) -> Json:
    bundle = build_bundle(
        patient_facts(),
        [journey_record()],
        [consent_facts(revoked)],
        "searchset" if bundle_type == "searchset" else "collection",
    )
    parsed: Json = json.loads(bundle.model_dump_json(exclude_none=True))
    return parsed


def _resources(bundle: Json, kind: str | None = None) -> list[Json]:
    return [
        e["resource"]
        for e in bundle["entry"]
        if kind is None or e["resource"]["resourceType"] == kind
    ]


@pytest.mark.parametrize("bundle_type", ["collection", "searchset"])
def test_every_resource_parses_as_r4b(bundle_type: str) -> None:
    bundle = _bundle_json(bundle_type)
    parsed = Bundle.model_validate(bundle)
    assert parsed.type == bundle_type
    kinds = Counter(r["resourceType"] for r in _resources(bundle))
    assert kinds == {
        "Patient": 1,
        "EpisodeOfCare": 1,
        "CareTeam": 1,
        "Encounter": 3,
        "Goal": 2,
        "CarePlan": 2,
        "Task": kinds["Task"],
        "QuestionnaireResponse": 2,
        "Observation": 2,
        "Communication": 1,
        "Consent": 1,
    }
    assert kinds["Task"] >= 1
    if bundle_type == "searchset":
        assert parsed.total == len(bundle["entry"])
        assert all(e["search"]["mode"] == "match" for e in bundle["entry"])


def test_every_entry_carries_the_part2_labels() -> None:
    bundle = _bundle_json()
    wanted = [(s["system"], s["code"]) for s in codes.SECURITY_LABELS]
    assert ("http://terminology.hl7.org/CodeSystem/v3-ActCode", "42CFRPart2") in wanted
    assert ("http://terminology.hl7.org/CodeSystem/v3-Confidentiality", "R") in wanted
    assert ("http://terminology.hl7.org/CodeSystem/v3-ActCode", "NORDSCLCD") in wanted
    for resource in _resources(bundle):
        labels = [(s["system"], s["code"]) for s in resource["meta"]["security"]]
        assert labels == wanted, resource["resourceType"]


def test_ids_come_from_opaque_ids_never_names() -> None:
    bundle = _bundle_json()
    for entry in bundle["entry"]:
        resource = entry["resource"]
        assert entry["fullUrl"] == f"{resource['resourceType']}/{resource['id']}"
        for secret in (SECRET_NAME, SECRET_FAMILY, "1988", "MRN-004211"):
            assert secret not in resource["id"]
    assert _resources(bundle, "Patient")[0]["id"] == "C-7F3K2"


def test_every_reference_resolves_inside_the_bundle_or_names_staff() -> None:
    bundle = _bundle_json()
    urls = {e["fullUrl"] for e in bundle["entry"]}
    text = json.dumps(bundle)
    references = set(re.findall(r'"reference": "([^"]+)"', text))
    assert references
    for reference in references:
        assert reference in urls or reference.startswith("Practitioner/"), reference


def test_journey_maps_to_episode_encounters_and_plans() -> None:
    bundle = _bundle_json()
    episode = _resources(bundle, "EpisodeOfCare")[0]
    assert episode["status"] == "active"
    assert [h["status"] for h in episode["statusHistory"]] == ["planned", "active"]
    assert episode["careManager"] == {"reference": "Practitioner/th-chen"}
    encounters = _resources(bundle, "Encounter")
    assert [e["type"][0]["coding"][0]["code"] for e in encounters] == ["intake", "3.7-WM", "3.5"]
    assert [e["status"] for e in encounters] == ["finished", "finished", "in-progress"]
    assert [e["class"]["code"] for e in encounters] == ["AMB", "IMP", "IMP"]
    plans = {p["id"]: p for p in _resources(bundle, "CarePlan")}
    first, second = fhir_id("plan", "J-FHIR-1", 1), fhir_id("plan", "J-FHIR-1", 2)
    assert plans[first]["status"] == "revoked"
    assert "replaces" not in plans[first]
    assert plans[second]["status"] == "active"
    assert plans[second]["replaces"] == [{"reference": f"CarePlan/{first}"}]
    goals = {g["id"]: g for g in _resources(bundle, "Goal")}
    g1 = goals[fhir_id("goal", "J-FHIR-1", "g1")]
    assert g1["lifecycleStatus"] == "completed"
    assert g1["achievementStatus"]["coding"][0]["code"] == "achieved"
    team = _resources(bundle, "CareTeam")[0]
    assert {p["member"]["reference"] for p in team["participant"]} >= {
        "Practitioner/th-chen",
        "Practitioner/sv-gray",
    }
    for task in _resources(bundle, "Task"):
        assert task["status"] in {"ready", "completed", "cancelled"}
        assert task["restriction"]["period"]["end"]
        assert task["owner"]["reference"].startswith("Practitioner/")


def test_scores_map_to_loinc_coded_responses_and_observations() -> None:
    bundle = _bundle_json()
    observations = {o["code"]["text"]: o for o in _resources(bundle, "Observation")}
    assert observations["PHQ-9"]["code"]["coding"][0] == {
        "system": "http://loinc.org",
        "code": "44261-6",
    }
    assert observations["PHQ-9"]["valueInteger"] == sum(PHQ9_ANSWERS)
    assert observations["GAD-7"]["code"]["coding"][0]["code"] == "70274-6"
    responses = {r["questionnaire"]: r for r in _resources(bundle, "QuestionnaireResponse")}
    phq9 = responses["http://loinc.org/q/44249-1"]
    assert [i["linkId"] for i in phq9["item"]] == list(codes.INSTRUMENTS["PHQ-9"].items)
    assert phq9["item"][8]["linkId"] == "44260-8"
    assert phq9["item"][1]["answer"][0]["valueCoding"]["code"] == "LA6570-1"
    assert observations["PHQ-9"]["derivedFrom"] == [
        {"reference": f"QuestionnaireResponse/{phq9['id']}"}
    ]
    assert "http://loinc.org/q/69737-5" in responses


def test_communication_says_how_and_when_never_what_or_to_whom_by_name() -> None:
    bundle = _bundle_json()
    (communication,) = _resources(bundle, "Communication")
    assert communication["status"] == "completed"
    assert communication["category"][0]["coding"][0]["code"] == "work_due"
    assert communication["medium"][0]["coding"][0]["code"] == "ELECTRONIC"
    assert communication["sent"]
    assert "payload" not in communication
    assert "note" not in communication
    text = json.dumps(communication)
    for secret in (SECRET_NAME, SECRET_FAMILY, "Roz", "1988-04-17", "MRN-004211", "Trigger"):
        assert secret not in text


@pytest.mark.parametrize(("revoked", "status"), [(False, "active"), (True, "inactive")])
def test_consent_maps_recipient_purpose_classes_and_period(revoked: bool, status: str) -> None:
    (consent,) = _resources(_bundle_json(revoked=revoked), "Consent")
    assert consent["status"] == status
    provision = consent["provision"]
    assert provision["actor"][0]["reference"]["display"] == "Valley Primary Care"
    assert provision["purpose"][0]["code"] == "TREAT"
    assert provision["purpose"][1]["display"] == "care coordination"
    assert [c["code"] for c in provision["class"]] == ["assessments", "plans"]
    assert provision["period"] == {"start": "2026-01-05", "end": "2027-01-05"}
    assert consent["dateTime"].startswith("2026-01-05T09:00:00")


def test_a_patient_needs_our_opaque_id() -> None:
    with pytest.raises(ValueError, match="client_id"):
        build_bundle(PatientFacts(client_id=None))


def test_ids_are_one_to_one_and_fit_fhir() -> None:
    assert fhir_id("a_b") != fhir_id("a-b") != fhir_id("a.b") != fhir_id("a:b")
    assert fhir_id("a", "b-c") != fhir_id("a-b", "c")
    long = fhir_id("x" * 64, "y" * 64)
    assert len(long) <= 64
    assert long != fhir_id("x" * 64, "y" * 63)
