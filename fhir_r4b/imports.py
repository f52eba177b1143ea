"""In: an incoming QuestionnaireResponse or Patient mapped to the product's input, or refused.

Pure functions: a resource that cannot be mapped raises ``FhirInputError`` carrying an
OperationOutcome whose issue names the failing element, and nothing else happens.
"""

import json
from collections.abc import Mapping
from datetime import date, datetime
from functools import lru_cache
from typing import Any, NamedTuple, TypeVar

from fhir.resources.R4B.operationoutcome import OperationOutcome
from fhir.resources.R4B.patient import Patient
from fhir.resources.R4B.questionnaireresponse import QuestionnaireResponse
from pydantic import ValidationError

from clinical.errors import RuleViolation
from clinical.instruments import load_registry, score
from fhir_r4b import codes
from fhir_r4b.codes import InstrumentCodes, instrument_for_questionnaire
from fhir_r4b.facts import ExternalId, PatientFacts, PersonName, PostalAddress
from models.instruments import InstrumentDefinition, InstrumentRegistry, SexAtBirth

Json = dict[str, Any]
# Instruments a QuestionnaireResponse may record.
IMPORTABLE = ("PHQ-9", "GAD-7", "AUDIT", "AUDIT-C", "DAST-10")
_M = TypeVar("_M", QuestionnaireResponse, Patient)
_BIRTH_SEX = {"F": SexAtBirth.FEMALE, "M": SexAtBirth.MALE}


class FhirInputError(ValueError):
    """A resource that cannot be mapped; ``outcome`` says which element and why."""

    def __init__(self, expression: str, diagnostics: str, code: str = "invalid") -> None:
        super().__init__(f"{expression}: {diagnostics}")
        self.expression = expression
        self.outcome = OperationOutcome.model_validate(
            {
                "resourceType": "OperationOutcome",
                "issue": [
                    {
                        "severity": "error",
                        "code": code,
                        "diagnostics": diagnostics,
                        "expression": [expression],
                    }
                ],
            }
        )


class InstrumentAnswers(NamedTuple):
    """A QuestionnaireResponse as the product records it: instrument, answers, when, whose."""

    code: str
    answers: list[int]
    authored: datetime
    subject: str


@lru_cache(maxsize=1)
def _packaged_registry() -> InstrumentRegistry:
    return load_registry()


def questionnaire_response_to_instrument(
    resource_json: str | bytes | Mapping[str, Any],
    registry: InstrumentRegistry | None = None,
) -> InstrumentAnswers:
    """Map a LOINC-coded QuestionnaireResponse to an instrument's answers, in registry order.

    The answers are checked as staff entry checks them (item count and each item's allowed
    values) against ``registry`` (the packaged one by default).
    """
    raw = _load(resource_json, "QuestionnaireResponse")
    where = "QuestionnaireResponse"
    qr = _validate(QuestionnaireResponse, raw, where)
    if qr.status not in ("completed", "amended"):
        raise FhirInputError(f"{where}.status", f"status {qr.status!r} is not completed", "value")
    if not qr.questionnaire:
        raise FhirInputError(f"{where}.questionnaire", "no questionnaire named", "required")
    instrument = instrument_for_questionnaire(qr.questionnaire)
    if instrument is None or instrument.code not in IMPORTABLE:
        raise FhirInputError(
            f"{where}.questionnaire",
            f"questionnaire {qr.questionnaire!r} is not one of {', '.join(IMPORTABLE)}",
            "not-supported",
        )
    definition = (registry or _packaged_registry()).get(instrument.code)
    if definition is None:
        raise FhirInputError(
            f"{where}.questionnaire", f"{instrument.code} is not in the registry", "not-supported"
        )
    if qr.subject is None or not qr.subject.reference:
        raise FhirInputError(f"{where}.subject", "no subject reference", "required")
    if qr.authored is None:
        raise FhirInputError(f"{where}.authored", "no authored time", "required")
    authored = _aware(raw.get("authored"), qr.authored, f"{where}.authored")
    answers = _answers(raw.get("item") or [], instrument, definition)
    try:
        score(registry or _packaged_registry(), instrument.code, answers)
    except RuleViolation as exc:
        raise FhirInputError(f"{where}.item", str(exc), "value") from exc
    return InstrumentAnswers(instrument.code, answers, authored, qr.subject.reference)


