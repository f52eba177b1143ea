"""Journey phases, level-of-care segments and the journey's own events."""

from enum import StrEnum
from typing import Annotated

from pydantic import AwareDatetime, Field, NonNegativeInt

from models.base import LocCode, OpaqueId, ShortText, StrictModel


class Phase(StrEnum):
    """Where a journey stands; ``completed`` and ``discharged`` are end states."""

    INTAKE = "intake"
    WITHDRAWAL_MANAGEMENT = "withdrawal_management"
    TREATMENT = "treatment"
    AFTERCARE = "aftercare"
    COMPLETED = "completed"
    DISCHARGED = "discharged"

    @property
    def is_open(self) -> bool:
        """Whether the journey can still change."""
        return self not in (Phase.COMPLETED, Phase.DISCHARGED)

    @property
    def has_loc(self) -> bool:
        """Whether the phase is delivered at an ASAM level of care."""
        return self in (Phase.WITHDRAWAL_MANAGEMENT, Phase.TREATMENT)


class DischargeReason(StrEnum):
    """Why a journey ended before its aftercare schedule finished."""

    AGAINST_ADVICE = "against_advice"
    ADMINISTRATIVE = "administrative"
    TRANSFERRED = "transferred"
    LOST_TO_FOLLOW_UP = "lost_to_follow_up"
    DECEASED = "deceased"
    OTHER = "other"


class Priority(StrEnum):
    """How quickly the team should look at an event."""

    ROUTINE = "routine"
    URGENT = "urgent"


class LocSegment(StrictModel):
    """An append-only stretch of the journey in one phase and level of care."""

    index: NonNegativeInt
    phase: Phase
    loc_code: LocCode | None
    reason: ShortText
    decided_by: OpaqueId
    effective_at: AwareDatetime
    recorded_at: AwareDatetime
    ended_at: AwareDatetime | None = None


class EventKind(StrEnum):
    """Things that happened in a journey (past tense)."""

    JOURNEY_STARTED = "journey_started"
    ASSESSMENT_RECORDED = "assessment_recorded"
    REASSESSMENT_OPENED = "reassessment_opened"
    REASSESSMENT_COMPLETED = "reassessment_completed"
    REASSESSMENT_OVERDUE = "reassessment_overdue"
    PHASE_CHANGED = "phase_changed"
    LOC_CHANGED = "loc_changed"
    CLINICAL_EVENT_REPORTED = "clinical_event_reported"
    CARE_TEAM_CHANGED = "care_team_changed"
    PLAN_REVISED = "plan_revised"
    INSTRUMENT_RECORDED = "instrument_recorded"
    TRIGGER_FIRED = "trigger_fired"
    TASK_COMPLETED = "task_completed"
    POLICY_MIGRATED = "policy_migrated"
    MONITORING_MISSED = "monitoring_missed"
    PLAN_SIGNED = "plan_signed"
    CHECK_IN_RECORDED = "check_in_recorded"
    CHECK_IN_MISSED = "check_in_missed"
    JOURNEY_COMPLETED = "journey_completed"
    JOURNEY_DISCHARGED = "journey_discharged"
    PLAN_REVIEW_DUE = "plan_review_due"
    PLAN_REVIEW_OVERDUE = "plan_review_overdue"
    MILESTONE_REACHED = "milestone_reached"
    WORK_OVERDUE = "work_overdue"
    # Aftercare is over but open work holds completion until the last of it closes.
    COMPLETION_HELD = "completion_held"
    # Dispositions recorded at discharge for open work.
    WORK_HANDED_OVER = "work_handed_over"
    WORK_CLOSED = "work_closed"
    # A staff member's free-text note for the team (the summary is the note).
    NOTE_ADDED = "note_added"


# Kinds whose recipients the command that emits them names (the whole care team, say): a
# policy file needs no routing rule for them.
ADDRESSED_BY_COMMAND: frozenset[EventKind] = frozenset({EventKind.NOTE_ADDED})


class JourneyEvent(StrictModel):
    """One event with its sequence number and the team members it is routed to."""

    seq: Annotated[int, Field(ge=1)]
    kind: EventKind
    occurred_at: AwareDatetime
    priority: Priority = Priority.ROUTINE
    summary: ShortText
    # Opaque references only (reassessment or task ids, codes); never free text.
    refs: dict[str, str] = Field(default_factory=dict)
    recipients: list[OpaqueId] = Field(default_factory=list)
