"""Queries behind lists, timelines, feeds and counts; and migrations that match the tables."""

from datetime import timedelta

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from models.journey import EventKind, Phase
from readmodel.access import AccessRepository, StaffExistsError, StaffRole, hash_token
from readmodel.db import create_engine
from readmodel.projections import apply_batch
from readmodel.queries import JourneyQueries
from readmodel.tables import Base
from tests.builders import SUPERVISOR
from tests.readmodel.batches import journey_batches


async def _load(sessions: async_sessionmaker[AsyncSession], *journeys: str) -> None:
    for n, journey_id in enumerate(journeys):
        batches = journey_batches(journey_id)
        for batch in batches[: 2 + n]:
            async with sessions() as session:
                await apply_batch(session, batch)


async def test_migrations_create_exactly_the_declared_tables(database_url: str) -> None:
    def diff(connection: Connection) -> list[object]:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return list(compare_metadata(context, Base.metadata))

    engine = create_engine(database_url)
    async with engine.connect() as connection:
        assert await connection.run_sync(diff) == []
    await engine.dispose()


async def test_list_filters(sessions: async_sessionmaker[AsyncSession]) -> None:
    await _load(sessions, "J-1", "J-2", "J-3", "J-4", "J-5")
    queries = JourneyQueries(sessions)
    everything = await queries.list_journeys()
    assert {j.journey_id for j in everything} == {"J-1", "J-2", "J-3", "J-4", "J-5"}
    # J-1 stopped after the intake decision, J-2 after the scheduled review opened, ...
    wm = await queries.list_journeys(phase=Phase.WITHDRAWAL_MANAGEMENT)
    assert {j.journey_id for j in wm} == {"J-1", "J-2"}
    assert {j.journey_id for j in await queries.list_journeys(loc_code="3.5")} == {
        "J-3",
        "J-4",
        "J-5",
    }
    assert await queries.list_journeys(loc_code="2.1") == []
    assert {j.journey_id for j in await queries.list_journeys(urgent=True)} == {"J-4", "J-5"}
    t0 = everything[0].started_at
    assert await queries.list_journeys(review_overdue_at=t0) == []
    late = await queries.list_journeys(review_overdue_at=t0 + timedelta(days=60))
    assert {j.journey_id for j in late} == {"J-1", "J-2", "J-3", "J-4", "J-5"}
    assert {j.journey_id for j in await queries.list_journeys(member="cm-diaz")} == {
        "J-1", "J-2", "J-3", "J-4", "J-5",
    }  # fmt: skip
    assert await queries.list_journeys(member="nobody") == []
    page_one = await queries.list_journeys(limit=2)
    page_two = await queries.list_journeys(limit=2, offset=2)
    assert len(page_one) == 2
    assert len(page_two) == 2
    assert not {j.journey_id for j in page_one} & {j.journey_id for j in page_two}


async def test_timeline_holds_the_whole_record(sessions: async_sessionmaker[AsyncSession]) -> None:
    batches = journey_batches("J-T")
    for batch in batches:
        async with sessions() as session:
            await apply_batch(session, batch)
    queries = JourneyQueries(sessions)
    timeline = await queries.get_timeline("J-T")
    assert timeline is not None
    assert [e.seq for e in timeline.events] == list(range(1, batches[-1].summary.seq + 1))
    assert [(s.phase, s.loc_code) for s in timeline.segments] == [
        (Phase.INTAKE, None),
        (Phase.WITHDRAWAL_MANAGEMENT, "3.7-WM"),
        (Phase.TREATMENT, "3.5"),
    ]
    assert len(timeline.members) == 7
    assert timeline.reassessments[0].recommended_loc == "3.7-WM"
    assert any(t.kind == "complete_reassessment" for t in timeline.tasks)
    assert await queries.get_timeline("J-NONE") is None


async def test_feed_is_newest_first_and_marks_read(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await _load(sessions, "J-1", "J-2", "J-3", "J-4", "J-5")
    queries = JourneyQueries(sessions)
    feed = await queries.feed(SUPERVISOR, limit=500)
    assert feed
    assert [f.created_at for f in feed] == sorted((f.created_at for f in feed), reverse=True)
    assert {f.recipient for f in feed} == {SUPERVISOR}
    assert any(f.kind is EventKind.REASSESSMENT_OVERDUE for f in feed)
    first = feed[0]
    changed = await queries.mark_read(SUPERVISOR, [first.id], first.created_at)
    assert changed == 1
    assert await queries.mark_read(SUPERVISOR, [first.id], first.created_at) == 0
    # Someone else's notification cannot be marked by this member.
    other = (await queries.feed("th-chen"))[0]
    assert await queries.mark_read(SUPERVISOR, [other.id], first.created_at) == 0
    unread = await queries.feed(SUPERVISOR, unread_only=True, limit=500)
    assert len(unread) == len(feed) - 1
    assert first.id not in {f.id for f in unread}


async def test_counts_by_phase_and_loc(sessions: async_sessionmaker[AsyncSession]) -> None:
    await _load(sessions, "J-1", "J-2", "J-3", "J-4", "J-5")
    counts = {
        (c.phase, c.loc_code): c.count
        for c in await JourneyQueries(sessions).counts_by_phase_and_loc()
    }
    assert counts == {(Phase.WITHDRAWAL_MANAGEMENT, "3.7-WM"): 2, (Phase.TREATMENT, "3.5"): 3}


async def test_audit_log_is_append_only_in_the_database(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    access = AccessRepository(sessions)
    await access.record("th-chen", "GET /journeys/{journey_id}", "J-1", "ok")
    for statement in ("UPDATE audit_log SET outcome = 'edited'", "DELETE FROM audit_log"):
        with pytest.raises(DBAPIError, match="append-only"):
            async with sessions.begin() as session:
                await session.execute(text(statement))
    entries = await access.audit_log()
    assert [(e.actor, e.outcome) for e in entries] == [("th-chen", "ok")]


async def test_staff_tokens_are_stored_hashed(sessions: async_sessionmaker[AsyncSession]) -> None:
    access = AccessRepository(sessions)
    token = await access.add_staff("sv-gray", StaffRole.SUPERVISOR)
    async with sessions() as session:
        stored = (await session.execute(text("SELECT token_hash FROM staff"))).scalar_one()
    assert token not in stored
    assert stored == hash_token(token)
    staff = await access.authenticate(token)
    assert staff is not None
    assert (staff.staff_id, staff.role) == ("sv-gray", "supervisor")
    assert await access.authenticate(token + "x") is None
    with pytest.raises(StaffExistsError):
        await access.add_staff("sv-gray", StaffRole.ADMIN)
