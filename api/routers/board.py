"""The operations board: counts by phase and level of care, and the work queue."""

from datetime import datetime

from fastapi import APIRouter

from api.deps import Audited, Services
from api.schemas import Board, WorkQueue
from api.services import ApiServices
from models.views import StaffAccount, TaskView
from readmodel.access import SEES_ALL
from service.days import DayWindow, Due, due_range

router = APIRouter(prefix="/board", tags=["board"])


def bucket(tasks: list[TaskView], now: datetime, days: DayWindow) -> WorkQueue:
    """Split open tasks into past due, due today and due tomorrow (the program's days)."""

    def due(window: Due) -> list[TaskView]:
        start, end = due_range(window, now, days)
        return [t for t in tasks if start <= t.due_at < end]

    return WorkQueue(past_due=due(Due.PAST_DUE), today=due(Due.TODAY), tomorrow=due(Due.TOMORROW))


async def work_queue(services: ApiServices, member: str | None) -> WorkQueue:
    """Open work due by the end of the program's tomorrow (``member``'s care teams, if given)."""
    now, days = services.calendar.days()
    tasks = await services.queries.open_tasks_due_before(days.start_of_day_after, member=member)
    return bucket(tasks, now, days)


def scope(staff: StaffAccount) -> str | None:
    """Whose care teams a staff member's lists and counts cover (None: every journey)."""
    return None if staff.role in SEES_ALL else staff.staff_id


async def board_for(services: ApiServices, staff: StaffAccount) -> Board:
    """Counts of open journeys and the work due, as far as ``staff`` may see them."""
    member = scope(staff)
    counts = await services.queries.counts_by_phase_and_loc(member=member)
    return Board(counts=counts, work=await work_queue(services, member))


@router.get("")
async def board(services: Services, audit: Audited) -> Board:
    """Counts of open journeys and the work due; clinicians see their care teams' work."""
    return await board_for(services, audit.staff)
