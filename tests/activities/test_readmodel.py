"""The projection activity writes the batch and logs ids and counts, never clinical text."""

import pytest
import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from structlog.testing import capture_logs
from temporalio.testing import ActivityEnvironment

from activities import readmodel as module
from activities.readmodel import ReadModelActivities
from tests.factories import journey_batches


async def test_project_applies_once_and_logs_only_ids_and_counts(
    sqlite_sessions: async_sessionmaker[AsyncSession], monkeypatch: pytest.MonkeyPatch
) -> None:
    batch = journey_batches("J-ACT")[1]
    pairs = sum(len(e.recipients) for e in batch.events)
    activities = ReadModelActivities(sqlite_sessions)
    env = ActivityEnvironment()
    with capture_logs() as logs:
        # A logger made inside the capture, whatever caching an earlier configuration set up.
        monkeypatch.setattr(module, "log", structlog.get_logger(module.__name__))
        assert await env.run(activities.project, batch) == pairs
        assert await env.run(activities.project, batch) == 0
    fields = {"event", "log_level", "journey_id", "seq", "events", "notifications"}
    assert [set(entry) for entry in logs] == [fields, fields]
    assert [entry["notifications"] for entry in logs] == [pairs, 0]
    assert {(entry["journey_id"], entry["seq"]) for entry in logs} == {("J-ACT", batch.summary.seq)}
    text = repr(logs)
    assert all(e.summary not in text for e in batch.events)
