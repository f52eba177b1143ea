"""Build the read-model projection batch from the journey state: only what changed."""

from typing import TypeVar

from pydantic import BaseModel

from models.care import CareTeam
from models.clinical import Reassessment
from models.journey import LocSegment
from models.state import JourneyState, JourneySummary, ProjectionBatch
from models.work import Task


class Projected:
    """Copies of the rows this workflow run has sent, to leave unchanged ones out.

    Lives in the workflow object, not in the journey state: a replay rebuilds it step by step
    (so a replayed batch equals the recorded one) and a new run starts empty, so its first
    batch carries every row and repairs anything the read model lost.
    """

    def __init__(self) -> None:
        self.segments: dict[int, LocSegment] = {}
        self.reassessments: dict[str, Reassessment] = {}
        self.tasks: dict[str, Task] = {}
        self.care_team: CareTeam | None = None
        self.plan_version: int | None = None


M = TypeVar("M", bound=BaseModel)
K = TypeVar("K")


def _changed(items: list[M], key: str, sent: dict[K, M]) -> list[M]:
    """Copies of the items that differ from what was sent, remembered as sent."""
    out = []
    for item in items:
        k = getattr(item, key)
        if sent.get(k) != item:
            # Deep copies: the state keeps changing, and a retried local activity sends its
            # input again later.
            copy = item.model_copy(deep=True)
            sent[k] = copy
            out.append(copy)
    return out


def build_batch(state: JourneyState, projected: Projected | None = None) -> ProjectionBatch:
    """The read model's changes as of ``state.seq``; everything when ``projected`` is None."""
    sent = projected or Projected()
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
        completion_held=state.aftercare is not None and state.aftercare.completion_held,
        client_id=state.client_id,
        started_at=state.started_at,
        updated_at=state.outbox[-1].occurred_at if state.outbox else state.started_at,
        ended_at=state.ended_at,
        seq=state.seq,
    )
    team_changed = sent.care_team != state.care_team
    if team_changed:
        sent.care_team = state.care_team.model_copy(deep=True)
    plan = state.plan
    plan_changed = plan is not None and plan.version != sent.plan_version
    if plan is not None:
        sent.plan_version = plan.version
    assert sent.care_team is not None
    return ProjectionBatch(
        summary=summary,
        care_team=sent.care_team,
        care_team_changed=team_changed,
        events=[e.model_copy(deep=True) for e in state.outbox],
        segments=_changed(state.segments, "index", sent.segments),
        reassessments=_changed(state.reassessments, "reassessment_id", sent.reassessments),
        tasks=_changed(state.tasks, "task_id", sent.tasks),
        plan=plan.model_copy(deep=True) if plan is not None and plan_changed else None,
    )
