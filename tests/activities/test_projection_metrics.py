"""The projection activity counts batches, times them, measures each event's lag and counts the
escalations it writes; a batch that cannot be written counts as failed."""

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from prometheus_client import REGISTRY
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.testing import ActivityEnvironment

from activities.readmodel import ReadModelActivities
from models.journey import EventKind
from readmodel.db import create_engine, sessionmaker
from tests.factories import batch, event, summary


def _sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def _counts() -> tuple[float, ...]:
    return (
        _sample("journeys_projections_total", outcome="written"),
        _sample("journeys_projections_total", outcome="failed"),
        _sample("journeys_projection_duration_seconds_count"),
        _sample("journeys_projection_lag_seconds_count"),
        _sample("journeys_projection_lag_seconds_sum"),
        _sample("journeys_escalations_total", kind="work_overdue"),
        _sample("journeys_escalations_total", kind="reassessment_overdue"),
    )


async def test_a_written_batch_is_counted_with_its_lag_and_escalations(
    sqlite_sessions: async_sessionmaker[AsyncSession],
) -> None:
    now = datetime.now(UTC)
    events = [
        event(1, at=now - timedelta(seconds=30)),
        event(2, at=now - timedelta(seconds=20), kind=EventKind.WORK_OVERDUE),
    ]
    before = _counts()
    await ActivityEnvironment().run(
        ReadModelActivities(sqlite_sessions).project, batch(summary("J-PM-1", 2), events=events)
    )
    after = _counts()
    delta = [round(a - b, 1) for a, b in zip(after, before, strict=True)]
    written, failed, timed, lags, lag_seconds, overdue, reassessments = delta
    assert (written, failed, timed, lags) == (1, 0, 1, 2)
    # Thirty and twenty seconds ago, written just now: at least 50 s in all (in seconds, not
    # milliseconds: the bound above only says so).
    assert 50 <= lag_seconds < 3600
    assert (overdue, reassessments) == (1, 0)


async def test_a_batch_that_cannot_be_written_counts_as_failed(tmp_path: Path) -> None:
    # A database without the read model's tables.
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}")
    before = _counts()
    with pytest.raises(Exception, match="no such table"):
        await ActivityEnvironment().run(
            ReadModelActivities(sessionmaker(engine)).project, batch(summary("J-PM-2", 1))
        )
    await engine.dispose()
    after = _counts()
    assert after[1] - before[1] == 1
    assert after[0] == before[0]
    assert after[3] == before[3]
