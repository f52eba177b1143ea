"""The read model's health checks on SQLite and PostgreSQL: a write that cannot take the lock in
time is refused (and changes nothing), the backlog figures carry times and counts only."""

import sqlite3
from datetime import UTC, datetime, timedelta

import asyncpg
from sqlalchemy import make_url, select

from models.delivery import DeliveryStatus
from readmodel.queries import JourneyQueries
from readmodel.tables import DeliveryRow, JourneyRow
from tests.factories import batch, summary
from tests.readmodel.support import Sessions, apply_all


async def test_a_held_write_lock_makes_the_read_model_unwritable_in_time(
    sessions: Sessions, database_url: str
) -> None:
    queries = JourneyQueries(sessions)
    assert await queries.writable(1.0)
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        assert url.database
        holder = sqlite3.connect(url.database, timeout=0, isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")
        try:
            assert not await queries.writable(0.2)
            assert await queries.healthy()  # reads still answer
        finally:
            holder.execute("ROLLBACK")
            holder.close()
    else:
        pg = await asyncpg.connect(url.set(drivername="postgresql").render_as_string(False))
        transaction = pg.transaction()
        await transaction.start()
        await pg.execute("LOCK TABLE journeys IN EXCLUSIVE MODE")  # reads go on, writes wait
        try:
            assert not await queries.writable(0.2)
            assert await queries.healthy()
        finally:
            await transaction.rollback()
            await pg.close()
    assert await queries.writable(1.0)
    async with sessions() as session:
        assert (await session.scalars(select(JourneyRow))).all() == []


async def test_the_backlog_is_the_newest_event_and_the_oldest_pending_delivery(
    sessions: Sessions,
) -> None:
    queries = JourneyQueries(sessions)
    empty = await queries.backlog()
    assert (empty.newest_event_at, empty.pending_deliveries) == (None, 0)
    now = datetime.now(UTC).replace(microsecond=0)
    await apply_all(
        sessions,
        [
            batch(summary("J-B1", 3, updated_at=now - timedelta(hours=2))),
            batch(summary("J-B2", 4, updated_at=now - timedelta(minutes=3))),
        ],
    )
    async with sessions.begin() as session:
        for n, (status, age) in enumerate(
            [(DeliveryStatus.PENDING, 30), (DeliveryStatus.PENDING, 90), (DeliveryStatus.DEAD, 600)]
        ):
            at = now - timedelta(minutes=age)
            session.add(
                DeliveryRow(
                    key=f"J-B1:3:t{n}:webhook", channel="webhook", target=f"t{n}",
                    journey_id="J-B1", seq=3, kind="phase_changed", priority="routine",
                    occurred_at=at, due_at=None, status=status.value, started=True, attempts=1,
                    last_error=None, replays=0, created_at=at, sent_at=None, dead_at=None,
                )
            )  # fmt: skip
    backlog = await queries.backlog()
    assert backlog.newest_event_at == now - timedelta(minutes=3)
    assert backlog.pending_deliveries == 2
    assert backlog.oldest_pending_delivery_at == now - timedelta(minutes=90)
