"""The projection activity: writes journey changes into the read model."""

import structlog
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from temporalio import activity

from models.state import ProjectionBatch
from readmodel.projections import ProjectionWriter

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
        notified = await self._writer.apply(batch)
        # Ids and counts only: summaries and every other field may carry clinical detail.
        log.info(
            "readmodel.projected",
            journey_id=batch.summary.journey_id,
            seq=batch.summary.seq,
            events=len(batch.events),
            notifications=notified,
        )
        return notified
