"""The live view of a journey: its workflow state without the policy body."""

from clinical.journal import open_work, urgent_open_work
from models.state import JourneyState
from models.views import LiveJourney


def live_view(state: JourneyState) -> LiveJourney:
    """The live state without the policy body."""
    return LiveJourney(
        journey_id=state.journey_id,
        phase=state.phase,
        loc_code=state.loc_code,
        discharge_reason=state.discharge_reason,
        policy_version=f"{state.policy.policy_id}@{state.policy.version}",
        care_team=state.care_team,
        active_reassessment=state.active_reassessment,
        plan=state.plan,
        next_review_due=state.next_review_due,
        aftercare=state.aftercare,
        urgent=state.urgent,
        started_at=state.started_at,
        ended_at=state.ended_at,
        completion_waiting_on=open_work(state)
        if state.aftercare is not None and state.aftercare.completion_held
        else [],
        urgent_work=urgent_open_work(state) if state.phase.is_open else [],
        monitoring_due=state.monitoring_due,
    )
