"""Liveness: does the API reach Temporal and the read model?"""

from fastapi import APIRouter, Response, status

from api.deps import Services
from api.schemas import Health

router = APIRouter(tags=["health"])


@router.get("/health")
async def health(services: Services, response: Response) -> Health:
    """200 when both dependencies answer, 503 otherwise."""
    temporal = await services.journeys.healthy()
    read_model = await services.queries.healthy()
    if not (temporal and read_model):
        response.status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    return Health(
        status="ok" if temporal and read_model else "degraded",
        temporal=temporal,
        read_model=read_model,
    )
