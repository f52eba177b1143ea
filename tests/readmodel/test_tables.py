"""Timestamps keep their instant and come back aware, in UTC, on both backends."""

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import select
from sqlalchemy.exc import StatementError

from readmodel.tables import JourneyRow
from tests.factories import batch, summary
from tests.readmodel.support import Sessions, apply_all

PLUS_TWO = timezone(timedelta(hours=2))


async def test_aware_times_round_trip_as_utc(sessions: Sessions) -> None:
    local = datetime(2026, 3, 1, 23, 30, tzinfo=PLUS_TWO)
    await apply_all(sessions, [batch(summary("J-TZ", 1, updated_at=local))])
    async with sessions() as session:
        stored = await session.scalar(select(JourneyRow.updated_at))
    assert stored == local
    assert stored is not None
    assert stored.tzinfo is UTC
    assert stored.hour == 21


async def test_comparisons_use_the_utc_instant(sessions: Sessions) -> None:
    due = datetime(2026, 3, 2, 0, 30, tzinfo=PLUS_TWO)  # 22:30 UTC the day before
    await apply_all(sessions, [batch(summary("J-TZ", 1, next_review_due=due))])
    before = datetime(2026, 3, 1, 23, 0, tzinfo=UTC)
    query = select(JourneyRow.journey_id).where(JourneyRow.next_review_due < before)
    async with sessions() as session:
        assert (await session.scalars(query)).all() == ["J-TZ"]


async def test_naive_times_are_refused(sessions: Sessions) -> None:
    row = JourneyRow(
        journey_id="J-NAIVE",
        phase="intake",
        policy_version="default@1",
        primary_clinician="th-chen",
        urgent=False,
        started_at=datetime(2026, 1, 1),  # a naive time: the point of the test
        updated_at=datetime.now(UTC),
        last_seq=1,
    )
    with pytest.raises(StatementError, match="naive"):
        async with sessions.begin() as session:
            session.add(row)
