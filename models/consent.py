"""A client's consents to disclose (42 CFR Part 2, 2024 rule) and the disclosures made."""

from datetime import date
from enum import StrEnum

from pydantic import AwareDatetime, Field, model_validator

from models.base import OpaqueId, ShortText, StrictModel

# The notice every disclosure carries (42 CFR 2.32(a)(1), as revised in 2024).
PART2_NOTICE = (
    "This record which has been disclosed to you is protected by Federal confidentiality rules "
    "(42 CFR part 2). These rules prohibit you from using or disclosing this record, or "
    "testimony that describes the information contained in this record, in any civil, "
    "criminal, administrative, or legislative proceedings by any Federal, State, or local "
    "authority, against the patient, unless authorized by the consent of the patient, except "
    "as provided at 42 CFR 2.12(c)(5) or 2.65; or unless authorized by a court in accordance "
    "with 42 CFR 2.64 or 2.65. In addition, the Federal rules prohibit you from making any "
    "other use or disclosure of this record unless at least one of the following applies: (i) "
    "Further use or disclosure is expressly permitted by the written consent of the individual "
    "whose information is being disclosed in this record or as otherwise permitted by 42 CFR "
    "part 2. (ii) You are a covered entity or business associate and have received the record "
    "for treatment, payment, or health care operations, or (iii) You have received the record "
    "from a covered entity or business associate as permitted by 45 CFR part 164, subparts A "
    "and E. A general authorization for the release of medical or other information is NOT "
    "sufficient to meet the required elements of written consent to further use or redisclose "
    "the record (see 45 CFR 164.508 and 42 CFR 2.31)."
)


class RecipientKind(StrEnum):
    """Who receives: a named person or an organisation."""

    PERSON = "person"
    ORGANISATION = "organisation"


class Purpose(StrEnum):
    """Why the records may be disclosed."""

    TREATMENT = "treatment"
    PAYMENT = "payment"
    HEALTH_CARE_OPERATIONS = "health_care_operations"
    OTHER = "other"


class DataClass(StrEnum):
    """What may be disclosed; ``all_records`` covers every other class."""

    ALL_RECORDS = "all_records"
    DEMOGRAPHICS = "demographics"
    EPISODES = "episodes"
    TREATMENT_PLANS = "treatment_plans"
    ASSESSMENTS = "assessments"
    INSTRUMENT_SCORES = "instrument_scores"
    CARE_TEAM = "care_team"
    TASKS = "tasks"
    COMMUNICATIONS = "communications"


class ConsentTerms(StrictModel):
    """What a consent allows: staff record them from the signed form."""

    recipient: ShortText
    recipient_kind: RecipientKind
    purpose: Purpose
    # Required for ``other``: the purpose in the consent's own words.
    purpose_detail: ShortText | None = None
    data: list[DataClass] = Field(min_length=1, max_length=len(DataClass))
    effective_from: date
    expires_on: date | None = None
    signed_at: AwareDatetime

    @model_validator(mode="after")
    def _complete(self) -> "ConsentTerms":
        if self.purpose is Purpose.OTHER and self.purpose_detail is None:
            raise ValueError("purpose_detail: name the purpose when it is other")
        if self.expires_on is not None and self.expires_on < self.effective_from:
            raise ValueError("expires_on: before effective_from")
        if len(set(self.data)) != len(self.data):
            raise ValueError("data: each class once")
        return self


class Consent(ConsentTerms):
    """A recorded consent, with who recorded it and any revocation."""

    consent_id: OpaqueId
    client_id: OpaqueId
    recorded_by: OpaqueId
    recorded_at: AwareDatetime
    revoked_at: AwareDatetime | None = None
    revoked_by: OpaqueId | None = None

    def covers(self, recipient: str, purpose: Purpose, data: list[DataClass], on: date) -> bool:
        """Whether this consent allows disclosing ``data`` to ``recipient`` for ``purpose``."""
        active = self.revoked_at is None and self.effective_from <= on
        current = self.expires_on is None or on <= self.expires_on
        allowed = set(self.data)
        what = DataClass.ALL_RECORDS in allowed or set(data) <= allowed
        same = self.recipient.casefold() == recipient.strip().casefold()
        return active and current and what and same and self.purpose is purpose


class Disclosure(StrictModel):
    """One disclosure outside the program, as the accounting of disclosures lists it."""

    disclosure_id: OpaqueId
    client_id: OpaqueId
    consent_id: OpaqueId
    recipient: ShortText
    purpose: Purpose
    data: list[DataClass]
    what: ShortText
    channel: ShortText
    disclosed_at: AwareDatetime
    disclosed_by: OpaqueId
    notice: str
