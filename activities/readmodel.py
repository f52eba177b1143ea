"""The projection activity: writes journey changes into the read model."""

import time
from datetime import UTC, datetime

import structlog
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from temporalio import activity

from models.state import ProjectionBatch
from readmodel.projections import ProjectionWriter
from runtime import metrics

log = structlog.get_logger(__name__)


class ReadModelActivities:
    """Activities that need a read-model session factory."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        engine = sessions.kw["bind"]
        assert isinstance(engine, AsyncEngine), "sessions must be bound to an engine"
        self._writer = ProjectionWriter(engine)

    @activity.defn(name="project_journey")
    async def project(self, batch: ProjectionBatch) -> int:
        """Apply one batch; retries and replays are harmless (the writes are sequence-guarded).

        Args:
            batch: the journey's changes as of ``batch.summary.seq``.

        Returns:
            How many feed notifications were new.
        """
        started = time.perf_counter()
        try:
            notified = await self._writer.apply(batch)
        except Exception:
            metrics.PROJECTIONS.labels("failed").inc()
            raise
        _measure(batch, time.perf_counter() - started)
        # Ids and counts only: summaries and every other field may carry clinical detail.
        log.info(
            "readmodel.projected",
            journey_id=batch.summary.journey_id,
            seq=batch.summary.seq,
            events=len(batch.events),
            notifications=notified,
        )
        return notified


def _measure(batch: ProjectionBatch, seconds: float) -> None:
    """Count a written batch: its time, each event's lag, the escalations it carries."""
    metrics.PROJECTIONS.labels("written").inc()
    metrics.PROJECTION_SECONDS.observe(seconds)
    written = datetime.now(UTC)
    for event in batch.events:
        # From the workflow's clock at the event to the row written (retries included).
        metrics.PROJECTION_LAG.observe(max((written - event.occurred_at).total_seconds(), 0.0))
        if event.kind in metrics.ESCALATION_KINDS:
            metrics.ESCALATIONS.labels(event.kind.value).inc()
