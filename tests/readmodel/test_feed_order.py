"""Feed notifications become visible in the order of their ids, with batches written at once.

The dispatcher and the live feed read notifications after the last id they saw. On PostgreSQL
several workers project at the same time: were a batch holding a lower id to commit after a
higher id was read, its notifications would never be e-mailed, posted or streamed.
"""

import asyncio
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from readmodel.db import create_engine
from readmodel.migrate import migrate
from readmodel.projections import apply_batch
from readmodel.rows import notification_rows
from tests.factories import journey_batches
from tests.readmodel.support import reset

SEEN = "SELECT id, journey_id FROM notifications ORDER BY id"
COMMIT_WINDOW_S = 1.0  # ample for the second batch to commit, were it not made to wait


@pytest.fixture
async def engine(pg_url: str) -> AsyncIterator[AsyncEngine]:
    await reset(pg_url)
    await migrate(pg_url)
    engine = create_engine(pg_url)
    yield engine
    await engine.dispose()


async def test_a_batch_never_commits_feed_ids_behind_ones_already_visible(
    engine: AsyncEngine,
) -> None:
    first, second = journey_batches("J-ORDER-1")[0], journey_batches("J-ORDER-2")[0]
    assert notification_rows(first)
    assert notification_rows(second)

    async def write_second() -> None:
        async with engine.begin() as conn:
            await conn.run_sync(apply_batch, second)

    async with engine.connect() as slow:
        pending = await slow.begin()
        await slow.run_sync(apply_batch, first)  # its ids drawn, not committed yet
        writing = asyncio.create_task(write_second())
        await asyncio.sleep(COMMIT_WINDOW_S)
        async with engine.connect() as reader:  # a dispatcher round meanwhile
            visible = (await reader.execute(text(SEEN))).all()
        await pending.commit()
    await writing
    async with engine.connect() as reader:
        stored = (await reader.execute(text(SEEN))).all()

    assert visible == []  # the second batch waited for the first: nothing to skip later
    journeys = [journey_id for _, journey_id in stored]
    assert journeys == sorted(journeys)  # every id of the first batch before the second's
    assert set(journeys) == {"J-ORDER-1", "J-ORDER-2"}
