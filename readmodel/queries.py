"""Queries behind every list, timeline and feed; they return read-side views."""

from collections.abc import Sequence
from datetime import datetime
from typing import Any, TypeVar, cast

from pydantic import BaseModel
from sqlalchemy import Select, Table, and_, func, or_, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from models.journey import Phase
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


class JourneyQueries:
    """Read-model repository."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    @property
    def sessions(self) -> async_sessionmaker[AsyncSession]:
        """The session factory (for repositories sharing the database)."""
        return self._sessions

    async def list_journeys(
        self,
        *,
        phase: Phase | None = None,
        loc_code: str | None = None,
        review_overdue_at: datetime | None = None,
        due_between: tuple[datetime, datetime] | None = None,
        member: str | None = None,
        urgent: bool | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> list[JourneyListItem]:
        """Journeys matching every given filter, most recently changed first."""
        query = select(JourneyRow)
        if phase is not None:
            query = query.where(JourneyRow.phase == phase.value)
        if loc_code is not None:
            query = query.where(JourneyRow.loc_code == loc_code)
        if review_overdue_at is not None:
            query = query.where(
                or_(
                    JourneyRow.next_review_due < review_overdue_at,
                    JourneyRow.reassessment_due < review_overdue_at,
                )
            )
        if due_between is not None:
            start, end = due_between
            query = query.where(
                or_(
                    and_(JourneyRow.next_review_due >= start, JourneyRow.next_review_due < end),
                    and_(JourneyRow.reassessment_due >= start, JourneyRow.reassessment_due < end),
                )
            )
        if member is not None:
            members = select(MemberRow.journey_id).where(MemberRow.member_id == member)
            query = query.where(JourneyRow.journey_id.in_(members))
        if urgent is not None:
            query = query.where(JourneyRow.urgent == urgent)
        query = query.order_by(JourneyRow.updated_at.desc(), JourneyRow.journey_id)
        rows = await self._all(query.limit(limit).offset(offset))
        return [JourneyListItem.model_validate(r) for r in rows]

    async def get_timeline(self, journey_id: str) -> Timeline | None:
        """The whole read-model record of one journey, or None if unknown."""
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

    async def feed(
        self,
        member_id: str,
        *,
        unread_only: bool = False,
        limit: int = 50,
        before: int | None = None,
        kind: str | None = None,
    ) -> list[FeedItem]:
        """A member's notifications, newest first; ``before`` is a cursor (a notification id)."""
        query = select(NotificationRow).where(NotificationRow.recipient == member_id)
        if unread_only:
            query = query.where(NotificationRow.read_at.is_(None))
        if before is not None:
            query = query.where(NotificationRow.id < before)
        if kind is not None:
            query = query.where(NotificationRow.kind == kind)
        query = query.order_by(NotificationRow.id.desc())
        return [FeedItem.model_validate(r) for r in await self._all(query.limit(limit))]

    async def mark_read(self, member_id: str, notification_ids: Sequence[int], at: datetime) -> int:
        """Mark a member's own notifications read; returns how many changed."""
        async with self._sessions.begin() as session:
            result = await session.execute(
                update(NotificationRow)
                .where(NotificationRow.recipient == member_id)
                .where(NotificationRow.id.in_(list(notification_ids)))
                .where(NotificationRow.read_at.is_(None))
                .values(read_at=at)
            )
            return int(getattr(result, "rowcount", 0) or 0)

    async def counts_by_phase_and_loc(self, member: str | None = None) -> list[BoardCount]:
        """Journeys per phase and level of care (only ``member``'s care teams, if given)."""
        query = select(JourneyRow.phase, JourneyRow.loc_code, func.count().label("count"))
        if member is not None:
            members = select(MemberRow.journey_id).where(MemberRow.member_id == member)
            query = query.where(JourneyRow.journey_id.in_(members))
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
        query = select(TaskRow).where(TaskRow.status == "open", TaskRow.due_at < end)
        if member is not None:
            members = select(MemberRow.journey_id).where(MemberRow.member_id == member)
            query = query.where(TaskRow.journey_id.in_(members))
        query = query.order_by((TaskRow.priority == "urgent").desc(), TaskRow.due_at).limit(limit)
        return [TaskView.model_validate(r) for r in await self._all(query)]

    async def feed_after(self, member_id: str, after_id: int, limit: int = 50) -> list[FeedItem]:
        """A member's notifications newer than ``after_id``, oldest first (for live streams)."""
        query = (
            select(NotificationRow)
            .where(NotificationRow.recipient == member_id, NotificationRow.id > after_id)
            .order_by(NotificationRow.id)
            .limit(limit)
        )
        return [FeedItem.model_validate(r) for r in await self._all(query)]

    async def healthy(self) -> bool:
        """Whether the database answers."""
        try:
            async with self._sessions() as session:
                await session.execute(select(1))
        except (OSError, SQLAlchemyError):
            return False
        return True

    async def _all(self, query: Select[Any]) -> Sequence[Any]:
        async with self._sessions() as session:
            return (await session.scalars(query)).all()


async def _children(
    session: AsyncSession, view: type[V], model: type[Base], journey_id: str, order: str
) -> list[V]:
    """Rows of ``model`` belonging to one journey, as views, in ``order``."""
    columns = cast(Table, model.__table__).c
    query = select(model).where(columns["journey_id"] == journey_id).order_by(columns[order])
    return [view.model_validate(r) for r in (await session.scalars(query)).all()]
