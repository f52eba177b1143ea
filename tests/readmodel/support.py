"""Helpers for read-model tests: apply batches, snapshot and clear the projected tables."""

from collections.abc import Iterable
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from models.state import ProjectionBatch
from readmodel.db import create_engine
from readmodel.projections import ProjectionWriter
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

Sessions = async_sessionmaker[AsyncSession]
Snapshot = dict[str, list[tuple[Any, ...]]]
PROJECTED: list[type[Base]] = [
    JourneyRow,
    MemberRow,
    SegmentRow,
    EventRow,
    ReassessmentRow,
    TaskRow,
    PlanVersionRow,
    NotificationRow,
]


async def apply_all(sessions: Sessions, batches: Iterable[ProjectionBatch]) -> int:
    """Apply batches one transaction each, like the activity does; returns new notifications."""
    engine = sessions.kw["bind"]
    assert isinstance(engine, AsyncEngine)
    writer = ProjectionWriter(engine)
    total = 0
    for batch in batches:
        total += await writer.apply(batch)
    return total


async def snapshot(sessions: Sessions, *, leave_out: tuple[str, ...] = ()) -> Snapshot:
    """Every projected row, without surrogate ids (and ``leave_out`` columns), in stable order."""
    out: Snapshot = {}
    skip = {"id", *leave_out}
    async with sessions() as session:
        for model in PROJECTED:
            columns = [c for c in model.__table__.columns if c.name not in skip]
            rows = (await session.execute(select(*columns))).all()
            out[model.__tablename__] = sorted((tuple(r) for r in rows), key=repr)
    return out


async def clear(sessions: Sessions) -> None:
    """Empty the projected tables (much faster than migrating a fresh database)."""
    async with sessions.begin() as session:
        for model in PROJECTED:
            await session.execute(delete(model))


async def reset(url: str) -> None:
    """Drop every table so the next migration starts from nothing."""
    engine = create_engine(url)
    async with engine.begin() as connection:
        await connection.run_sync(Base.metadata.drop_all)
        await connection.exec_driver_sql("DROP TABLE IF EXISTS alembic_version")
        if connection.dialect.name == "postgresql":
            # The audit log's guard function outlives its table.
            await connection.exec_driver_sql(
                "DROP FUNCTION IF EXISTS audit_log_append_only() CASCADE"
            )
    await engine.dispose()
