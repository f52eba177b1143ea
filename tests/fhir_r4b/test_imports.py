"""In: QuestionnaireResponses and Patients mapped back, or refused with an OperationOutcome."""

import copy
import json
from collections.abc import Callable
from datetime import date
from typing import Any

import pytest
from fhir.resources.R4B.operationoutcome import OperationOutcome

from clinical.instruments import load_registry
from fhir_r4b.export import build_bundle
from fhir_r4b.imports import (
    FhirInputError,
    patient_to_facts,
    questionnaire_response_to_instrument,
)
from models.instruments import SexAtBirth
from tests.builders import T0
from tests.fhir_r4b.records import (
    GAD7_ANSWERS,
    MRN_SYSTEM,
    PHQ9_ANSWERS,
    consent_facts,
    journey_record,
    patient_facts,
)

Json = dict[str, Any]


def _exported(kind: str) -> list[Json]:
    bundle = build_bundle(patient_facts(), [journey_record()], [consent_facts()])
    parsed = json.loads(bundle.model_dump_json(exclude_none=True))
    return [e["resource"] for e in parsed["entry"] if e["resource"]["resourceType"] == kind]


def _phq9() -> Json:
    return next(
        r for r in _exported("QuestionnaireResponse") if r["questionnaire"].endswith("44249-1")
    )


def _response(questionnaire: str, answers: list[Json]) -> Json:
    return {
        "resourceType": "QuestionnaireResponse",
        "questionnaire": questionnaire,
        "status": "completed",
        "subject": {"reference": "Patient/C-1"},
        "authored": "2026-03-01T10:00:00-07:00",
        "item": [{"linkId": str(n), "answer": [a]} for n, a in enumerate(answers, start=1)],
    }


def test_round_trip_gives_back_the_recorded_answers() -> None:
    by_questionnaire = {r["questionnaire"]: r for r in _exported("QuestionnaireResponse")}
    phq9 = questionnaire_response_to_instrument(by_questionnaire["http://loinc.org/q/44249-1"])
    assert phq9.code == "PHQ-9"
    assert phq9.answers == PHQ9_ANSWERS
    assert phq9.subject == "Patient/C-7F3K2"
    assert phq9.authored.tzinfo is not None
    assert phq9.authored > T0
    gad7 = questionnaire_response_to_instrument(
        json.dumps(by_questionnaire["http://loinc.org/q/69737-5"])
    )
    assert (gad7.code, gad7.answers) == ("GAD-7", GAD7_ANSWERS)


def test_items_in_any_order_and_total_item_ignored() -> None:
    resource = _phq9()
    resource["item"].reverse()
    resource["item"].append({"linkId": "44261-6", "answer": [{"valueInteger": 99}]})
    assert questionnaire_response_to_instrument(resource).answers == PHQ9_ANSWERS


@pytest.mark.parametrize(
    ("questionnaire", "answers", "code", "expected"),
    [
        (
            "urn:recovery-journeys:fhir:questionnaire:AUDIT",
            [{"valueInteger": v} for v in [1, 2, 0, 0, 1, 0, 0, 0, 2, 4]],
            "AUDIT",
            [1, 2, 0, 0, 1, 0, 0, 0, 2, 4],
        ),
        (
            "http://loinc.org/q/72109-2|2.76",
            [{"valueInteger": v} for v in [2, 1, 1]],
            "AUDIT-C",
            [2, 1, 1],
        ),
        (
            "urn:recovery-journeys:fhir:questionnaire:DAST-10",
            [{"valueCoding": {"system": "http://loinc.org", "code": c}} for c in
             ["LA33-6", "LA32-8", "LA32-8", "LA33-6", "LA32-8",
              "LA32-8", "LA32-8", "LA32-8", "LA32-8", "LA32-8"]],
            "DAST-10",
            [1, 0, 0, 1, 0, 0, 0, 0, 0, 0],
        ),
    ],
)  # fmt: skip
def test_audit_audit_c_and_dast10_map_to_the_registry(
    questionnaire: str, answers: list[Json], code: str, expected: list[int]
) -> None:
    resource = _response(questionnaire, answers)
    if code == "AUDIT-C":
        for item, link in zip(resource["item"], ["68518-0", "68519-8", "68520-6"], strict=True):
            item["linkId"] = link
    mapped = questionnaire_response_to_instrument(resource)
    assert (mapped.code, mapped.answers) == (code, expected)


def _drop_item(r: Json) -> None:
    del r["item"][3]


def _out_of_range(r: Json) -> None:
    r["item"][3]["answer"][0] = {"valueInteger": 4}


