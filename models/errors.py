"""Rejection codes callers can branch on when a command is refused."""

from enum import StrEnum

# Temporal ApplicationError type carried by every rejected command.
COMMAND_REJECTED = "CommandRejected"


class RejectionCode(StrEnum):
    """Why the journey refused a command; nothing changed."""

    JOURNEY_CLOSED = "journey_closed"
    UNKNOWN_REASSESSMENT = "unknown_reassessment"
    NO_ACTIVE_REASSESSMENT = "no_active_reassessment"
    REASSESSMENT_CLOSED = "reassessment_closed"
    REASSESSMENT_ALREADY_OPEN = "reassessment_already_open"
    ASSESSMENT_MISSING = "assessment_missing"
    WRONG_ASSESSMENT_KIND = "wrong_assessment_kind"
    DIMENSIONS_MISMATCH = "dimensions_mismatch"
    TRANSITION_NOT_ALLOWED = "transition_not_allowed"
    UNKNOWN_LOC = "unknown_loc"
    LOC_REQUIRED = "loc_required"
    LOC_NOT_ALLOWED = "loc_not_allowed"
    TARGET_REQUIRED = "target_required"
    VARIANCE_REASON_REQUIRED = "variance_reason_required"
    NOT_IN_AFTERCARE = "not_in_aftercare"
    CHECK_IN_NOT_DUE = "check_in_not_due"
    UNKNOWN_INSTRUMENT = "unknown_instrument"
    INVALID_ANSWERS = "invalid_answers"
    UNKNOWN_TASK = "unknown_task"
    MIGRATION_BLOCKED = "migration_blocked"
    # The migration removes or weakens a safety trigger and no reason accepts that.
    SAFETY_CHANGE_NOT_ACCEPTED = "safety_change_not_accepted"
    NO_PLAN = "no_plan"
    PLAN_VERSION_MISMATCH = "plan_version_mismatch"
    ALREADY_SIGNED = "already_signed"
    OPEN_URGENT_WORK = "open_urgent_work"
    INVALID_DISPOSITION = "invalid_disposition"
    # The actor is not on the care team in a role the policy allows for this action.
    NOT_AUTHORIZED = "not_authorized"
