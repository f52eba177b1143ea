"""Map a projection batch to table rows, one explicit column list per table.

Columns are named one by one instead of dumping the contracts: a field added to a pydantic
model must not turn into an unknown column (and a failing projection) in the read model.
"""

from collections.abc import Mapping
from datetime import datetime
from typing import Any, TypedDict, TypeVar

from models.clinical import Reassessment
from models.journey import JourneyEvent, LocSegment
from models.state import ProjectionBatch
from models.work import Channel, Task, notification_key

# What the writer needs of any row: column names and values (every row type below is one).
Row = Mapping[str, object]
R = TypeVar("R", bound=Row)


class JourneyValues(TypedDict):
    """A ``journeys`` row."""

    journey_id: str
    phase: str
    loc_code: str | None
    discharge_reason: str | None
    policy_version: str
    primary_clinician: str
    next_review_due: datetime | None
    reassessment_due: datetime | None
    urgent: bool
    completion_held: bool
    client_id: str | None
    started_at: datetime
    updated_at: datetime
    ended_at: datetime | None
    last_seq: int


class MemberValues(TypedDict):
    """A ``journey_members`` row."""

    journey_id: str
    member_id: str
    role: str
    primary: bool


class SegmentValues(TypedDict):
    """A ``loc_segments`` row."""

    journey_id: str
    index: int
    phase: str
    loc_code: str | None
    reason: str
    decided_by: str
    effective_at: datetime
    recorded_at: datetime
    ended_at: datetime | None
    updated_seq: int


class ReassessmentValues(TypedDict):
    """A ``reassessments`` row: recommendation and decision flattened beside it."""

    reassessment_id: str
    journey_id: str
    trigger: str
    reason: str
    owner: str
    owner_role: str
    priority: str
    status: str
    opened_at: datetime
    due_at: datetime
    escalated: bool
    dimensions: dict[str, int] | None  # a JSON column
    recommended_phase: str | None
    recommended_loc: str | None
    rationale: str | None
    decided_phase: str | None
    decided_loc: str | None
    follows_recommendation: bool | None
    variance_reason: str | None
    decided_by: str | None
    closed_at: datetime | None
    updated_seq: int


class TaskValues(TypedDict):
    """A ``tasks`` row."""

    task_id: str
    journey_id: str
    kind: str
    owner: str
    role: str
    due_at: datetime
    priority: str
    status: str
    ref: str | None
    created_at: datetime
    closed_at: datetime | None
    updated_seq: int


class EventValues(TypedDict):
    """A ``journey_events`` row."""

    journey_id: str
    seq: int
    kind: str
    priority: str
    occurred_at: datetime
    summary: str
    refs: dict[str, str]  # a JSON column


class PlanValues(TypedDict):
    """A ``plan_versions`` row."""

    journey_id: str
    version: int
    author: str
    reason: str
    revised_at: datetime
    goals: list[dict[str, Any]]  # a JSON column: the goals as their JSON contract


class NotificationValues(TypedDict):
    """A ``notifications`` row (its id is the database's)."""

    idempotency_key: str
    journey_id: str
    seq: int
    recipient: str
    role: str | None
    channel: str
    kind: str
    priority: str
    summary: str
    created_at: datetime
    read_at: datetime | None


def journey_row(batch: ProjectionBatch) -> JourneyValues:
    """The journey row, stamped with the batch sequence."""
    s = batch.summary
    return {
        "journey_id": s.journey_id,
        "phase": s.phase.value,
        "loc_code": s.loc_code,
        "discharge_reason": s.discharge_reason.value if s.discharge_reason else None,
        "policy_version": s.policy_version,
        "primary_clinician": s.primary_clinician,
        "next_review_due": s.next_review_due,
        "reassessment_due": s.reassessment_due,
        "urgent": s.urgent,
        "completion_held": s.completion_held,
        "client_id": s.client_id,
        "started_at": s.started_at,
        "updated_at": s.updated_at,
        "ended_at": s.ended_at,
        "last_seq": s.seq,
    }


def member_rows(batch: ProjectionBatch) -> list[MemberValues]:
    """The care team as of the batch."""
    journey_id = batch.summary.journey_id
    return [
        {
            "journey_id": journey_id,
            "member_id": m.member_id,
            "role": m.role.value,
            "primary": m.primary,
        }
        for m in batch.care_team.members
    ]


def segment_rows(batch: ProjectionBatch) -> list[SegmentValues]:
    """Level-of-care segments; they carry no sequence of their own, so the batch's is used."""
    return _unique([_segment(batch, s) for s in batch.segments], "index")


