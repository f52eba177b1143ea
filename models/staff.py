"""Staff access roles (distinct from care-team roles)."""

from enum import StrEnum


class StaffRole(StrEnum):
    """What a staff account may do in the API, the dashboard and the CLI over the API."""

    CLINICIAN = "clinician"
    SUPERVISOR = "supervisor"
    OPERATIONS = "operations"
    ADMIN = "admin"
