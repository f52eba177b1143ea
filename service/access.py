"""Which access roles may send clinical commands: the edge's half of decision authority.

Clinical acts (assessments, decisions, plan revisions and signatures, discharge, instrument
scores, closing clinical work by hand) need a clinician or supervisor account; operations and
admin accounts keep reading, team changes and operational commands (events, reassessment
requests, check-ins, outreach work). Which care-team roles may take each act is the journey's
own check (clinical.authority), from its policy.
"""

from enum import StrEnum

from models.staff import StaffRole
from models.work import TaskKind
from service.journeys import JourneyError

# Account roles that may take clinical acts (a clinician only on the journeys of their teams).
CLINICAL_ACCESS = frozenset({StaffRole.CLINICIAN, StaffRole.SUPERVISOR})
# Tasks closed by hand that are operational work; the rest are clinical (a safety follow-up,
# a missed withdrawal check).
OPERATIONAL_TASKS = frozenset({TaskKind.OUTREACH})


class AccessCode(StrEnum):
    """Why an account was refused before the journey was asked."""

    CLINICAL_ROLE_REQUIRED = "clinical_role_required"
    NOT_ON_CARE_TEAM = "not_on_care_team"


class ClinicalCommand(StrEnum):
    """Clinical commands, named as the refusal says them."""

    ASSESS = "record an assessment"
    DECIDE = "decide a placement"
    REVISE_PLAN = "revise the plan"
    SIGN_PLAN = "sign the plan"
    DISCHARGE = "discharge"
    RECORD_INSTRUMENT = "record an instrument"
    COMPLETE_TASK = "close clinical work"


class AccessDeniedError(JourneyError):
    """The account may not send this command; nothing was sent."""

    def __init__(self, code: AccessCode, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


def is_clinical(role: str) -> bool:
    """Whether accounts with this access role take clinical acts."""
    return StaffRole(role) in CLINICAL_ACCESS


def require_clinical(role: str, command: ClinicalCommand) -> None:
    """Refuse a clinical command from an operations or admin account.

    Raises:
        AccessDeniedError: ``clinical_role_required``.
    """
    if not is_clinical(role):
        raise AccessDeniedError(
            AccessCode.CLINICAL_ROLE_REQUIRED,
            f"{role} accounts may not {command.value}; a clinician or supervisor account may",
        )


def not_on_care_team() -> AccessDeniedError:
    """The refusal for a clinician outside the journey's care team."""
    return AccessDeniedError(AccessCode.NOT_ON_CARE_TEAM, "not on this journey's care team")