def _segment(batch: ProjectionBatch, s: LocSegment) -> SegmentValues:
    return {
        "journey_id": batch.summary.journey_id,
        "index": s.index,
        "phase": s.phase.value,
        "loc_code": s.loc_code,
        "reason": s.reason,
        "decided_by": s.decided_by,
        "effective_at": s.effective_at,
        "recorded_at": s.recorded_at,
        "ended_at": s.ended_at,
        "updated_seq": batch.summary.seq,
    }


def reassessment_rows(batch: ProjectionBatch) -> list[ReassessmentValues]:
    """Reassessments with recommendation and decision flattened beside them."""
    rows = [_reassessment(batch, r) for r in batch.reassessments]
    return _unique(rows, "reassessment_id")


def _reassessment(batch: ProjectionBatch, r: Reassessment) -> ReassessmentValues:
    rec, dec = r.recommendation, r.decision
    return {
        "reassessment_id": r.reassessment_id,
        "journey_id": batch.summary.journey_id,
        "trigger": r.trigger.value,
        "reason": r.reason,
        "owner": r.owner,
        "owner_role": r.owner_role.value,
        "priority": r.priority.value,
        "status": r.status.value,
        "opened_at": r.opened_at,
        "due_at": r.due_at,
        "escalated": r.escalated,
        "dimensions": dict(r.assessment.dimensions) if r.assessment else None,
        "recommended_phase": rec.phase.value if rec else None,
        "recommended_loc": rec.loc_code if rec else None,
        "rationale": rec.rationale if rec else None,
        "decided_phase": dec.phase.value if dec else None,
        "decided_loc": dec.loc_code if dec else None,
        "follows_recommendation": dec.follows_recommendation if dec else None,
        "variance_reason": dec.variance_reason if dec else None,
        "decided_by": dec.decided_by if dec else None,
        "closed_at": r.closed_at,
        "updated_seq": batch.summary.seq,
    }


def task_rows(batch: ProjectionBatch) -> list[TaskValues]:
    """Tasks, each guarded by its own ``updated_seq``."""
    return _unique([_task(batch.summary.journey_id, t) for t in batch.tasks], "task_id")


def _task(journey_id: str, t: Task) -> TaskValues:
    return {
        "task_id": t.task_id,
        "journey_id": journey_id,
        "kind": t.kind.value,
        "owner": t.owner,
        "role": t.role.value,
        "due_at": t.due_at,
        "priority": t.priority.value,
        "status": t.status.value,
        "ref": t.ref,
        "created_at": t.created_at,
        "closed_at": t.closed_at,
        "updated_seq": t.updated_seq,
    }


def event_rows(batch: ProjectionBatch) -> list[EventValues]:
    """The batch's events, without their recipients (those become notifications)."""
    return _unique([_event(batch.summary.journey_id, e) for e in batch.events], "seq")


def _event(journey_id: str, e: JourneyEvent) -> EventValues:
    return {
        "journey_id": journey_id,
        "seq": e.seq,
        "kind": e.kind.value,
        "priority": e.priority.value,
        "occurred_at": e.occurred_at,
        "summary": e.summary,
        "refs": dict(e.refs),
    }


def plan_rows(batch: ProjectionBatch) -> list[PlanValues]:
    """The current plan version, if the journey has a plan."""
    plan = batch.plan
    if plan is None:
        return []
    return [
        {
            "journey_id": batch.summary.journey_id,
            "version": plan.version,
            "author": plan.author,
            "reason": plan.reason,
            "revised_at": plan.revised_at,
            "goals": [g.model_dump(mode="json") for g in plan.goals],
        }
    ]


def notification_rows(batch: ProjectionBatch) -> list[NotificationValues]:
    """One feed notification per event and recipient, keyed for idempotency."""
    journey_id = batch.summary.journey_id
    roles = {m.member_id: m.role.value for m in batch.care_team.members}
    rows: list[NotificationValues] = [
        {
            "idempotency_key": notification_key(journey_id, e.seq, recipient, Channel.FEED),
            "journey_id": journey_id,
            "seq": e.seq,
            "recipient": recipient,
            # A recipient who already left the team keeps the notification, without a role.
            "role": roles.get(recipient),
            "channel": Channel.FEED.value,
            "kind": e.kind.value,
            "priority": e.priority.value,
            "summary": e.summary,
            "created_at": e.occurred_at,
            "read_at": None,
        }
        for e in batch.events
        for recipient in e.recipients
    ]
    return _unique(rows, "idempotency_key")


def _unique(rows: list[R], key: str) -> list[R]:
    """Drop repeated keys: PostgreSQL refuses to upsert one row twice in a statement."""
    return list({row[key]: row for row in rows}.values())
