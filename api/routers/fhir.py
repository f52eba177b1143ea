"""FHIR R4B out: ``GET /fhir/Patient/{id}/$everything`` discloses a client's record to a named
recipient for a named purpose, only under an active consent covering it (42 CFR Part 2).

An export is a disclosure: it is checked against the client's consents (refused with the
reason otherwise, and audited), logged in the accounting of disclosures, and the Bundle carries
the Part 2 notice prohibiting redisclosure.
"""

import json
from typing import Annotated

from fastapi import APIRouter, FastAPI, HTTPException, Query, Request, status
from fastapi.responses import JSONResponse
from pydantic import TypeAdapter, ValidationError

from api.deps import Audit, Audited, Services
from api.responses import error_responses
from api.routers.clients import visible_client
from api.routers.commands import send_command
from api.services import ApiServices
from fhir_r4b.facts import (
    PatientFacts,
)
from fhir_r4b.imports import FhirInputError, patient_to_facts, questionnaire_response_to_instrument
from models.client import ClientId, ClientRecord
from models.commands import CommandResult, RecordInstrument
from models.consent import Purpose
from readmodel.access import SEES_ALL
from readmodel.clients import ClientSearch
from readmodel.consents import DisclosureRefusedError
from service.disclosure import RecordSources, export_everything
from service.ids import new_client_id

router = APIRouter(prefix="/fhir", tags=["FHIR R4B"])
_CLIENT_IDS: TypeAdapter[str] = TypeAdapter(ClientId)
FHIR_JSON = "application/fhir+json"
Recipient = Annotated[str, Query(min_length=1, max_length=500)]


def _sources(services: ApiServices) -> RecordSources:
    return RecordSources(
        clients=services.clients, consents=services.consents, queries=services.queries,
        deliveries=services.deliveries, registry=services.policy.instruments,
    )  # fmt: skip


async def _visible_record(services: ApiServices, audit: Audit, client_id: str) -> ClientRecord:
    return (await visible_client(services, audit, client_id)).record


@router.get(
    "/Patient/{client_id}/$everything",
    responses={**error_responses(401, 403, 404), 200: {"content": {FHIR_JSON: {}}}},
)
async def everything(
    client_id: str, recipient: Recipient, purpose: Purpose, services: Services, audit: Audited
) -> JSONResponse:
    """Disclose the client's whole record as a FHIR R4B searchset Bundle to ``recipient`` for
    ``purpose``: refused (403 ``no_consent``, with the reason) unless an active consent of the
    client covers them; logged in the client's accounting of disclosures."""
    record = await _visible_record(services, audit, client_id)
    try:
        body, disclosed = await export_everything(
            _sources(services), client_id, record, recipient, purpose, audit.staff.staff_id
        )
    except DisclosureRefusedError as exc:
        audit.outcome = "no_consent"
        audit.detail = f"client {client_id}; {exc}"
        return JSONResponse({"detail": str(exc), "code": "no_consent"}, status.HTTP_403_FORBIDDEN)
    audit.detail = f"client {client_id}; disclosure {disclosed.disclosure_id}"
    return JSONResponse(body, media_type=FHIR_JSON)


def _outcome(
    error: FhirInputError, code: int = status.HTTP_422_UNPROCESSABLE_CONTENT
) -> JSONResponse:
    """The OperationOutcome naming the failing element; nothing was changed."""
    body = error.outcome.model_dump(mode="json", exclude_none=True)
    return JSONResponse(body, code, media_type=FHIR_JSON)


def _refusal(expression: str, why: str, code: int, kind: str = "invalid") -> JSONResponse:
    return _outcome(FhirInputError(expression, why, kind), code)


def client_record(facts: PatientFacts) -> ClientRecord:
    """A client record from a FHIR Patient's facts.

    Raises:
        FhirInputError: a fact the record needs is missing or invalid (named by element).
    """
    official = next((n for n in facts.names if n.use == "official"), None) or next(
        iter(facts.names), None
    )
    if official is None or not official.given or not official.family:
        raise FhirInputError("Patient.name", "an official name with given and family", "required")
    if facts.birth_date is None:
        raise FhirInputError("Patient.birthDate", "the date of birth is required", "required")
    usual = next((n for n in facts.names if n.use == "usual" and n.given), None)
    address = facts.address
    record: dict[str, object] = {
        "legal_name": {"given": " ".join(official.given), "family": official.family},
        "preferred_name": usual.given[0] if usual else None,
        "date_of_birth": facts.birth_date.isoformat(), "sex_at_birth": facts.sex_at_birth.value,
        "identifiers": [{"system": i.system, "value": i.value} for i in facts.identifiers],
        "phone": facts.phone, "email": facts.email,
        "address": {"lines": list(address.lines), "city": address.city,
                    "region": address.state, "postal_code": address.postal_code,
                    "country": address.country} if address and address.lines and address.city
        else None,
        "preferred_language": facts.language,
    }  # fmt: skip
    try:
        return ClientRecord.model_validate_json(json.dumps({k: v for k, v in record.items()
                                                            if v is not None}))  # fmt: skip
    except ValidationError as exc:
        where = ".".join(str(p) for p in exc.errors()[0]["loc"])
        raise FhirInputError(f"Patient ({where})", exc.errors()[0]["msg"]) from None


