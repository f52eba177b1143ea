"""Build the read-model projection batch from the journey state."""

from models.state import JourneyState, JourneySummary, ProjectionBatch


def build_batch(state: JourneyState) -> ProjectionBatch:
    """A self-contained copy of everything the read model needs, as of ``state.seq``."""
    active = state.active_reassessment
    primary = state.care_team.primary.member_id
    summary = JourneySummary(
        journey_id=state.journey_id,
        phase=state.phase,
        loc_code=state.loc_code,
        discharge_reason=state.discharge_reason,
        policy_version=f"{state.policy.policy_id}@{state.policy.version}",
        primary_clinician=primary,
        next_review_due=state.next_review_due,
        reassessment_due=active.due_at if active else None,
        urgent=state.urgent,
        started_at=state.started_at,
        updated_at=state.outbox[-1].occurred_at if state.outbox else state.started_at,
        ended_at=state.ended_at,
        seq=state.seq,
    )
    # Deep copies: the state keeps changing while the activity input waits to be sent.
    return ProjectionBatch(
        summary=summary,
        care_team=state.care_team.model_copy(deep=True),
        events=[e.model_copy(deep=True) for e in state.outbox],
        segments=[s.model_copy(deep=True) for s in state.segments],
        reassessments=[r.model_copy(deep=True) for r in state.reassessments],
        tasks=[t.model_copy(deep=True) for t in state.tasks],
        plan=state.plan.model_copy(deep=True) if state.plan else None,
    )
