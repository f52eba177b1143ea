"""Code systems, security labels, the instruments' LOINC codes and resource ids."""

import hashlib
import re
from dataclasses import dataclass, field

LOINC = "http://loinc.org"
ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
CONFIDENTIALITY = "http://terminology.hl7.org/CodeSystem/v3-Confidentiality"
ACT_REASON = "http://terminology.hl7.org/CodeSystem/v3-ActReason"
PARTICIPATION_MODE = "http://terminology.hl7.org/CodeSystem/v3-ParticipationMode"
PARTICIPATION_TYPE = "http://terminology.hl7.org/CodeSystem/v3-ParticipationType"
CONSENT_SCOPE = "http://terminology.hl7.org/CodeSystem/consentscope"
OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
GOAL_ACHIEVEMENT = "http://terminology.hl7.org/CodeSystem/goal-achievement"
ORDINAL_VALUE = "http://hl7.org/fhir/StructureDefinition/ordinalValue"
BIRTH_SEX = "http://hl7.org/fhir/us/core/StructureDefinition/us-core-birthsex"
PART2_POLICY = "https://www.ecfr.gov/current/title-42/chapter-I/subchapter-A/part-2"

# The product's own code systems (opaque codes of its models, no client data).
OUR = "urn:recovery-journeys:fhir"
PHASE_SYSTEM = f"{OUR}:phase"
LOC_SYSTEM = f"{OUR}:asam-level-of-care"
ROLE_SYSTEM = f"{OUR}:care-team-role"
TASK_KIND_SYSTEM = f"{OUR}:task-kind"
TASK_STATUS_SYSTEM = f"{OUR}:task-status"
TASK_ID_SYSTEM = f"{OUR}:task-id"
JOURNEY_ID_SYSTEM = f"{OUR}:journey-id"
GENERIC_TYPE_SYSTEM = f"{OUR}:notification-type"
DELIVERY_KEY_SYSTEM = f"{OUR}:delivery-key"
DELIVERY_TARGET_SYSTEM = f"{OUR}:delivery-target"
DATA_CLASS_SYSTEM = f"{OUR}:data-class"
INSTRUMENT_SYSTEM = f"{OUR}:instrument"
QUESTIONNAIRE_URN = f"{OUR}:questionnaire:"
LOINC_QUESTIONNAIRE = "http://loinc.org/q/"

# Every resource of a client's record carries these (42 CFR Part 2 data, restricted, no
# redisclosure without consent).
SECURITY_LABELS: tuple[dict[str, str], ...] = (
    {"system": ACT_CODE, "code": "42CFRPart2"},
    {"system": CONFIDENTIALITY, "code": "R"},
    {"system": ACT_CODE, "code": "NORDSCLCD"},
)

# LOINC answer codes of the frequency scale PHQ-9 and GAD-7 share, by item score.
_FREQUENCY = {0: "LA6568-5", 1: "LA6569-3", 2: "LA6570-1", 3: "LA6571-9"}
# DAST-10 answers: 1 = yes, 0 = no (the registry scores item 3 in reverse itself).
_YES_NO = {0: "LA32-8", 1: "LA33-6"}


@dataclass(frozen=True)
class InstrumentCodes:
    """An instrument's LOINC codes: panel, items in the registry's order, total, answers."""

    code: str
    total: str | None
    panel: str | None = None
    items: tuple[str, ...] = ()
    answers: dict[int, str] = field(default_factory=dict)

    @property
    def questionnaire(self) -> str:
        """The canonical URL of the questionnaire a response names."""
        if self.panel is not None:
            return f"{LOINC_QUESTIONNAIRE}{self.panel}"
        return f"{QUESTIONNAIRE_URN}{self.code}"

    def link_id(self, number: int) -> str:
        """The linkId of item ``number`` (1-based): its LOINC code, or its number."""
        return self.items[number - 1] if self.items else str(number)


# Panels and items where the LOINC code is established; AUDIT and DAST-10 are named by the
# product's own questionnaire URL with numbered items, and their totals by LOINC.
INSTRUMENTS: dict[str, InstrumentCodes] = {
    c.code: c
    for c in (
        InstrumentCodes(
            code="PHQ-9",
            panel="44249-1",
            total="44261-6",
            items=(
                "44250-9", "44255-8", "44259-0", "44254-1", "44251-7",
                "44258-2", "44252-5", "44253-3", "44260-8",
            ),
            answers=_FREQUENCY,
        ),
        InstrumentCodes(
            code="GAD-7",
            panel="69737-5",
            total="70274-6",
            items=("69725-0", "68509-9", "69733-4", "69734-2", "69735-9", "69689-8", "69736-7"),
            answers=_FREQUENCY,
        ),
        InstrumentCodes(
            code="AUDIT-C",
            panel="72109-2",
            total="75626-2",
            items=("68518-0", "68519-8", "68520-6"),
        ),
        InstrumentCodes(code="AUDIT", total="75624-7"),
        InstrumentCodes(code="DAST-10", total="82667-7", answers=_YES_NO),
    )
}  # fmt: skip


def instrument_codes(code: str) -> InstrumentCodes:
    """The codes of a registry instrument (ones without LOINC codes get numbered items)."""
    return INSTRUMENTS.get(code) or InstrumentCodes(code=code, total=None)


def instrument_for_questionnaire(canonical: str) -> InstrumentCodes | None:
    """The instrument a questionnaire canonical URL (``|version`` allowed) names, if mapped."""
    url = canonical.split("|", 1)[0].rstrip("/")
    for codes in INSTRUMENTS.values():
        if url == codes.questionnaire or (
            codes.panel is not None and url.rsplit("/", 1)[-1] == codes.panel
        ):
            return codes
    return None


_ID_ESCAPES = {".": ".d", "_": ".u", ":": ".c"}
_FHIR_ID = re.compile(r"^[A-Za-z0-9\-.]{1,64}$")


def fhir_id(*parts: str | int) -> str:
    """A FHIR resource id derived from opaque ids, one-to-one with the parts.

    '.', '_' and ':' are escaped and parts joined with '..'; an id longer than FHIR allows
    becomes a digest of the same text.
    """
    text = "..".join(re.sub(r"[._:]", lambda m: _ID_ESCAPES[m.group()], str(p)) for p in parts)
    if _FHIR_ID.match(text):
        return text
    return "h-" + hashlib.sha256(text.encode()).hexdigest()[:62]
