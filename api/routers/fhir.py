"""FHIR R4B out: ``GET /fhir/Patient/{id}/$everything`` discloses a client's record to a named
recipient for a named purpose, only under an active consent covering it (42 CFR Part 2).

An export is a disclosure: it is checked against the client's consents (refused with the
reason otherwise, and audited), logged in the accounting of disclosures, and the Bundle carries
the Part 2 notice prohibiting redisclosure.
"""

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, status
from fastapi.responses import JSONResponse
from pydantic import TypeAdapter, ValidationError

from api.deps import Audit, Audited, Services
from api.responses import error_responses
from api.services import ApiServices
from clinical.instruments import score
from fhir_r4b.export import build_bundle
from fhir_r4b.facts import (
    ConsentFacts,
    ExternalId,
    JourneyRecord,
    PatientFacts,
    PersonName,
    PostalAddress,
    RecordedInstrument,
)
from models.client import ClientId, ClientRecord
from models.consent import PART2_NOTICE, Consent, DataClass, Purpose
from models.journey import EventKind
from models.views import Timeline
from readmodel.consents import DisclosureRefusedError

router = APIRouter(prefix="/fhir", tags=["FHIR R4B"])
_CLIENT_IDS: TypeAdapter[str] = TypeAdapter(ClientId)
FHIR_JSON = "application/fhir+json"
NOTICE_URL = "https://recovery-journeys.example.org/fhir/StructureDefinition/part2-notice"
# What an export discloses: everything the Bundle holds about the client.
EXPORTED = [
    DataClass.DEMOGRAPHICS, DataClass.EPISODES, DataClass.TREATMENT_PLANS,
    DataClass.INSTRUMENT_SCORES, DataClass.CARE_TEAM, DataClass.TASKS,
    DataClass.COMMUNICATIONS,
]  # fmt: skip
Recipient = Annotated[str, Query(min_length=1, max_length=500)]


def patient_facts(client_id: str, record: ClientRecord) -> PatientFacts:
    """The FHIR mapping's view of a client record."""
    legal = record.legal_name
    names = [PersonName(family=legal.family, given=(legal.given,))]
    if record.preferred_name:
        names.append(PersonName(family=legal.family, given=(record.preferred_name,), use="usual"))
    address = record.address
    return PatientFacts(
        client_id=client_id,
        names=tuple(names),
        birth_date=record.date_of_birth,
        sex_at_birth=record.sex_at_birth,
        identifiers=tuple(ExternalId(system=i.system, value=i.value) for i in record.identifiers),
        phone=record.phone,
        email=record.email,
        address=PostalAddress(lines=tuple(address.lines), city=address.city,
                              state=address.region, postal_code=address.postal_code,
                              country=address.country) if address else None,
        language=record.preferred_language,
    )  # fmt: skip


def consent_facts(consent: Consent) -> ConsentFacts:
    """The FHIR mapping's view of a consent."""
    kind = "organization" if consent.recipient_kind.value == "organisation" else "person"
    return ConsentFacts(
        consent_id=consent.consent_id, recipient=consent.recipient, recipient_kind=kind,
        purposes=(consent.purpose_detail or consent.purpose.value,),
        data_classes=tuple(d.value for d in consent.data), effective=consent.effective_from,
        expires=consent.expires_on, signed_at=consent.signed_at, revoked_at=consent.revoked_at,
    )  # fmt: skip


def _instruments(services: ApiServices, timeline: Timeline) -> tuple[RecordedInstrument, ...]:
    """Scores recorded on the journey, rebuilt from their events' item answers (events
    recorded before the answers were kept are left out)."""
    registry = services.policy.instruments
    found: list[RecordedInstrument] = []
    for event in timeline.events:
        answers = str(event.refs.get("answers", ""))
        if event.kind is not EventKind.INSTRUMENT_RECORDED or not answers or registry is None:
            continue
        result = score(registry, str(event.refs["instrument"]),
                       [int(a) for a in answers.split(",")])  # fmt: skip
        found.append(RecordedInstrument(journey_id=timeline.summary.journey_id, seq=event.seq,
                                        result=result, authored=event.occurred_at))  # fmt: skip
    return tuple(found)


async def _journeys(services: ApiServices, client_id: str) -> list[JourneyRecord]:
    records = []
    for item in await services.clients.journeys(client_id):
        timeline = await services.queries.get_timeline(item.journey_id)
        if timeline is None:
            continue
        deliveries = await services.deliveries.of_journey(item.journey_id)
        records.append(JourneyRecord(timeline=timeline, deliveries=tuple(deliveries),
                                     instruments=_instruments(services, timeline)))  # fmt: skip
    return records


async def _visible_record(services: ApiServices, audit: Audit, client_id: str) -> ClientRecord:
    try:
        _CLIENT_IDS.validate_python(client_id)
    except ValidationError:
        audit.detail = f"client id of {len(client_id)} characters"
        raise HTTPException(status.HTTP_404_NOT_FOUND, "client not found") from None
    audit.detail = f"client {client_id}"
    view = await services.clients.get(client_id)
    if view is None or not await services.clients.can_see(audit.staff, client_id):
        raise HTTPException(status.HTTP_404_NOT_FOUND, "client not found")
    return view.record


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
        consent = await services.consents.covering(client_id, recipient, purpose, EXPORTED)
    except DisclosureRefusedError as exc:
        audit.outcome = "no_consent"
        audit.detail = f"client {client_id}; {exc}"
        return JSONResponse({"detail": str(exc), "code": "no_consent"}, status.HTTP_403_FORBIDDEN)
    consents = [consent_facts(c) for c in await services.consents.consents(client_id)]
    bundle = build_bundle(patient_facts(client_id, record), await _journeys(services, client_id),
                          consents, bundle_type="searchset")  # fmt: skip
    body = bundle.model_dump(mode="json", exclude_none=True)
    body["meta"]["extension"] = [{"url": NOTICE_URL, "valueString": PART2_NOTICE}]
    what = f"FHIR R4B Bundle (Patient/$everything), {len(body.get('entry', []))} resources"
    try:
        disclosed = await services.consents.disclose(
            client_id, consent, EXPORTED, what, "fhir_export", audit.staff.staff_id
        )
    except DisclosureRefusedError as exc:  # revoked between the check and the log
        audit.outcome = "no_consent"
        return JSONResponse({"detail": str(exc), "code": "no_consent"}, status.HTTP_403_FORBIDDEN)
    audit.detail = f"client {client_id}; disclosure {disclosed.disclosure_id}"
    return JSONResponse(body, media_type=FHIR_JSON)
