"""Queries behind every list, board and timeline; they return read-side views."""

from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar, cast

from pydantic import BaseModel
from sqlalchemy import ColumnElement, Select, Table, and_, func, or_, select, text, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession

from models.delivery import DeliveryStatus
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
    DeliveryRow,
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


@dataclass(frozen=True)
class Backlog:
    """The read model's and the deliveries' lag, for health checks (no ids, no client data).

    ``newest_event_at`` is the time of the newest journey event in the read model (each
    journey row carries its newest); ``oldest_pending_delivery_at`` when the oldest external
    delivery not yet sent nor given up was created.
    """

    newest_event_at: datetime | None
    pending_deliveries: int
    oldest_pending_delivery_at: datetime | None


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

    async def writable(self, timeout_s: float) -> bool:
        """Whether a write gets through within ``timeout_s``.

        The check takes the write lock, as a projection does (an update of no journey), in a
        transaction it rolls back: on SQLite a database another connection holds locked is not
        writable, however well it answers reads; on PostgreSQL a locked table or a read-only
        server is not either.
        """
        engine = self._sessions.kw["bind"]
        assert isinstance(engine, AsyncEngine), "sessions must be bound to an engine"
        wait_ms = max(1, int(timeout_s * 1000))
        try:
            async with engine.connect() as conn:
                if conn.dialect.name == "sqlite":
                    await _write_on_sqlite(conn, wait_ms)
                else:
                    await conn.exec_driver_sql(f"SET LOCAL lock_timeout = {wait_ms}")
                    await conn.exec_driver_sql(f"SET LOCAL statement_timeout = {wait_ms}")
                    try:
                        await conn.execute(_NO_WRITE)
                    finally:
                        await conn.rollback()
        except (OSError, SQLAlchemyError):
            return False
        return True

    async def backlog(self) -> Backlog:
        """How far behind the read model and the deliveries are: times and a count, no ids."""
        pending = select(func.count(), func.min(DeliveryRow.created_at)).where(
            DeliveryRow.status == DeliveryStatus.PENDING.value
        )
        async with self._sessions() as session:
            newest = await session.scalar(select(func.max(JourneyRow.updated_at)))
            count, oldest = (await session.execute(pending)).one()
        return Backlog(
            newest_event_at=newest, pending_deliveries=count, oldest_pending_delivery_at=oldest
        )


# Takes the write lock without changing anything (no journey has an empty id).
_NO_WRITE = (
    update(JourneyRow).where(JourneyRow.journey_id == "").values(last_seq=JourneyRow.last_seq)
)


async def _write_on_sqlite(conn: AsyncConnection, wait_ms: int) -> None:
    """The write check on SQLite, waiting for the lock at most ``wait_ms`` (then restored)."""
    usual = int(await conn.scalar(text("PRAGMA busy_timeout")) or 0)
    await conn.exec_driver_sql(f"PRAGMA busy_timeout = {wait_ms}")
    try:
        await conn.execute(_NO_WRITE)
    finally:
        await conn.rollback()
        await conn.exec_driver_sql(f"PRAGMA busy_timeout = {usual}")


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
