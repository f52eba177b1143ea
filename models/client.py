"""The client record: who a journey is about (PHI, kept outside Temporal).

Only the opaque client id ever travels with a journey; the record itself lives in the read
model, its direct identifiers encrypted field by field (``readmodel/clients.py``).
"""

from datetime import date
from typing import Annotated

from pydantic import AwareDatetime, Field, StringConstraints, model_validator

from models.base import StrictModel
from models.instruments import SexAtBirth

# Client ids are made by the service: "C-" and ten characters of its opaque alphabet.
ClientId = Annotated[str, StringConstraints(pattern=r"^C-[A-Z2-9]{10}$")]
Name = Annotated[str, StringConstraints(min_length=1, max_length=100, strip_whitespace=True)]
Short = Annotated[str, StringConstraints(min_length=1, max_length=64, strip_whitespace=True)]
Line = Annotated[str, StringConstraints(min_length=1, max_length=200, strip_whitespace=True)]
Phone = Annotated[
    str, StringConstraints(min_length=3, max_length=32, pattern=r"^\+?[0-9 ().-]{3,32}$")
]
Email = Annotated[
    str,
    StringConstraints(min_length=3, max_length=254, pattern=r"^[^@\s<>,;\"()]+@[^@\s<>,;\"()]+$"),
]


class LegalName(StrictModel):
    """The client's legal name."""

    given: Name
    family: Name


class ExternalIdentifier(StrictModel):
    """An identifier another system gives the client, e.g. the EHR's MRN."""

    # The issuing system, e.g. a URI or "ehr-mrn".
    system: Line
    value: Short


class Address(StrictModel):
    """A postal address."""

    lines: list[Line] = Field(min_length=1, max_length=4)
    city: Short
    region: Short | None = None
    postal_code: Annotated[str, StringConstraints(min_length=1, max_length=16)] | None = None
    country: Short | None = None


class EmergencyContact(StrictModel):
    """Whom to call in an emergency."""

    name: Name
    relationship: Short | None = None
    phone: Phone


class Payer(StrictModel):
    """Who pays, and the authorization the program holds (insurance verification)."""

    name: Line
    member_id: Short
    authorization_number: Short | None = None
    # The level of care the payer approved, e.g. "3.5".
    approved_loc: Annotated[str, StringConstraints(min_length=1, max_length=16)] | None = None
    authorization_start: date | None = None
    authorization_end: date | None = None

    @model_validator(mode="after")
    def _dates_in_order(self) -> "Payer":
        start, end = self.authorization_start, self.authorization_end
        if start is not None and end is not None and end < start:
            raise ValueError("authorization_end: before authorization_start")
        return self


class CourtOrder(StrictModel):
    """Court-ordered treatment and what the court requires to be reported."""

    court_ordered: bool = False
    reporting_requirements: (
        Annotated[str, StringConstraints(min_length=1, max_length=1000, strip_whitespace=True)]
        | None
    ) = None


class ClientRecord(StrictModel):
    """Everything the program keeps about a client's identity, contact, payer and legal status."""

    legal_name: LegalName
    preferred_name: Name | None = None
    pronouns: Short | None = None
    date_of_birth: date
    sex_at_birth: SexAtBirth = SexAtBirth.UNKNOWN
    gender_identity: Short | None = None
    # A BCP 47 tag such as "en" or "es-MX".
    preferred_language: Annotated[
        str,
        StringConstraints(
            min_length=2, max_length=35, pattern=r"^[A-Za-z]{2,8}(-[A-Za-z0-9]{1,8})*$"
        ),
    ] = "en"
    interpreter_needed: bool = False
    identifiers: list[ExternalIdentifier] = Field(default_factory=list, max_length=10)
    phone: Phone | None = None
    email: Email | None = None
    address: Address | None = None
    emergency_contact: EmergencyContact | None = None
    payer: Payer | None = None
    court: CourtOrder = Field(default_factory=CourtOrder)

    @model_validator(mode="after")
    def _born_in_the_past(self) -> "ClientRecord":
        if self.date_of_birth.year < 1900:
            raise ValueError("date_of_birth: before 1900")
        return self


class ClientView(StrictModel):
    """A client as the store answers it: the id, the record and when it was written."""

    client_id: ClientId
    record: ClientRecord
    created_at: AwareDatetime
    updated_at: AwareDatetime


class ClientCreated(StrictModel):
    """The id the service made for a new client."""

    client_id: ClientId
