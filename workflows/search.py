"""Non-PHI search attributes that help triage journeys in the Temporal UI."""

from datetime import datetime
from typing import Any

from temporalio.common import SearchAttributeUpdate

from models.state import JourneyState
from runtime.search_attributes import (
    JOURNEY_LOC,
    JOURNEY_NEXT_REVIEW,
    JOURNEY_PHASE,
    JOURNEY_URGENT,
)


def _next_review(state: JourneyState) -> datetime | None:
    active = state.active_reassessment
    return active.due_at if active else state.next_review_due


def values_for(state: JourneyState) -> dict[str, object]:
    """The attribute values the state implies (phase, LOC code, next review, urgent)."""
    return {
        JOURNEY_PHASE.name: state.phase.value,
        JOURNEY_LOC.name: state.loc_code or "",
        JOURNEY_NEXT_REVIEW.name: _next_review(state),
        JOURNEY_URGENT.name: state.urgent,
    }


def updates_for(state: JourneyState) -> list[SearchAttributeUpdate[Any]]:
    """Upserts for every attribute; an absent next review or LOC is unset."""
    review = _next_review(state)
    return [
        JOURNEY_PHASE.value_set(state.phase.value),
        JOURNEY_LOC.value_set(state.loc_code) if state.loc_code else JOURNEY_LOC.value_unset(),
        JOURNEY_NEXT_REVIEW.value_set(review) if review else JOURNEY_NEXT_REVIEW.value_unset(),
        JOURNEY_URGENT.value_set(state.urgent),
    ]
