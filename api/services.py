"""What the API needs, built once in the lifespan and shared by every request."""

from dataclasses import dataclass, field

from temporalio.converter import PayloadCodec

from delivery.store import DeliveryStore
from models.policy import Policy
from readmodel.access import AccessRepository
from readmodel.clients import ClientStore
from readmodel.consents import ConsentStore
from readmodel.queries import JourneyQueries
from runtime.settings import DEFAULT_MRN_SYSTEM
from service.days import ProgramCalendar
from service.journeys import JourneyService


@dataclass(frozen=True)
class ApiServices:
    """Journey commands, read-model queries, access control, the policy and deliveries.

    ``calendar`` is the clock and time zone that say what "now" and "today" are.
    """

    journeys: JourneyService
    queries: JourneyQueries
    access: AccessRepository
    policy: Policy
    deliveries: DeliveryStore
    # Client records (PHI, field-encrypted); journeys carry only their opaque ids.
    clients: ClientStore
    # Consents to disclose and the disclosure log (42 CFR Part 2).
    consents: ConsentStore
    calendar: ProgramCalendar = field(default_factory=ProgramCalendar)
    # The EHR's medical-record-number system (FHIR Patient.identifier.system).
    mrn_system: str = DEFAULT_MRN_SYSTEM
    # The payload codec the codec endpoint (/codec) decodes and encodes with (None: no endpoint).
    codec: PayloadCodec | None = None
    # The Temporal UI origin whose pages may call the codec endpoint with a staff session.
    temporal_ui_origin: str | None = None
