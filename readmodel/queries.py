"""Queries behind every list, board and timeline; they return read-side views."""

from datetime import datetime
from typing import TypeVar, cast

from pydantic import BaseModel
from sqlalchemy import ColumnElement, Select, Table, and_, func, or_, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession

from models.journey import Phase, Priority
from models.views import (
    BoardCount,
    EventView,
    FeedItem,
    JourneyListItem,
    MemberView,
    PlanVersionView,
    ReassessmentView,
    SegmentView,
    TaskView,
    Timeline,
)
from models.work import TaskStatus
from readmodel.feed import FeedQueries
from readmodel.tables import (
    Base,
    EventRow,
    JourneyRow,
    MemberRow,
    NotificationRow,
    PlanVersionRow,
    ReassessmentRow,
    SegmentRow,
    TaskRow,
)

V = TypeVar("V", bound=BaseModel)


class JourneyQueries(FeedQueries):
    """Read-model repository: journey lists, timelines, boards, and the feed it inherits."""

    async def list_journeys(
        self,
        *,
        phase: Phase | None = None,
        loc_code: str | None = None,
        due_between: tuple[datetime, datetime] | None = None,
        member: str | None = None,
        urgent: bool | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> list[JourneyListItem]:
        """Journeys matching every given filter, most recently changed first.

        Args:
            phase: only journeys in this phase.
            loc_code: only journeys at this level of care.
            due_between: only journeys with a review or reassessment due in ``[start, end)``
                (``service.days.due_range`` says what past due, today and tomorrow are).
            member: only journeys whose care team includes this member.
            urgent: only journeys with (or without) urgent open work.
            limit: page size.
            offset: rows to skip.
        """
        query = select(JourneyRow)
        if phase is not None:
            query = query.where(JourneyRow.phase == phase.value)
        if loc_code is not None:
            query = query.where(JourneyRow.loc_code == loc_code)
        if due_between is not None:
            query = query.where(_due_between(*due_between))
        if member is not None:
            query = query.where(JourneyRow.journey_id.in_(_journeys_of(member)))
        if urgent is not None:
            query = query.where(JourneyRow.urgent == urgent)
        query = query.order_by(JourneyRow.updated_at.desc(), JourneyRow.journey_id)
        rows = await self._all(query.limit(limit).offset(offset))
        return [JourneyListItem.model_validate(r) for r in rows]

    async def get_timeline(self, journey_id: str) -> Timeline | None:
        """Everything the read model holds about one journey, or None if it is unknown."""
        async with self._sessions() as session:
            summary = await session.get(JourneyRow, journey_id)
            if summary is None:
                return None
            return Timeline(
                summary=JourneyListItem.model_validate(summary),
                members=await _children(session, MemberView, MemberRow, journey_id, "member_id"),
                segments=await _children(session, SegmentView, SegmentRow, journey_id, "index"),
                events=await _children(session, EventView, EventRow, journey_id, "seq"),
                reassessments=await _children(
                    session, ReassessmentView, ReassessmentRow, journey_id, "opened_at"
                ),
                tasks=await _children(session, TaskView, TaskRow, journey_id, "created_at"),
                plan_versions=await _children(
                    session, PlanVersionView, PlanVersionRow, journey_id, "version"
                ),
                notifications=await _children(session, FeedItem, NotificationRow, journey_id, "id"),
            )

    async def counts_by_phase_and_loc(self, member: str | None = None) -> list[BoardCount]:
        """Journeys per phase and level of care (only ``member``'s care teams, if given)."""
        query = select(JourneyRow.phase, JourneyRow.loc_code, func.count().label("count"))
        if member is not None:
            query = query.where(JourneyRow.journey_id.in_(_journeys_of(member)))
        query = query.group_by(JourneyRow.phase, JourneyRow.loc_code).order_by(
            JourneyRow.phase, JourneyRow.loc_code
        )
        async with self._sessions() as session:
            rows = (await session.execute(query)).all()
        return [BoardCount(phase=Phase(p), loc_code=loc, count=n) for p, loc, n in rows]

    async def open_tasks_due_before(
        self, end: datetime, member: str | None = None, limit: int = 200
    ) -> list[TaskView]:
        """Open tasks due before ``end``, urgent first, then by due time.

        With ``member``, only tasks of journeys whose care team includes that member.
        """
        query = select(TaskRow).where(TaskRow.status == TaskStatus.OPEN.value, TaskRow.due_at < end)
        if member is not None:
            query = query.where(TaskRow.journey_id.in_(_journeys_of(member)))
        urgent_first = (TaskRow.priority == Priority.URGENT.value).desc()
        query = query.order_by(urgent_first, TaskRow.due_at, TaskRow.task_id).limit(limit)
        return [TaskView.model_validate(r) for r in await self._all(query)]

    async def healthy(self) -> bool:
        """Whether the database answers."""
        try:
            async with self._sessions() as session:
                await session.execute(select(1))
        except (OSError, SQLAlchemyError):
            return False
        return True


def _due_between(start: datetime, end: datetime) -> ColumnElement[bool]:
    return or_(
        and_(JourneyRow.next_review_due >= start, JourneyRow.next_review_due < end),
        and_(JourneyRow.reassessment_due >= start, JourneyRow.reassessment_due < end),
    )


def _journeys_of(member: str) -> Select[str]:
    """Ids of the journeys whose care team includes ``member``."""
    return select(MemberRow.journey_id).where(MemberRow.member_id == member)


async def _children(
    session: AsyncSession, view: type[V], model: type[Base], journey_id: str, order: str
) -> list[V]:
    """Rows of ``model`` belonging to one journey, as views, in ``order`` then primary key."""
    table = cast(Table, model.__table__)
    query = (
        select(model)
        .where(table.c["journey_id"] == journey_id)
        .order_by(table.c[order], *table.primary_key.columns)
    )
    return [view.model_validate(r) for r in (await session.scalars(query)).all()]