def _answers(
    items: list[Json], instrument: InstrumentCodes, definition: InstrumentDefinition
) -> list[int]:
    numbers = {instrument.link_id(n): n for n in range(1, definition.items.count + 1)}
    found: dict[int, int] = {}
    for i, item in enumerate(items):
        where = f"QuestionnaireResponse.item[{i}]"
        link = str(item.get("linkId", "")).lstrip("/")
        if link == instrument.total:
            continue  # the total is computed here, never taken from the sender
        number = numbers.get(link)
        if number is None:
            raise FhirInputError(
                f"{where}.linkId", f"{link!r} is not an item of {instrument.code}", "not-supported"
            )
        if number in found:
            raise FhirInputError(f"{where}.linkId", f"item {link!r} answered twice", "duplicate")
        answer = item.get("answer") or []
        if len(answer) != 1:
            raise FhirInputError(
                f"{where}.answer", f"item {link!r} needs exactly one answer", "required"
            )
        value = _value(answer[0], instrument, number, f"{where}.answer[0]")
        allowed = definition.items.allowed(number)
        if value not in allowed:
            element = "valueCoding" if "valueCoding" in answer[0] else "valueInteger"
            raise FhirInputError(
                f"{where}.answer[0].{element}",
                f"item {link!r}: {value} is not one of {allowed}",
                "value",
            )
        found[number] = value
    missing = [instrument.link_id(n) for n in numbers.values() if n not in found]
    if missing:
        raise FhirInputError(
            "QuestionnaireResponse.item",
            f"{instrument.code} items not answered: {', '.join(missing)}",
            "required",
        )
    return [found[n] for n in sorted(found)]


def _value(answer: Json, instrument: InstrumentCodes, number: int, where: str) -> int:
    if "valueInteger" in answer:
        return int(answer["valueInteger"])
    coding = answer.get("valueCoding")
    if not isinstance(coding, dict):
        raise FhirInputError(where, "the answer is neither valueCoding nor valueInteger", "value")
    by_code = {c: v for v, c in instrument.answers.items()}
    if coding.get("system") == codes.LOINC and coding.get("code") in by_code:
        return by_code[coding["code"]]
    for extension in coding.get("extension") or []:
        if extension.get("url") == codes.ORDINAL_VALUE and "valueDecimal" in extension:
            ordinal = extension["valueDecimal"]
            if float(ordinal).is_integer():
                return int(ordinal)
    raise FhirInputError(
        f"{where}.valueCoding",
        f"answer code {coding.get('system')}|{coding.get('code')} of item {number} is not mapped",
        "code-invalid",
    )


def patient_to_facts(
    resource_json: str | bytes | Mapping[str, Any], mrn_system: str
) -> PatientFacts:
    """A Patient's facts; it must carry an identifier in ``mrn_system`` (the EHR's MRN)."""
    raw = _load(resource_json, "Patient")
    patient = _validate(Patient, raw, "Patient")
    identifiers = tuple(
        ExternalId(i.system, i.value) for i in patient.identifier or [] if i.system and i.value
    )
    if not any(i.system == mrn_system for i in identifiers):
        raise FhirInputError("Patient.identifier", f"no identifier in {mrn_system}", "required")
    telecom = {t.system: t.value for t in reversed(patient.telecom or []) if t.value}
    address = None
    if patient.address:
        a = patient.address[0]
        address = PostalAddress(
            tuple(x for x in a.line or [] if x), a.city, a.state, a.postalCode, a.country
        )
    language = next(
        (
            coding.code
            for c in patient.communication or []
            for coding in c.language.coding or []
            if coding.code
        ),
        None,
    )
    sex = SexAtBirth.UNKNOWN
    for extension in patient.extension or []:
        if extension.url == codes.BIRTH_SEX:
            sex = _BIRTH_SEX.get(str(extension.valueCode), SexAtBirth.UNKNOWN)
    return PatientFacts(
        client_id=None,
        names=tuple(
            PersonName(n.family, tuple(g for g in n.given or [] if g), n.use or "official")
            for n in patient.name or []
        ),
        birth_date=patient.birthDate if isinstance(patient.birthDate, date) else None,
        sex_at_birth=sex,
        identifiers=identifiers,
        phone=telecom.get("phone"),
        email=telecom.get("email"),
        address=address,
        language=language,
    )


def _load(resource_json: str | bytes | Mapping[str, Any], kind: str) -> Json:
    if isinstance(resource_json, Mapping):
        raw: Any = dict(resource_json)
    else:
        try:
            raw = json.loads(resource_json)
        except ValueError as exc:
            raise FhirInputError(kind, f"not JSON: {exc}", "structure") from exc
    if not isinstance(raw, dict):
        raise FhirInputError(kind, "not a JSON object", "structure")
    if raw.get("resourceType") != kind:
        raise FhirInputError(
            f"{kind}.resourceType", f"expected {kind}, got {raw.get('resourceType')!r}", "invalid"
        )
    return raw


def _validate(model: type[_M], raw: Json, kind: str) -> _M:
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        path = kind
        for part in first["loc"]:
            if isinstance(part, int):
                path += f"[{part}]"
            elif part != "__root__":
                path += f".{part}"
        raise FhirInputError(path, first["msg"], "structure") from exc


def _aware(text: Any, parsed: Any, where: str) -> datetime:
    if isinstance(parsed, datetime) and parsed.tzinfo is not None:
        return parsed
    raise FhirInputError(where, f"{text!r} is not a date-time with a time zone", "value")
