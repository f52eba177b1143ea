"""Journeys: create, list with filters and paging, and one journey's detail."""

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request, status
from fastapi.exceptions import RequestValidationError

from api.bodies import IDEMPOTENCY_PARAMETER, body_spec, idempotency_key, read_body
from api.deps import Audited, Services
from api.responses import JOURNEY_READ_ERRORS, error_responses
from api.schemas import JourneyCreated, JourneyDetail, JourneyPage
from models.commands import OpenJourney, StartJourney
from models.journey import Phase
from models.progress import ProgressView
from readmodel.access import SEES_ALL
from service.days import Due
from service.ids import keyed_journey_id, new_journey_id
from service.live import live_view

router = APIRouter(prefix="/journeys", tags=["journeys"])


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    responses=error_responses(401, 403, 409),
    openapi_extra={**body_spec(OpenJourney.__name__), "parameters": [IDEMPOTENCY_PARAMETER]},
)
async def create_journey(request: Request, services: Services, audit: Audited) -> JourneyCreated:
    """Open a journey in intake with its care team; the service generates its id."""
    body = await read_body(request, OpenJourney)
    staff = audit.staff
    care_team = body.care_team
    if staff.role not in SEES_ALL and staff.staff_id not in {
        m.member_id for m in care_team.members
    }:
        audit.outcome = "forbidden"
        raise HTTPException(
            status.HTTP_403_FORBIDDEN, "clinicians open journeys for their own team"
        )
    if body.client_id is not None and not await services.clients.exists(body.client_id):
        raise RequestValidationError(
            [{"type": "not_found", "loc": ("body", "client_id"), "msg": "no such client",
              "input": {}}]
        )  # fmt: skip
    key = idempotency_key(request)
    # The service makes the id; a start retried with its key finds the journey its first try
    # opened (the id is derived from the account and the key).
    journey_id = keyed_journey_id(staff.staff_id, key) if key else new_journey_id()
    audit.journey_id = journey_id
    await services.journeys.start(
        StartJourney(
            journey_id=journey_id,
            care_team=care_team,
            started_by=staff.staff_id,
            policy=services.policy,
            sex_at_birth=body.sex_at_birth,
            client_id=body.client_id,
        ),
        retried=key is not None,
    )
    return JourneyCreated(journey_id=journey_id)


@router.get("", responses=error_responses(401, 403))
async def list_journeys(
    services: Services,
    audit: Audited,
    phase: Phase | None = None,
    loc_code: str | None = None,
    due: Due | None = None,
    urgent: bool | None = None,
    member: str | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> JourneyPage:
    """Journeys from the read model; clinicians see their care teams' journeys only.

    ``due`` keeps journeys whose review or open reassessment is past due, due today or due
    tomorrow, in the program's time zone.
    """
    staff = audit.staff
    if staff.role not in SEES_ALL:
        if member not in (None, staff.staff_id):
            raise HTTPException(status.HTTP_403_FORBIDDEN, "clinicians list their own journeys")
        member = staff.staff_id
    items = await services.queries.list_journeys(
        phase=phase,
        loc_code=loc_code,
        due_between=services.calendar.due_range(due) if due else None,
        urgent=urgent,
        member=member,
        limit=limit,
        offset=offset,
    )
    return JourneyPage(items=items, limit=limit, offset=offset)


@router.get("/{journey_id}/progress", responses=JOURNEY_READ_ERRORS)
async def journey_progress(journey_id: str, services: Services, audit: Audited) -> ProgressView:
    """Milestones, goal status over time, instrument trends (response, remission), days in
    recovery, recovery supports and the open plan review, from the live journey."""
    return await services.journeys.progress(journey_id)


@router.get("/{journey_id}", responses=JOURNEY_READ_ERRORS)
async def journey_detail(journey_id: str, services: Services, audit: Audited) -> JourneyDetail:
    """Live state from the workflow query and the timeline from the read model."""
    state = await services.journeys.state(journey_id)
    return JourneyDetail(
        live=live_view(state), timeline=await services.queries.get_timeline(journey_id)
    )
