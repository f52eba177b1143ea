"""Waiting for a command's notification row, as the benchmark's latency figures do."""

import asyncio

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from readmodel.tables import NotificationRow


async def feed_row_visible(
    sessions: async_sessionmaker[AsyncSession], journey_id: str, seq: int
) -> None:
    """Poll (bounded) until an event's notification row is readable in the read model.

    It is when the command answers: the projection is written before the update returns.

    Raises:
        RuntimeError: the row did not appear within a thousand polls.
    """
    for _ in range(1000):
        async with sessions() as session:
            found = await session.scalar(
                select(NotificationRow.id)
                .where(NotificationRow.journey_id == journey_id, NotificationRow.seq == seq)
                .limit(1)
            )
        if found is not None:
            return
        await asyncio.sleep(0.001)
    raise RuntimeError(f"no feed row for event {seq} of a journey")
