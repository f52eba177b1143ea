"""External deliveries and the dead-letter list, for operations."""

from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Query, status
from pydantic import BaseModel

from api.deps import Operations, Services
from delivery.store import UnknownTargetError
from models.delivery import DeliveryStatus, DeliveryView

router = APIRouter(prefix="/deliveries", tags=["deliveries"])


class DeliveryPage(BaseModel):
    """Deliveries, newest first."""

    items: list[DeliveryView]


class Replayed(BaseModel):
    """A dead delivery queued again."""

    key: str
    replay: int


@router.get("")
async def list_deliveries(
    services: Services,
    staff: Operations,
    status_: Annotated[DeliveryStatus | None, Query(alias="status")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> DeliveryPage:
    """E-mail and webhook deliveries; ``status=dead`` is the dead-letter list."""
    await services.access.record(staff.staff_id, "GET /deliveries", None, "ok")
    return DeliveryPage(items=await services.deliveries.deliveries(status_, limit))


@router.post("/{key}/replay")
async def replay_delivery(
    key: Annotated[str, Path(max_length=200)], services: Services, staff: Operations
) -> Replayed:
    """Queue a dead delivery again (same idempotency key); a worker sends it."""
    try:
        number = await services.deliveries.reopen(key)
    except UnknownTargetError as exc:
        await services.access.record(staff.staff_id, "POST /deliveries/replay", None, "refused")
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None
    await services.access.record(staff.staff_id, "POST /deliveries/replay", None, "ok")
    return Replayed(key=key, replay=number)
