"""Disclosing a client's record outside the program: a FHIR R4B export, only under an active
consent covering recipient, purpose and data, logged with the Part 2 notice (42 CFR Part 2).

Shared by the API (``GET /fhir/Patient/{id}/$everything``) and the CLI (``journeys export``).
"""

from dataclasses import dataclass
from typing import Any

from clinical.instruments import score
from delivery.store import DeliveryStore
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
from models.client import ClientRecord
from models.consent import PART2_NOTICE, Consent, DataClass, Disclosure, Purpose
from models.instruments import InstrumentRegistry
from models.journey import EventKind
from models.views import Timeline
from readmodel.clients import ClientStore
from readmodel.consents import ConsentStore
from readmodel.queries import JourneyQueries

NOTICE_URL = "https://recovery-journeys.example.org/fhir/StructureDefinition/part2-notice"
# What an export discloses: everything the Bundle holds about the client.
EXPORTED = [
    DataClass.DEMOGRAPHICS, DataClass.EPISODES, DataClass.TREATMENT_PLANS,
    DataClass.INSTRUMENT_SCORES, DataClass.CARE_TEAM, DataClass.TASKS,
    DataClass.COMMUNICATIONS,
]  # fmt: skip


@dataclass(frozen=True)
class RecordSources:
    """Where a client's record is read from."""

    clients: ClientStore
    consents: ConsentStore
    queries: JourneyQueries
    deliveries: DeliveryStore
    registry: InstrumentRegistry | None


async def export_everything(
    sources: RecordSources,
    client_id: str,
    record: ClientRecord,
    recipient: str,
    purpose: Purpose,
    by: str,
) -> tuple[dict[str, Any], Disclosure]:
    """The client's record as a FHIR R4B searchset Bundle (JSON) disclosed to ``recipient``
    for ``purpose``, and the disclosure logged for it.

    Raises:
        DisclosureRefusedError: no active consent covers it (the reason says why); nothing
            was disclosed.
    """  # fmt: skip
    consent = await sources.consents.covering(client_id, recipient, purpose, EXPORTED)
    consents = [consent_facts(c) for c in await sources.consents.consents(client_id)]
    bundle = build_bundle(patient_facts(client_id, record), await _journeys(sources, client_id),
                          consents, bundle_type="searchset")  # fmt: skip
    body: dict[str, Any] = bundle.model_dump(mode="json", exclude_none=True)
    body["meta"]["extension"] = [{"url": NOTICE_URL, "valueString": PART2_NOTICE}]
    what = f"FHIR R4B Bundle (Patient/$everything), {len(body.get('entry', []))} resources"
    # Checked again as it is logged: a revocation an instant ago stops it here.
    disclosed = await sources.consents.disclose(client_id, consent, EXPORTED, what,
                                                "fhir_export", by)  # fmt: skip
    return body, disclosed


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


def _instruments(
    registry: InstrumentRegistry | None, timeline: Timeline
) -> tuple[RecordedInstrument, ...]:
    """Scores recorded on the journey, rebuilt from their events' item answers (events
    recorded before the answers were kept are left out)."""
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


async def _journeys(sources: RecordSources, client_id: str) -> list[JourneyRecord]:
    records = []
    for item in await sources.clients.journeys(client_id):
        timeline = await sources.queries.get_timeline(item.journey_id)
        if timeline is None:
            continue
        deliveries = await sources.deliveries.of_journey(item.journey_id)
        instruments = _instruments(sources.registry, timeline)
        records.append(
            JourneyRecord(timeline=timeline, deliveries=tuple(deliveries), instruments=instruments)
        )
    return records
