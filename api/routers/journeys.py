"""Journeys: create, list with filters and paging, and one journey's detail."""

from datetime import UTC, datetime, timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Query, status

from api.deps import Audited, Services
from api.schemas import (
    CreateJourneyRequest,
    JourneyCreated,
    JourneyDetail,
    JourneyPage,
    to_team,
)
from models.commands import StartJourney
from models.journey import Phase
from models.progress import ProgressView
from readmodel.access import SEES_ALL, StaffRole
from service.ids import new_journey_id
from service.live import live_view

router = APIRouter(prefix="/journeys", tags=["journeys"])

DueWindow = Literal["past_due", "today", "tomorrow"]


def due_window(window: DueWindow, now: datetime) -> tuple[datetime, datetime]:
    """The time range a due filter means (UTC days)."""
    today = now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    if window == "past_due":
        return datetime.min.replace(tzinfo=UTC), now
    if window == "today":
        return now, today + timedelta(days=1)
    return today + timedelta(days=1), today + timedelta(days=2)


@router.post("", status_code=status.HTTP_201_CREATED)
async def create_journey(
    body: CreateJourneyRequest, services: Services, audit: Audited
) -> JourneyCreated:
    """Open a journey in intake with its care team."""
    staff = audit.staff
    care_team = to_team(body.care_team)
    if StaffRole(staff.role) not in SEES_ALL and staff.staff_id not in {
        m.member_id for m in care_team.members
    }:
        audit.outcome = "forbidden"
        raise HTTPException(
            status.HTTP_403_FORBIDDEN, "clinicians open journeys for their own team"
        )
    journey_id = body.journey_id or new_journey_id()
    audit.journey_id = journey_id
    await services.journeys.start(
        StartJourney(
            journey_id=journey_id,
            care_team=care_team,
            started_by=staff.staff_id,
            policy=services.policy,
        )
    )
    return JourneyCreated(journey_id=journey_id)


@router.get("")
async def list_journeys(
    services: Services,
    audit: Audited,
    phase: Phase | None = None,
    loc_code: str | None = None,
    due: DueWindow | None = None,
    urgent: bool | None = None,
    member: str | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> JourneyPage:
    """Journeys from the read model; clinicians see their care teams' journeys only."""
    staff = audit.staff
    if StaffRole(staff.role) not in SEES_ALL:
        if member not in (None, staff.staff_id):
            raise HTTPException(status.HTTP_403_FORBIDDEN, "clinicians list their own journeys")
        member = staff.staff_id
    items = await services.queries.list_journeys(
        phase=phase,
        loc_code=loc_code,
        due_between=due_window(due, datetime.now(UTC)) if due else None,
        urgent=urgent,
        member=member,
        limit=limit,
        offset=offset,
    )
    return JourneyPage(items=items, limit=limit, offset=offset)


@router.get("/{journey_id}/progress")
async def journey_progress(journey_id: str, services: Services, audit: Audited) -> ProgressView:
    """Milestones, goal status over time, instrument trends (response, remission), days in
    recovery, recovery supports and the open plan review, from the live journey."""
    return await services.journeys.progress(journey_id)


@router.get("/{journey_id}")
async def journey_detail(journey_id: str, services: Services, audit: Audited) -> JourneyDetail:
    """Live state from the workflow query and the timeline from the read model."""
    state = await services.journeys.state(journey_id)
    return JourneyDetail(
        live=live_view(state), timeline=await services.queries.get_timeline(journey_id)
    )
