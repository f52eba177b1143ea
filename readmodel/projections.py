"""Apply a projection batch: upserts guarded by the event sequence, idempotent notifications.

Retries, replays and batches arriving out of order never duplicate a row or move one backwards:
rows carrying state are replaced only by a strictly newer sequence, rows that record something
that happened (events, plan versions, notifications) are written once.
"""

from typing import Any, cast

from sqlalchemy import ColumnElement, Table, delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from models.care import CareTeam
from models.clinical import Reassessment
from models.journey import JourneyEvent
from models.state import ProjectionBatch
from models.work import Channel, notification_key
from readmodel.tables import (
    Base,
    EventRow,
    JourneyRow,
    MemberRow,
    NotificationRow,
    PlanVersionRow,
    ReassessmentRow,
    SegmentRow,
    TaskRow,
)


def _table(model: type[Base]) -> Table:
    return cast(Table, model.__table__)


def _insert(session: AsyncSession, table: Table) -> Any:
    dialect = session.get_bind().dialect.name
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)


async def _upsert(
    session: AsyncSession,
    model: type[Base],
    rows: list[dict[str, Any]],
    keys: list[str],
    seq_col: str,
) -> None:
    """Insert, or update only when the incoming sequence is strictly newer."""
    if not rows:
        return
    table = _table(model)
    stmt = _insert(session, table).values(rows)
    newer: ColumnElement[bool] = table.c[seq_col] < stmt.excluded[seq_col]
    updates = {c: stmt.excluded[c] for c in rows[0] if c not in keys}
    await session.execute(
        stmt.on_conflict_do_update(index_elements=keys, set_=updates, where=newer)
    )


async def _insert_once(
    session: AsyncSession, model: type[Base], rows: list[dict[str, Any]], keys: list[str]
) -> int:
    if not rows:
        return 0
    stmt = _insert(session, _table(model)).values(rows).on_conflict_do_nothing(index_elements=keys)
    result = await session.execute(stmt)
    return int(getattr(result, "rowcount", 0) or 0)


async def apply_batch(session: AsyncSession, batch: ProjectionBatch) -> int:
    """Write one batch in one transaction; returns how many notifications were new."""
    seq = batch.summary.seq
    journey_id = batch.summary.journey_id
    async with session.begin():
        if await _journey_is_older(session, journey_id, seq):
            await _replace_members(session, journey_id, batch.care_team)
        summary = batch.summary.model_dump()
        summary["last_seq"] = summary.pop("seq")
        await _upsert(session, JourneyRow, [summary], ["journey_id"], "last_seq")
        await _upsert(
            session,
            SegmentRow,
            [
                {"journey_id": journey_id, **s.model_dump(), "updated_seq": seq}
                for s in batch.segments
            ],
            ["journey_id", "index"],
            "updated_seq",
        )
        await _upsert(
            session,
            ReassessmentRow,
            [_reassessment_row(journey_id, r, seq) for r in batch.reassessments],
            ["reassessment_id"],
            "updated_seq",
        )
        await _upsert(
            session,
            TaskRow,
            [{"journey_id": journey_id, **t.model_dump()} for t in batch.tasks],
            ["task_id"],
            "updated_seq",
        )
        await _write_once(session, batch)
        return await _insert_once(
            session, NotificationRow, _notifications(batch), ["idempotency_key"]
        )


async def _journey_is_older(session: AsyncSession, journey_id: str, seq: int) -> bool:
    stored = await session.scalar(
        select(JourneyRow.last_seq).where(JourneyRow.journey_id == journey_id)
    )
    return stored is None or stored < seq


async def _replace_members(session: AsyncSession, journey_id: str, team: CareTeam) -> None:
    await session.execute(delete(MemberRow).where(MemberRow.journey_id == journey_id))
    session.add_all(
        MemberRow(
            journey_id=journey_id, member_id=m.member_id, role=m.role.value, primary=m.primary
        )
        for m in team.members
    )
    await session.flush()


async def _write_once(session: AsyncSession, batch: ProjectionBatch) -> None:
    journey_id = batch.summary.journey_id
    await _insert_once(
        session,
        EventRow,
        [_event_row(journey_id, e) for e in batch.events],
        ["journey_id", "seq"],
    )
    if batch.plan is not None:
        # The table keeps each version's goals; the whole plan lives in the journey's state.
        plan = batch.plan.model_dump(mode="json", include={"version", "author", "reason", "goals"})
        plan["revised_at"] = batch.plan.revised_at
        await _insert_once(
            session,
            PlanVersionRow,
            [{"journey_id": journey_id, **plan}],
            ["journey_id", "version"],
        )


def _event_row(journey_id: str, event: JourneyEvent) -> dict[str, Any]:
    row = event.model_dump(exclude={"recipients"})
    return {"journey_id": journey_id, **row}


def _reassessment_row(journey_id: str, r: Reassessment, seq: int) -> dict[str, Any]:
    rec, dec = r.recommendation, r.decision
    return {
        "reassessment_id": r.reassessment_id,
        "journey_id": journey_id,
        "trigger": r.trigger.value,
        "reason": r.reason,
        "owner": r.owner,
        "owner_role": r.owner_role.value,
        "priority": r.priority.value,
        "status": r.status.value,
        "opened_at": r.opened_at,
        "due_at": r.due_at,
        "escalated": r.escalated,
        "dimensions": r.assessment.dimensions if r.assessment else None,
        "recommended_phase": rec.phase.value if rec else None,
        "recommended_loc": rec.loc_code if rec else None,
        "rationale": rec.rationale if rec else None,
        "decided_phase": dec.phase.value if dec else None,
        "decided_loc": dec.loc_code if dec else None,
        "follows_recommendation": dec.follows_recommendation if dec else None,
        "variance_reason": dec.variance_reason if dec else None,
        "decided_by": dec.decided_by if dec else None,
        "closed_at": r.closed_at,
        "updated_seq": seq,
    }


def _notifications(batch: ProjectionBatch) -> list[dict[str, Any]]:
    journey_id = batch.summary.journey_id
    roles = {m.member_id: m.role.value for m in batch.care_team.members}
    return [
        {
            "idempotency_key": notification_key(journey_id, e.seq, recipient, Channel.FEED),
            "journey_id": journey_id,
            "seq": e.seq,
            "recipient": recipient,
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
