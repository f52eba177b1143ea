"""The operations board: counts by phase and level of care, and the work queue."""

from datetime import UTC, datetime, timedelta

from fastapi import APIRouter

from api.deps import Audited, Services
from api.schemas import Board, WorkQueue
from models.views import TaskView
from readmodel.access import SEES_ALL, StaffRole

router = APIRouter(prefix="/board", tags=["board"])


def bucket(tasks: list[TaskView], now: datetime) -> WorkQueue:
    """Split open tasks into past due, due today and due tomorrow (UTC days)."""
    today_end = now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    today_end += timedelta(days=1)
    return WorkQueue(
        past_due=[t for t in tasks if t.due_at < now],
        today=[t for t in tasks if now <= t.due_at < today_end],
        tomorrow=[t for t in tasks if today_end <= t.due_at < today_end + timedelta(days=1)],
    )


@router.get("")
async def board(services: Services, audit: Audited) -> Board:
    """Counts of open journeys and the work due; clinicians see their care teams' work."""
    staff = audit.staff
    member = None if StaffRole(staff.role) in SEES_ALL else staff.staff_id
    now = datetime.now(UTC)
    end = now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    tasks = await services.queries.open_tasks_due_before(end + timedelta(days=2), member=member)
    counts = await services.queries.counts_by_phase_and_loc(member=member)
    return Board(counts=counts, work=bucket(tasks, now))
