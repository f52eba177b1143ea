"""Workflow tests: the time-skipping server with a real worker on a fresh task queue."""

from collections.abc import AsyncIterator

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.testing import WorkflowEnvironment

from worker import create_worker


@pytest.fixture
async def env(
    time_skipping_env: WorkflowEnvironment,
    task_queue: str,
    sqlite_sessions: async_sessionmaker[AsyncSession],
) -> AsyncIterator[WorkflowEnvironment]:
    """The time-skipping server with a worker projecting into a SQLite read model."""
    async with create_worker(time_skipping_env.client, task_queue, sqlite_sessions):
        yield time_skipping_env
