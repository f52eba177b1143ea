"""The read-model gauges: open journeys, open and overdue tasks, dead letters, counted in SQL."""

from datetime import timedelta

from prometheus_client import CollectorRegistry, generate_latest
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from models.journey import Phase
from models.work import TaskStatus
from readmodel import gauges
from readmodel.projections import ProjectionWriter
from readmodel.tables import DeliveryRow
from tests.builders import T0
from tests.factories import batch, summary, task

LEVELS = {"3.5": "treatment", "3.7-WM": "withdrawal_management"}


async def _journeys(sessions: async_sessionmaker[AsyncSession]) -> None:
    engine = sessions.kw["bind"]
    assert isinstance(engine, AsyncEngine)
    writer = ProjectionWriter(engine)
    await writer.apply(batch(summary("J-G-1", 1), tasks=[task("t-1", 1), task("t-2", 1)]))
    await writer.apply(batch(summary("J-G-2", 1, loc_code="3.5")))
    await writer.apply(batch(summary("J-G-3", 1, phase=Phase.INTAKE, loc_code=None)))
    # A code the policy does not name is counted, as "other".
    await writer.apply(batch(summary("J-G-4", 1, loc_code="9.9")))
    await writer.apply(
        batch(summary("J-G-5", 1, phase=Phase.DISCHARGED, loc_code=None),
              tasks=[task("t-5", 1, TaskStatus.DONE)])
    )  # fmt: skip


async def _deliveries(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with sessions.begin() as session:
        for n, (channel, status) in enumerate(
            [("email", "dead"), ("webhook", "dead"), ("webhook", "dead"),
             ("webhook", "pending"), ("email", "sent")]
        ):  # fmt: skip
            row = DeliveryRow(
                key=f"k{n}", channel=channel, target="x", journey_id="J-G-1", seq=1,
                kind="phase_changed", priority="routine", occurred_at=T0, status=status,
                created_at=T0,
            )  # fmt: skip
            session.add(row)


async def test_counts_open_journeys_tasks_and_undelivered_messages(
    sqlite_sessions: async_sessionmaker[AsyncSession],
) -> None:
    await _journeys(sqlite_sessions)
    await _deliveries(sqlite_sessions)
    # The factory's tasks are due a day after T0: a day and a half later both are overdue.
    snap = await gauges.count(sqlite_sessions, frozenset(LEVELS), T0 + timedelta(hours=36))
    assert snap.journeys == {
        ("treatment", "3.5"): 2.0,
        ("treatment", "other"): 1.0,
        ("intake", "none"): 1.0,
    }
    assert snap.open_tasks == {("outreach", "urgent"): 2.0}
    assert snap.overdue_tasks == {("outreach", "urgent"): 2.0}
    assert snap.dead == {("email",): 1.0, ("webhook",): 2.0}
    assert snap.pending == {("webhook",): 1.0}
    early = await gauges.count(sqlite_sessions, frozenset(LEVELS), T0)
    assert early.overdue_tasks == {("outreach", "urgent"): 0.0}


async def test_a_scrape_shows_every_vocabulary_value_and_no_id(
    sqlite_sessions: async_sessionmaker[AsyncSession],
) -> None:
    await _journeys(sqlite_sessions)
    collector = gauges.ReadModelGauges()
    collector.levels = LEVELS
    registry = CollectorRegistry()
    registry.register(collector)
    before = generate_latest(registry).decode()
    # Unseen values are zero, not missing, so alerts compare numbers from the first scrape.
    assert 'journeys_dead_letters{channel="webhook"} 0.0' in before
    assert 'journeys_open_journeys{level_of_care="3.7-WM",phase="withdrawal_management"} 0.0' in (
        before
    )
    assert "\njourneys_read_model_counted_timestamp_seconds " not in before
    collector.snapshot = await gauges.count(sqlite_sessions, frozenset(LEVELS), T0)
    text = generate_latest(registry).decode()
    assert 'journeys_open_journeys{level_of_care="3.5",phase="treatment"} 2.0' in text
    assert 'journeys_open_tasks{kind="outreach",priority="urgent"} 2.0' in text
    assert 'journeys_overdue_tasks{kind="plan_review",priority="routine"} 0.0' in text
    assert "\njourneys_read_model_counted_timestamp_seconds " in text
    assert "J-G-" not in text
    assert "t-1" not in text
