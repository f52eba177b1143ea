"""Staff access roles (distinct from care-team roles)."""

from enum import StrEnum


class StaffRole(StrEnum):
    """What a staff account may do in the API, the dashboard and the CLI over the API."""

    CLINICIAN = "clinician"
    SUPERVISOR = "supervisor"
    OPERATIONS = "operations"
    ADMIN = "admin"


class ClinicalCommand(StrEnum):
    """Commands only clinical accounts send, named as the refusal says them."""

    ASSESS = "record an assessment"
    DECIDE = "decide a placement"
    REVISE_PLAN = "revise the plan"
    SIGN_PLAN = "sign the plan"
    DISCHARGE = "discharge"
    RECORD_INSTRUMENT = "record an instrument"
    COMPLETE_TASK = "close clinical work"