def _unknown_loinc(r: Json) -> None:
    r["item"][3]["answer"][0] = {"valueCoding": {"system": "http://loinc.org", "code": "LA0000-0"}}


def _wrong_questionnaire(r: Json) -> None:
    r["questionnaire"] = "http://loinc.org/q/44249-9"


def _not_a_questionnaire_response(r: Json) -> None:
    r["resourceType"] = "Observation"


def _unknown_item(r: Json) -> None:
    r["item"][3]["linkId"] = "12345-6"


def _two_answers(r: Json) -> None:
    r["item"][3]["answer"].append({"valueInteger": 1})


def _in_progress(r: Json) -> None:
    r["status"] = "in-progress"


def _no_subject(r: Json) -> None:
    del r["subject"]


def _not_a_coding(r: Json) -> None:
    r["item"][3]["answer"][0] = {"valueCoding": "often"}


def _answered_twice(r: Json) -> None:
    r["item"][4]["linkId"] = r["item"][3]["linkId"]


@pytest.mark.parametrize(
    ("change", "expression", "code"),
    [
        (_wrong_questionnaire, "QuestionnaireResponse.questionnaire", "not-supported"),
        (_drop_item, "QuestionnaireResponse.item", "required"),
        (_out_of_range, "QuestionnaireResponse.item[3].answer[0].valueInteger", "value"),
        (
            _unknown_loinc,
            "QuestionnaireResponse.item[3].answer[0].valueCoding",
            "code-invalid",
        ),
        (_not_a_questionnaire_response, "QuestionnaireResponse.resourceType", "invalid"),
        (_unknown_item, "QuestionnaireResponse.item[3].linkId", "not-supported"),
        (_two_answers, "QuestionnaireResponse.item[3].answer", "required"),
        (_in_progress, "QuestionnaireResponse.status", "value"),
        (_no_subject, "QuestionnaireResponse.subject", "required"),
        (_not_a_coding, "QuestionnaireResponse.item[3].answer[0].valueCoding", "structure"),
        (_answered_twice, "QuestionnaireResponse.item[4].linkId", "duplicate"),
    ],
)
def test_bad_responses_get_an_operation_outcome_naming_the_element(
    change: Callable[[Json], None], expression: str, code: str
) -> None:
    resource = _phq9()
    original = copy.deepcopy(resource)
    change(resource)
    kept = copy.deepcopy(resource)
    with pytest.raises(FhirInputError) as caught:
        questionnaire_response_to_instrument(resource)
    outcome = caught.value.outcome
    assert isinstance(outcome, OperationOutcome)
    parsed = OperationOutcome.model_validate(json.loads(outcome.model_dump_json()))
    (issue,) = parsed.issue
    assert issue.severity == "error"
    assert issue.code == code
    assert issue.expression == [expression]
    assert issue.diagnostics
    # Pure: the input is left as it came.
    assert resource == kept
    assert original != kept


def test_answer_ranges_follow_the_registry_given() -> None:
    registry = load_registry()
    resource = _phq9()
    assert questionnaire_response_to_instrument(resource, registry).answers == PHQ9_ANSWERS


def test_not_json_is_refused() -> None:
    with pytest.raises(FhirInputError) as caught:
        questionnaire_response_to_instrument("{not json")
    assert caught.value.expression == "QuestionnaireResponse"


def test_patient_round_trip_to_facts() -> None:
    (patient,) = _exported("Patient")
    facts = patient_to_facts(patient, MRN_SYSTEM)
    expected = patient_facts()
    assert facts.client_id is None
    assert facts.identifier(MRN_SYSTEM) == "MRN-004211"
    assert facts.names == expected.names
    assert facts.birth_date == date(1988, 4, 17)
    assert facts.sex_at_birth is SexAtBirth.FEMALE
    assert (facts.phone, facts.email) == (expected.phone, expected.email)
    assert facts.address == expected.address
    assert facts.language == "es"


def test_patient_without_the_mrn_system_is_refused() -> None:
    (patient,) = _exported("Patient")
    with pytest.raises(FhirInputError) as caught:
        patient_to_facts(patient, "urn:oid:1.2.3")
    assert caught.value.outcome.issue[0].expression == ["Patient.identifier"]


def test_patient_with_a_bad_element_names_it() -> None:
    (patient,) = _exported("Patient")
    patient["birthDate"] = "17/04/1988"
    with pytest.raises(FhirInputError) as caught:
        patient_to_facts(patient, MRN_SYSTEM)
    assert caught.value.outcome.issue[0].expression == ["Patient.birthDate"]
    with pytest.raises(FhirInputError) as caught:
        patient_to_facts(_phq9(), MRN_SYSTEM)
    assert caught.value.outcome.issue[0].expression == ["Patient.resourceType"]
