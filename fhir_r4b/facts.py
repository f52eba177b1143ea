"""Plain inputs of the mapping: the client's facts, a consent, a scored instrument."""

from dataclasses import dataclass
from datetime import date, datetime

from models.delivery import DeliveryView
from models.instruments import InstrumentResult, SexAtBirth
from models.views import Timeline


@dataclass(frozen=True)
class PersonName:
    """One of the client's names (``use``: official, usual, ...)."""

    family: str | None
    given: tuple[str, ...] = ()
    use: str = "official"


@dataclass(frozen=True)
class PostalAddress:
    """A postal address."""

    lines: tuple[str, ...] = ()
    city: str | None = None
    state: str | None = None
    postal_code: str | None = None
    country: str | None = None


@dataclass(frozen=True)
class ExternalId:
    """An identifier another system gave the client (an EHR's MRN, with its system)."""

    system: str
    value: str


@dataclass(frozen=True)
class PatientFacts:
    """What the mapping needs of a client; ``client_id`` is our opaque id (None on import)."""

    client_id: str | None
    names: tuple[PersonName, ...] = ()
    birth_date: date | None = None
    sex_at_birth: SexAtBirth = SexAtBirth.UNKNOWN
    identifiers: tuple[ExternalId, ...] = ()
    phone: str | None = None
    email: str | None = None
    address: PostalAddress | None = None
    # BCP-47 tag, e.g. "es" or "en-US".
    language: str | None = None

    def identifier(self, system: str) -> str | None:
        """The value of the identifier in ``system``, if any."""
        return next((i.value for i in self.identifiers if i.system == system), None)


@dataclass(frozen=True)
class ConsentFacts:
    """A client's consent to disclose: to whom, why, what, when; revoked stops it."""

    consent_id: str
    recipient: str
    # Recipient kind: "person" or "organization".
    recipient_kind: str
    # treatment, payment, operations, or another purpose named in words.
    purposes: tuple[str, ...]
    data_classes: tuple[str, ...]
    effective: date
    expires: date | None
    signed_at: datetime
    revoked_at: datetime | None = None


@dataclass(frozen=True)
class RecordedInstrument:
    """A scored instrument as recorded on a journey (``seq``: the event that recorded it)."""

    journey_id: str
    seq: int
    result: InstrumentResult
    authored: datetime
    recorded_by: str | None = None


@dataclass(frozen=True)
class JourneyRecord:
    """One journey as the read model serves it, with what it records beside the timeline."""

    timeline: Timeline
    instruments: tuple[RecordedInstrument, ...] = ()
    deliveries: tuple[DeliveryView, ...] = ()
