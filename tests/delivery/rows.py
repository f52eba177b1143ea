"""A parked delivery written straight into the read model (for API and dashboard tests)."""

from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from models.delivery import DeliveryStatus
from readmodel.tables import DeliveryRow


async def park_one(sessions: async_sessionmaker[AsyncSession], key: str) -> None:
    """A webhook delivery that failed permanently."""
    now = datetime.now(UTC)
    async with sessions.begin() as session:
        session.add(
            DeliveryRow(
                key=key, channel="webhook", target="ehr", journey_id="J-PARKED", seq=1,
                kind="phase_changed", priority="routine", occurred_at=now, due_at=None,
                status=DeliveryStatus.DEAD.value, started=True, attempts=1,
                last_error="PermanentDeliveryError: HTTP 410", replays=0, created_at=now,
                sent_at=None, dead_at=now,
            )
        )  # fmt: skip
