"""Which access roles may send clinical commands: the edge's half of decision authority.

Clinical acts (assessments, decisions, plan revisions and signatures, discharge, instrument
scores, closing clinical work by hand) need a clinician or supervisor account; operations and
admin accounts keep reading, team changes and operational commands (events, reassessment
requests, check-ins, outreach work). Which care-team roles may take each act is the journey's
own check (clinical.authority), from its policy.
"""

from enum import StrEnum

from models.commands import CompleteTask, StaffCommand, operation_of
from models.staff import ClinicalCommand, StaffRole
from models.work import TaskKind
from service.journeys import JourneyError, JourneyService

# Account roles that may take clinical acts (a clinician only on the journeys of their teams).
CLINICAL_ACCESS = frozenset({StaffRole.CLINICIAN, StaffRole.SUPERVISOR})
# Tasks closed by hand that are operational work; the rest are clinical (a safety follow-up,
# a missed withdrawal check).
OPERATIONAL_TASKS = frozenset({TaskKind.OUTREACH})


class AccessCode(StrEnum):
    """Why an account was refused before the journey was asked."""

    CLINICAL_ROLE_REQUIRED = "clinical_role_required"
    NOT_ON_CARE_TEAM = "not_on_care_team"


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


async def authorize(
    journeys: JourneyService, role: str, journey_id: str, cmd: StaffCommand
) -> None:
    """Refuse a command this account may not send, before the journey is asked.

    The command table says which commands need a clinical account; closing a task by hand
    needs one unless the task is operational work (outreach).

    Raises:
        AccessDeniedError: ``clinical_role_required``.
    """
    needs = operation_of(type(cmd)).clinical
    if needs is None or is_clinical(role):
        return
    if isinstance(cmd, CompleteTask):
        tasks = (await journeys.state(journey_id)).tasks
        task = next((t for t in tasks if t.task_id == cmd.task_id), None)
        if task is None or task.kind in OPERATIONAL_TASKS:
            return
    require_clinical(role, needs)
