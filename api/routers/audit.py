"""The audit log, for admins."""

from typing import Annotated

from fastapi import APIRouter, Query

from api.deps import Admin, Services
from api.schemas import AuditPage

router = APIRouter(prefix="/audit", tags=["audit"])


@router.get("")
async def audit_log(
    services: Services,
    admin: Admin,
    journey_id: str | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> AuditPage:
    """Newest entries first, optionally for one journey."""
    await services.access.record(admin.staff_id, "GET /audit", journey_id, "ok")
    return AuditPage(items=await services.access.audit_log(limit=limit, journey_id=journey_id))