@router.post("/Patient", responses=error_responses(401, 403))
async def create_or_match_patient(
    request: Request, services: Services, audit: Audited
) -> JSONResponse:
    """Create a client from a FHIR Patient, or match the one with its MRN (the identifier in
    ``JOURNEYS_EHR_MRN_SYSTEM``): 201 created, 200 matched; 422 OperationOutcome otherwise.
    Operations, supervisors and admins only (a match confirms someone is a client)."""
    if audit.staff.role not in SEES_ALL:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "operations, supervisors and admins only")
    try:
        facts = patient_to_facts(await request.body(), services.mrn_system)
        mrn = facts.identifier(services.mrn_system) or ""
        record = client_record(facts)
    except FhirInputError as exc:
        audit.outcome = "invalid"
        return _outcome(exc)
    found = await services.clients.find(ClientSearch(mrn=mrn), limit=2)
    matched = [v for v in found if any(i.system == services.mrn_system and i.value == mrn
                                       for i in v.record.identifiers)]  # fmt: skip
    if matched:
        client_id, code = matched[0].client_id, status.HTTP_200_OK
    else:
        client_id, code = new_client_id(), status.HTTP_201_CREATED
        await services.clients.add(client_id, record)
    audit.detail = f"client {client_id}; {'matched' if matched else 'created'} by MRN"
    body = {"resourceType": "Patient", "id": client_id,
            "identifier": [{"system": services.mrn_system, "value": mrn}]}  # fmt: skip
    return JSONResponse(body, code, media_type=FHIR_JSON,
                        headers={"Location": f"/fhir/Patient/{client_id}"})  # fmt: skip


@router.post("/QuestionnaireResponse", responses=error_responses(401, 403, 404, 409))
async def record_questionnaire_response(
    request: Request, services: Services, audit: Audited
) -> CommandResult:
    """Record a PHQ-9, GAD-7, AUDIT(-C) or DAST-10 QuestionnaireResponse (LOINC-coded) on the
    subject's open journey, through the same command as staff entry: triggers fire. A bad or
    unmappable resource gets a 422 OperationOutcome naming the element, and nothing changes."""
    try:
        mapped = questionnaire_response_to_instrument(
            await request.body(),
            services.policy.instruments,
        )
        client_id = mapped.subject.removeprefix("Patient/")
        _CLIENT_IDS.validate_python(client_id)
    except FhirInputError as exc:
        audit.outcome = "invalid"
        raise _Answer(_outcome(exc)) from None
    except ValidationError:
        audit.outcome = "invalid"
        raise _Answer(_refusal("QuestionnaireResponse.subject", "not one of our patients",
                               status.HTTP_422_UNPROCESSABLE_CONTENT)) from None  # fmt: skip
    audit.detail = f"client {client_id}"
    if not await services.clients.can_see(audit.staff, client_id):
        raise _Answer(_refusal("QuestionnaireResponse.subject", "patient not found", 404,
                               "not-found"))  # fmt: skip
    open_journeys = [j for j in await services.clients.journeys(client_id) if j.phase.is_open]
    if not open_journeys:
        raise _Answer(_refusal("QuestionnaireResponse.subject", "the patient has no open journey",
                               status.HTTP_409_CONFLICT, "business-rule"))  # fmt: skip
    journey = max(open_journeys, key=lambda j: j.started_at).journey_id
    audit.journey_id = journey
    cmd = RecordInstrument(code=mapped.code, answers=mapped.answers,
                           recorded_by=audit.staff.staff_id)  # fmt: skip
    return await send_command(services, audit, journey, cmd)


class _Answer(Exception):
    """A prepared answer (an OperationOutcome) for the route to return."""

    def __init__(self, response: JSONResponse) -> None:
        super().__init__(response.status_code)
        self.response = response


def install(app: FastAPI) -> None:
    """The FHIR routes and the answer for a refused resource."""
    app.include_router(router)

    @app.exception_handler(_Answer)
    async def answer(_: Request, exc: _Answer) -> JSONResponse:
        return exc.response
