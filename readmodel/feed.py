"""Each team member's notification feed: pages newest first, live tail, read marks."""

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TypeVar

from sqlalchemy import ColumnElement, Select, and_, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from models.views import FeedItem
from readmodel.tables import NotificationRow

T = TypeVar("T")


class FeedQueries:
    """Feed repository; ``JourneyQueries`` builds on it, so callers hold one object."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    @property
    def sessions(self) -> async_sessionmaker[AsyncSession]:
        """The session factory (for repositories sharing the database)."""
        return self._sessions

    async def feed(
        self,
        member_id: str,
        *,
        unread_only: bool = False,
        limit: int = 50,
        before: int | None = None,
        kind: str | None = None,
    ) -> list[FeedItem]:
        """A member's notifications, newest first.

        Args:
            member_id: the recipient.
            unread_only: leave out notifications already marked read.
            limit: page size.
            before: cursor, the id of the last item of the previous page.
            kind: only this event kind.
        """
        row = NotificationRow
        query = select(row).where(row.recipient == member_id)
        if unread_only:
            query = query.where(row.read_at.is_(None))
        if kind is not None:
            query = query.where(row.kind == kind)
        if before is not None:
            query = query.where(_older_than(member_id, before))
        # The id breaks ties between events of one moment and keeps pages stable.
        query = query.order_by(row.created_at.desc(), row.id.desc()).limit(limit)
        return [FeedItem.model_validate(r) for r in await self._all(query)]

    async def feed_after(self, member_id: str, after_id: int, limit: int = 50) -> list[FeedItem]:
        """Notifications stored after ``after_id``, in arrival order (for live streams)."""
        query = (
            select(NotificationRow)
            .where(NotificationRow.recipient == member_id, NotificationRow.id > after_id)
            .order_by(NotificationRow.id)
            .limit(limit)
        )
        return [FeedItem.model_validate(r) for r in await self._all(query)]

    async def mark_read(
        self, member_id: str, notification_ids: Sequence[int], at: datetime | None = None
    ) -> int:
        """Mark a member's own unread notifications read.

        Returns:
            How many changed; ids of other members' notifications change nothing.
        """
        stmt = (
            update(NotificationRow)
            .where(NotificationRow.recipient == member_id)
            .where(NotificationRow.id.in_(list(notification_ids)))
            .where(NotificationRow.read_at.is_(None))
            .values(read_at=at or datetime.now(UTC))
        )
        async with self._sessions.begin() as session:
            result = await session.execute(stmt)
        return int(getattr(result, "rowcount", 0) or 0)

    async def _all(self, query: Select[T]) -> Sequence[T]:
        async with self._sessions() as session:
            return (await session.scalars(query)).all()


def _older_than(member_id: str, cursor: int) -> ColumnElement[bool]:
    """Rows after the cursor row in the feed's order (nothing if it is not the member's)."""
    row = NotificationRow
    at = (
        select(row.created_at).where(row.id == cursor, row.recipient == member_id).scalar_subquery()
    )
    return or_(row.created_at < at, and_(row.created_at == at, row.id < cursor))
