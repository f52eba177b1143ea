"""Gauges counted in the read model: open journeys, open and overdue tasks, dead letters.

Three grouped counts on indexed columns, run every ``REFRESH_S`` seconds by one task of the
process that serves them (the API's, or ``journeys up``'s), never on a scrape: a scrape reads
the last counts, so its cost does not grow with the number of journeys or of scrapers. Label
values are checked against their vocabularies (phases, the policy's levels of care, task
kinds, priorities, channels); anything else is counted as ``other``.
"""

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

import structlog
from prometheus_client.core import REGISTRY, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from models.delivery import DeliveryStatus, ExternalChannel
from models.journey import Phase, Priority
from models.work import TaskKind, TaskStatus
from readmodel.tables import DeliveryRow, JourneyRow, TaskRow
from runtime.metrics import NAMESPACE

log = structlog.get_logger(__name__)

REFRESH_S = 15.0
OTHER = "other"
NO_LEVEL = "none"
OPEN_PHASES = tuple(p.value for p in Phase if p.is_open)

Counts = dict[tuple[str, ...], float]


@dataclass
class Snapshot:
    """The last counts, keyed by their label values."""

    journeys: Counts = field(default_factory=dict)
    open_tasks: Counts = field(default_factory=dict)
    overdue_tasks: Counts = field(default_factory=dict)
    dead: Counts = field(default_factory=dict)
    pending: Counts = field(default_factory=dict)
    at: float | None = None


def _one_of(value: str | None, allowed: Iterable[str]) -> str:
    return value if value is not None and value in allowed else OTHER


def _add(counts: Counts, key: tuple[str, ...], value: float) -> None:
    counts[key] = counts.get(key, 0.0) + value


async def count(
    sessions: async_sessionmaker[AsyncSession], levels: frozenset[str], now: datetime
) -> Snapshot:
    """Count open journeys, open and overdue tasks, and undelivered messages now."""
    snap = Snapshot(at=time.time())
    tasks, kinds = TaskRow, [k.value for k in TaskKind]
    priorities = [p.value for p in Priority]
    overdue = func.sum(case((tasks.due_at < now, 1), else_=0))
    async with sessions() as session:
        journeys = await session.execute(
            select(JourneyRow.phase, JourneyRow.loc_code, func.count())
            .where(JourneyRow.phase.in_(OPEN_PHASES))
            .group_by(JourneyRow.phase, JourneyRow.loc_code)
        )
        for phase, loc, n in journeys:
            level = NO_LEVEL if loc is None else _one_of(loc, levels)
            _add(snap.journeys, (_one_of(phase, OPEN_PHASES), level), n)
        open_tasks = await session.execute(
            select(tasks.kind, tasks.priority, func.count(), overdue)
            .where(tasks.status == TaskStatus.OPEN.value)
            .group_by(tasks.kind, tasks.priority)
        )
        for kind, priority, n, late in open_tasks:
            key = (_one_of(kind, kinds), _one_of(priority, priorities))
            _add(snap.open_tasks, key, n)
            _add(snap.overdue_tasks, key, late or 0)
        await _count_deliveries(session, snap)
    return snap


async def _count_deliveries(session: AsyncSession, snap: Snapshot) -> None:
    channels = [c.value for c in ExternalChannel]
    waiting = (DeliveryStatus.DEAD.value, DeliveryStatus.PENDING.value)
    rows = await session.execute(
        select(DeliveryRow.channel, DeliveryRow.status, func.count())
        .where(DeliveryRow.status.in_(waiting))
        .group_by(DeliveryRow.channel, DeliveryRow.status)
    )
    for channel, status, n in rows:
        into = snap.dead if status == DeliveryStatus.DEAD.value else snap.pending
        _add(into, (_one_of(channel, channels),), n)


class ReadModelGauges(Collector):
    """Yields the last snapshot's counts; every vocabulary value appears, at zero if unseen."""

    def __init__(self) -> None:
        self.snapshot = Snapshot()
        # The policy's levels of care, code -> phase.
        self.levels: dict[str, str] = {}

    def collect(self) -> Iterator[Metric]:
        """The gauges of the last snapshot (called by the registry on each scrape)."""
        snap = self.snapshot
        every_journey = [(Phase.INTAKE.value, NO_LEVEL), (Phase.AFTERCARE.value, NO_LEVEL)]
        every_journey += [(phase, code) for code, phase in self.levels.items()]
        every_task = [(k.value, p.value) for k in TaskKind for p in Priority]
        channels = [(c.value,) for c in ExternalChannel]
        yield _family("open_journeys", "Open journeys by phase and level of care.",
                      ["phase", "level_of_care"], snap.journeys, every_journey)  # fmt: skip
        yield _family("open_tasks", "Open tasks by kind and priority.",
                      ["kind", "priority"], snap.open_tasks, every_task)  # fmt: skip
        yield _family("overdue_tasks", "Open tasks past their due time, by kind and priority.",
                      ["kind", "priority"], snap.overdue_tasks, every_task)  # fmt: skip
        yield _family("dead_letters", "Deliveries in the dead-letter list, by channel.",
                      ["channel"], snap.dead, channels)  # fmt: skip
        yield _family("pending_deliveries", "Deliveries not sent yet, by channel.",
                      ["channel"], snap.pending, channels)  # fmt: skip
        refreshed = GaugeMetricFamily(
            f"{NAMESPACE}_read_model_counted_timestamp_seconds",
            "When the read-model gauges were last counted (Unix time).",
        )
        if snap.at is not None:
            refreshed.add_metric([], snap.at)
        yield refreshed


def _family(
    name: str, doc: str, labels: list[str], counts: Counts, every: Sequence[tuple[str, ...]]
) -> GaugeMetricFamily:
    family = GaugeMetricFamily(f"{NAMESPACE}_{name}", doc, labels=labels)
    for key in sorted({*every, *counts}):
        family.add_metric(list(key), counts.get(key, 0.0))
    return family


GAUGES = ReadModelGauges()


class _Registered:
    done = False


@contextlib.asynccontextmanager
async def published(
    sessions: async_sessionmaker[AsyncSession], levels: dict[str, str], *, enabled: bool = True
) -> AsyncIterator[ReadModelGauges]:
    """Register the gauges (once per process) and keep them counted while the block runs.

    Args:
        sessions: the read model.
        levels: the policy's levels of care, code -> phase (the only level labels).
        enabled: whether this process serves metrics at all (nothing is counted otherwise).
    """
    if not enabled:
        yield GAUGES
        return
    if not _Registered.done:
        REGISTRY.register(GAUGES)
        _Registered.done = True
    GAUGES.levels = dict(levels)
    task = asyncio.create_task(_keep_counting(sessions, frozenset(levels)))
    try:
        yield GAUGES
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def _keep_counting(
    sessions: async_sessionmaker[AsyncSession], levels: frozenset[str]
) -> None:
    while True:
        try:
            GAUGES.snapshot = await count(sessions, levels, datetime.now(UTC))
        except Exception as exc:
            # A locked or unreachable read model: keep the last counts, try again later.
            log.warning("metrics.count_failed", error=type(exc).__name__)
        await asyncio.sleep(REFRESH_S)
