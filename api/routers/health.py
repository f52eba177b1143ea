"""Health: does the API reach Temporal, can the read model be read and written, how far behind
are the projections and the deliveries?"""

import asyncio
from collections.abc import Awaitable
from datetime import datetime

from fastapi import APIRouter, Response, status

from api.deps import Services
from api.schemas import Health
from readmodel.queries import Backlog

router = APIRouter(tags=["health"])

# How long each check may take: a read model whose write lock is held longer is down.
CHECK_TIMEOUT_S = 2.0


@router.get("/health")
async def health(services: Services, response: Response) -> Health:
    """200 when Temporal answers and the read model takes reads and writes, 503 otherwise.

    A write that cannot take the lock within ``CHECK_TIMEOUT_S`` counts as down. The answer
    also gives the age of the newest journey event in the read model and of the oldest
    delivery waiting to go out: figures only, never an id or client data.
    """
    temporal, reads, writes = await asyncio.gather(
        _answers(services.journeys.healthy()),
        _answers(services.queries.healthy()),
        _answers(services.queries.writable(CHECK_TIMEOUT_S)),
    )
    backlog = await _backlog(services) if reads else None
    up = temporal and reads and writes
    if not up:
        response.status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    now = services.calendar.now()
    return Health(
        status="ok" if up else "degraded",
        temporal=temporal,
        read_model=reads and writes,
        read_model_reads=reads,
        read_model_writes=writes,
        newest_event_age_s=_age(now, backlog.newest_event_at) if backlog else None,
        pending_deliveries=backlog.pending_deliveries if backlog else None,
        oldest_pending_delivery_age_s=(
            _age(now, backlog.oldest_pending_delivery_at) if backlog else None
        ),
    )


async def _answers(check: Awaitable[bool]) -> bool:
    """The check's answer, or False when it takes longer than allowed (with some slack)."""
    try:
        async with asyncio.timeout(CHECK_TIMEOUT_S + 1):
            return await check
    except TimeoutError:
        return False


async def _backlog(services: Services) -> Backlog | None:
    try:
        async with asyncio.timeout(CHECK_TIMEOUT_S):
            return await services.queries.backlog()
    except TimeoutError:
        return None


def _age(now: datetime, at: datetime | None) -> float | None:
    return None if at is None else round(max(0.0, (now - at).total_seconds()), 1)
