"""Apply a projection batch: upserts guarded by the event sequence, idempotent notifications.

Retries, replays and batches arriving out of order never duplicate a row or move one backwards:
rows carrying state are replaced only by a strictly newer sequence, rows recording something that
happened (events, plan versions, notifications) are written once.
"""

from typing import cast

from sqlalchemy import Table, delete
from sqlalchemy.ext.asyncio import AsyncSession

from models.state import ProjectionBatch
from readmodel import rows
from readmodel.db import dialect_insert
from readmodel.rows import Row
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


async def apply_batch(session: AsyncSession, batch: ProjectionBatch) -> int:
    """Write one batch in one transaction.

    Args:
        session: a session not yet in a transaction; the batch commits on it.
        batch: the journey's state as of ``batch.summary.seq``.

    Returns:
        How many feed notifications were new.
    """
    async with session.begin():
        # The journey row goes first. On PostgreSQL its row lock then orders concurrent batches
        # of one journey; on SQLite the first statement takes the write lock, so the
        # transaction never has to upgrade a read lock (which fails at once under WAL).
        if await _upsert(session, JourneyRow, [rows.journey_row(batch)], "last_seq"):
            await _replace_members(session, batch)
        await _upsert(session, SegmentRow, rows.segment_rows(batch), "updated_seq")
        await _upsert(session, ReassessmentRow, rows.reassessment_rows(batch), "updated_seq")
        await _upsert(session, TaskRow, rows.task_rows(batch), "updated_seq")
        await _insert_absent(session, EventRow, rows.event_rows(batch))
        await _insert_absent(session, PlanVersionRow, rows.plan_rows(batch))
        return await _insert_absent(
            session, NotificationRow, rows.notification_rows(batch), ["idempotency_key"]
        )


def _table(model: type[Base]) -> Table:
    return cast(Table, model.__table__)


async def _upsert(session: AsyncSession, model: type[Base], values: list[Row], seq: str) -> int:
    """Insert, or update only where the incoming sequence is strictly newer.

    Returns:
        How many rows were inserted or updated.
    """
    if not values:
        return 0
    table = _table(model)
    keys = [c.name for c in table.primary_key.columns]
    stmt = dialect_insert(session, table)
    stmt = stmt.on_conflict_do_update(
        index_elements=keys,
        set_={name: stmt.excluded[name] for name in values[0] if name not in keys},
        where=table.c[seq] < stmt.excluded[seq],
    )
    # Rows go as parameters, not in the statement: its shape never changes, so SQLAlchemy
    # compiles it once (compiling a fresh multi-row VALUES per batch cost most of a
    # projection). RETURNING yields only the rows written; rowcount is unreliable for upserts.
    returning = stmt.returning(*table.primary_key.columns, sort_by_parameter_order=True)
    result = await session.execute(returning, values)
    return len(result.all())


async def _insert_absent(
    session: AsyncSession, model: type[Base], values: list[Row], keys: list[str] | None = None
) -> int:
    """Insert rows whose key is not stored yet; returns how many were new."""
    if not values:
        return 0
    table = _table(model)
    conflict = keys or [c.name for c in table.primary_key.columns]
    stmt = dialect_insert(session, table).on_conflict_do_nothing(index_elements=conflict)
    result = await session.execute(stmt.returning(*[table.c[k] for k in conflict]), values)
    return len(result.all())


async def _replace_members(session: AsyncSession, batch: ProjectionBatch) -> None:
    """Make the stored care team exactly the batch's (called only when the batch is newest)."""
    journey_id = batch.summary.journey_id
    await session.execute(delete(MemberRow).where(MemberRow.journey_id == journey_id))
    await session.execute(_table(MemberRow).insert(), rows.member_rows(batch))
