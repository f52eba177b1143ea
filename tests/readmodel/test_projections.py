"""Projections are idempotent, never go backwards, and write one notification per recipient."""

from datetime import timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from models.journey import Phase
from models.work import Channel, notification_key
from readmodel.db import create_engine, sessionmaker
from readmodel.migrate import migrate
from readmodel.projections import apply_batch
from readmodel.tables import (
    EventRow,
    JourneyRow,
    MemberRow,
    NotificationRow,
    PlanVersionRow,
    ReassessmentRow,
    SegmentRow,
    TaskRow,
)
from tests.readmodel.batches import journey_batches
from tests.readmodel.conftest import reset

TABLES = [JourneyRow, MemberRow, SegmentRow, EventRow, ReassessmentRow, TaskRow, PlanVersionRow]


async def _apply_all(sessions: async_sessionmaker[AsyncSession], batches: list[Any]) -> int:
    total = 0
    for batch in batches:
        async with sessions() as session:
            total += await apply_batch(session, batch)
    return total


async def _snapshot(sessions: async_sessionmaker[AsyncSession]) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, without surrogate ids, in a stable order."""
    out: dict[str, list[tuple[Any, ...]]] = {}
    async with sessions() as session:
        for model in [*TABLES, NotificationRow]:
            columns = [c for c in model.__table__.columns if c.name != "id"]
            rows = (await session.execute(select(*columns))).all()
            out[model.__tablename__] = sorted(tuple(r) for r in rows)
    return out


async def test_applying_the_same_batches_twice_writes_nothing_new(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    batches = journey_batches()
    first = await _apply_all(sessions, batches)
    before = await _snapshot(sessions)
    second = await _apply_all(sessions, batches)
    assert first > 0
    assert second == 0
    assert await _snapshot(sessions) == before


async def test_an_older_batch_never_moves_the_journey_back(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    batches = journey_batches()
    await _apply_all(sessions, batches)
    await _apply_all(sessions, [batches[0]])
    async with sessions() as session:
        row = await session.get(JourneyRow, "J-RM-1")
        assert row is not None
        assert row.phase == Phase.TREATMENT
        assert row.loc_code == "3.5"
        assert row.last_seq == batches[-1].summary.seq
        segments = (await session.scalars(select(SegmentRow).order_by(SegmentRow.index))).all()
        assert [s.loc_code for s in segments] == [None, "3.7-WM", "3.5"]
        assert segments[0].ended_at is not None


async def test_one_notification_per_event_and_recipient(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    batches = journey_batches()
    await _apply_all(sessions, batches)
    expected = {
        notification_key("J-RM-1", e.seq, r, Channel.FEED)
        for b in batches
        for e in b.events
        for r in e.recipients
    }
    async with sessions() as session:
        keys = set((await session.scalars(select(NotificationRow.idempotency_key))).all())
        count = await session.scalar(select(func.count()).select_from(NotificationRow))
    assert keys == expected
    assert count == len(expected)
    assert len(expected) > 10


async def test_reassessment_rows_keep_recommendation_and_decision(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await _apply_all(sessions, journey_batches())
    async with sessions() as session:
        rows = (
            await session.scalars(select(ReassessmentRow).order_by(ReassessmentRow.opened_at))
        ).all()
    intake = rows[0]
    assert intake.recommended_loc == "3.7-WM"
    assert intake.decided_loc == "3.7-WM"
    assert intake.follows_recommendation is True
    assert intake.dimensions is not None
    assert intake.dimensions["d1"] == 3
    assert rows[-1].escalated is True
    assert rows[-1].status == "open"


@settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(order=st.lists(st.integers(0, 5), min_size=1, max_size=14))
async def test_any_order_with_repeats_converges_to_the_in_order_result(
    database_url: str, order: list[int]
) -> None:

    batches = journey_batches()
    await reset(database_url)
    await migrate(database_url)
    engine = create_engine(database_url)
    sessions = sessionmaker(engine)
    try:
        await _apply_all(sessions, batches)
        expected = await _snapshot(sessions)
        await reset(database_url)
        await migrate(database_url)
        # Any order and any repetition, as long as every batch arrives at least once.
        await _apply_all(sessions, [batches[i] for i in order] + batches)
        assert await _snapshot(sessions) == expected
    finally:
        await engine.dispose()


async def test_journeys_of_different_clients_do_not_mix(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    one = journey_batches("J-A")
    two = journey_batches("J-B", one[0].summary.started_at + timedelta(days=1))
    await _apply_all(sessions, one + two)
    async with sessions() as session:
        counts = dict(
            (
                await session.execute(
                    select(EventRow.journey_id, func.count()).group_by(EventRow.journey_id)
                )
            ).all()
        )
    assert counts == {"J-A": one[-1].summary.seq, "J-B": two[-1].summary.seq}
