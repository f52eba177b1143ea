"""Deliveries, webhook endpoints and staff notification preferences in the read-model database."""

from collections import defaultdict
from collections.abc import AsyncIterator, Collection, Mapping, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import TypedDict, cast

from sqlalchemy import Table, select, text, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import InstrumentedAttribute, object_session

from delivery.sealing import SecretBox
from delivery.signing import new_secret
from models.delivery import DeliveryStatus, DeliveryView, GenericType
from readmodel.db import dialect_insert
from readmodel.tables import (
    AuditRow,
    DeliveryRow,
    DispatchCursorRow,
    EventRow,
    MemberRow,
    NotificationRow,
    ReassessmentRow,
    StaffRow,
    TaskRow,
    WebhookEndpointRow,
)

# Marks a session that replaced stored secrets (SQLite then checkpoints its log).
SECRETS_REPLACED = "webhook_secrets_replaced"


class UnknownTargetError(Exception):
    """No staff account or webhook endpoint with that id."""


class DeliveryStore:
    """Reads and writes of everything external delivery keeps."""

    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], box: SecretBox | None = None
    ) -> None:
        self._sessions = sessions
        self._box = box

    @property
    def box(self) -> SecretBox:
        """What seals and opens webhook secrets (only stores given one touch secrets)."""
        if self._box is None:
            raise RuntimeError("this delivery store was opened without the secret key ring")
        return self._box

    @property
    def sessions(self) -> async_sessionmaker[AsyncSession]:
        """The session factory (for code sharing the database)."""
        return self._sessions

    # Staff preferences ----------------------------------------------------------------------

    async def set_email(
        self, staff_id: str, email: str | None, *, enabled: bool, urgent_only: bool
    ) -> None:
        """Set a member's e-mail address and whether (and for what) e-mail is sent."""
        async with self._sessions.begin() as session:
            changed = await session.execute(
                update(StaffRow)
                .where(StaffRow.staff_id == staff_id)
                .values(email=email, email_enabled=enabled, email_urgent_only=urgent_only)
            )
            if changed.rowcount == 0:  # type: ignore[attr-defined]
                raise UnknownTargetError(f"staff {staff_id} does not exist")

    async def staff(self, staff_id: str) -> StaffRow | None:
        """A staff account with its notification preferences as they are now."""
        async with self._sessions() as session:
            return await session.get(StaffRow, staff_id)

    # Webhook endpoints ----------------------------------------------------------------------

    async def add_endpoint(
        self, endpoint_id: str, url: str, types: Sequence[GenericType], rate_per_minute: int
    ) -> str:
        """Register an endpoint; returns its first signing secret (stored sealed)."""
        secret = new_secret()
        sealed = self.box.seal(endpoint_id, secret)
        async with self._sessions.begin() as session:
            session.add(
                WebhookEndpointRow(
                    endpoint_id=endpoint_id,
                    url=url,
                    secrets=[sealed],
                    types=[t.value for t in types],
                    rate_per_minute=rate_per_minute,
                    active=True,
                    created_at=datetime.now(UTC),
                )
            )
        return secret

    async def rotate_secret(self, endpoint_id: str, *, retire_old: bool = False) -> str | None:
        """Start a rotation (a new secret signs beside the current one), or finish it.

        Returns:
            The new secret, or None when ``retire_old`` dropped every secret but the newest.
        """
        async with self._secrets_written() as session:
            row = await session.get(WebhookEndpointRow, endpoint_id)
            if row is None:
                raise UnknownTargetError(f"webhook endpoint {endpoint_id} does not exist")
            current = self._open(row)
            if retire_old:
                self._seal(row, current[:1])
                return None
            secret = new_secret()
            self._seal(row, [secret, *current[:1]])
            return secret

    async def endpoint_secrets(self, endpoint_id: str) -> list[str]:
        """An endpoint's signing secrets, newest first, in plain text (never print them).

        Secrets still stored in plain text, or sealed under a key that is no longer the
        active one, are sealed under the active key in the same transaction.
        """
        async with self._secrets_written() as session:
            row = await session.get(WebhookEndpointRow, endpoint_id)
            if row is None:
                raise UnknownTargetError(f"webhook endpoint {endpoint_id} does not exist")
            return self._open(row, reseal=True)

    async def seal_all(self) -> None:
        """Seal every endpoint's secrets under the active key (those already sealed stay)."""
        async with self._secrets_written() as session:
            for row in await session.scalars(select(WebhookEndpointRow)):
                self._open(row, reseal=True)

    def _open(self, row: WebhookEndpointRow, *, reseal: bool = False) -> list[str]:
        opened = [self.box.open(row.endpoint_id, s) for s in row.signing_secrets]
        if reseal and not all(self.box.is_current(s) for s in row.signing_secrets):
            self._seal(row, opened)
        return opened

    @asynccontextmanager
    async def _secrets_written(self) -> AsyncIterator[AsyncSession]:
        """A transaction that may replace stored secrets, leaving no old copy in SQLite's file.

        SQLite keeps a replaced row's bytes in free space and in the write-ahead log: with
        ``secure_delete`` they are zeroed, and after re-sealing a plain-text secret a
        checkpoint moves the pages into the file and truncates the log.
        """
        async with self._sessions.begin() as session:
            sqlite = session.get_bind().dialect.name == "sqlite"
            if sqlite:
                await session.execute(text("PRAGMA secure_delete = ON"))
            yield session
            replaced = session.info.pop(SECRETS_REPLACED, False)
        if sqlite and replaced:
            async with self._sessions() as session:
                await session.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))

    def _seal(self, row: WebhookEndpointRow, secrets: list[str]) -> None:
        row.secrets = [self.box.seal(row.endpoint_id, s) for s in secrets]
        session = object_session(row)
        if session is not None:
            session.info[SECRETS_REPLACED] = True

    async def set_endpoint_active(self, endpoint_id: str, active: bool) -> None:
        """Pause or resume deliveries to an endpoint."""
        async with self._sessions.begin() as session:
            row = await session.get(WebhookEndpointRow, endpoint_id)
            if row is None:
                raise UnknownTargetError(f"webhook endpoint {endpoint_id} does not exist")
            row.active = active

    async def endpoint(self, endpoint_id: str) -> WebhookEndpointRow | None:
        """One endpoint as it is now (its secrets sealed: read them with endpoint_secrets)."""
        async with self._sessions() as session:
            return await session.get(WebhookEndpointRow, endpoint_id)

    async def endpoints(self) -> list[WebhookEndpointRow]:
        """Every endpoint (secrets sealed, never to be printed)."""
        async with self._sessions() as session:
            return list((await session.scalars(select(WebhookEndpointRow))).all())

    # Deliveries -----------------------------------------------------------------------------

    async def deliveries(
        self, status: DeliveryStatus | None = None, limit: int = 100
    ) -> list[DeliveryView]:
        """Deliveries, newest first, optionally of one status (the dead-letter list: DEAD)."""
        query = select(DeliveryRow).order_by(DeliveryRow.created_at.desc()).limit(limit)
        if status is not None:
            query = query.where(DeliveryRow.status == status.value)
        async with self._sessions() as session:
            return [DeliveryView.model_validate(r) for r in (await session.scalars(query)).all()]

    async def of_journey(self, journey_id: str, limit: int = 1000) -> list[DeliveryView]:
        """One journey's deliveries, oldest first (a FHIR export's Communications)."""
        query = (
            select(DeliveryRow)
            .where(DeliveryRow.journey_id == journey_id)
            .order_by(DeliveryRow.created_at, DeliveryRow.key)
            .limit(limit)
        )
        async with self._sessions() as session:
            return [DeliveryView.model_validate(r) for r in (await session.scalars(query)).all()]

    async def get(self, key: str) -> DeliveryRow | None:
        """One delivery."""
        async with self._sessions() as session:
            return await session.get(DeliveryRow, key)

    async def reopen(self, key: str) -> int:
        """Put a dead delivery back to pending for a replay; returns its replay number.

        Raises:
            UnknownTargetError: no such delivery, or it is not dead.
        """
        async with self._sessions.begin() as session:
            row = await session.get(DeliveryRow, key, with_for_update=True)
            if row is None or row.status != DeliveryStatus.DEAD.value:
                raise UnknownTargetError(f"{key}: not a dead delivery")
            row.status = DeliveryStatus.PENDING.value
            row.started = False  # the dispatcher starts the replay's own workflow
            row.replays += 1
            row.dead_at = None
            return row.replays

    async def record_attempt(self, key: str, attempt: int, error: str | None) -> None:
        """Keep the attempt number and its error (never more than an error class and a code).

        Attempts are Temporal's own count, so a try lost with a killed worker counts too.
        """
        async with self._sessions.begin() as session:
            row = await session.get(DeliveryRow, key)
            if row is not None:
                row.attempts = max(row.attempts, attempt)
                row.last_error = error[:500] if error else None

    async def mark_sent(self, key: str, attempt: int, recipient: str, purpose: str) -> None:
        """Mark sent and record the disclosure in the audit log, in one transaction."""
        now = datetime.now(UTC)
        async with self._sessions.begin() as session:
            row = await session.get(DeliveryRow, key)
            if row is None or row.status == DeliveryStatus.SENT.value:
                return
            row.status = DeliveryStatus.SENT.value
            row.sent_at = now
            row.attempts = max(row.attempts, attempt)
            row.last_error = None
            session.add(
                AuditRow(
                    at=now, actor="system", action="disclosure", journey_id=row.journey_id,
                    outcome="sent", recipient=recipient, channel=row.channel, purpose=purpose,
                )
            )  # fmt: skip

    async def mark(self, key: str, status: DeliveryStatus, error: str | None = None) -> None:
        """Mark skipped or dead."""
        now = datetime.now(UTC)
        async with self._sessions.begin() as session:
            row = await session.get(DeliveryRow, key)
            if row is None or row.status == DeliveryStatus.SENT.value:
                return
            row.status = status.value
            if error is not None:
                row.last_error = error[:500]
            if status is DeliveryStatus.DEAD:
                row.dead_at = now

    async def unstarted(self, limit: int) -> list[DeliveryRow]:
        """Pending deliveries whose workflow the dispatcher has not started yet."""
        query = (
            select(DeliveryRow)
            .where(
                DeliveryRow.status == DeliveryStatus.PENDING.value,
                DeliveryRow.started.is_(False),
            )
            .limit(limit)
        )
        async with self._sessions() as session:
            return list((await session.scalars(query)).all())

    async def mark_started(self, key: str) -> None:
        """Note that a delivery's workflow was started (or already was)."""
        async with self._sessions.begin() as session:
            await session.execute(
                update(DeliveryRow).where(DeliveryRow.key == key).values(started=True)
            )

    # Dispatching ----------------------------------------------------------------------------

    @asynccontextmanager
    async def dispatching(self) -> AsyncIterator["DispatchTransaction"]:
        """One dispatch round's reads and writes, committed together when the block ends."""
        async with self._sessions.begin() as session:
            yield DispatchTransaction(session)


class NewDelivery(TypedDict):
    """A delivery the dispatcher records: one event, one target, one channel."""

    key: str
    channel: str
    target: str
    journey_id: str
    seq: int
    kind: str
    priority: str
    occurred_at: datetime
    due_at: datetime | None


class DispatchTransaction:
    """What the dispatcher reads and writes in one round, inside one transaction.

    The deliveries of the notifications read and the cursor past them commit together: a
    round that fails records nothing and moves nothing, and the next round reads it again.
    """

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def cursor(self, name: str) -> int:
        """The dispatcher's position."""
        row = await self._session.get(DispatchCursorRow, name)
        return row.position if row else 0

    async def set_cursor(self, name: str, position: int) -> None:
        """Move the dispatcher's position (never backwards)."""
        row = await self._session.get(DispatchCursorRow, name)
        if row is None:
            self._session.add(DispatchCursorRow(name=name, position=position))
        elif position > row.position:
            row.position = position

    async def notifications_after(self, position: int, limit: int) -> list[NotificationRow]:
        """Feed notifications stored after ``position``, in arrival order."""
        query = (
            select(NotificationRow)
            .where(NotificationRow.id > position)
            .order_by(NotificationRow.id)
            .limit(limit)
        )
        return list((await self._session.scalars(query)).all())

    async def staff(self, staff_ids: Collection[str]) -> dict[str, StaffRow]:
        """The accounts (with their notification preferences) of these staff ids, by id."""
        query = select(StaffRow).where(StaffRow.staff_id.in_(staff_ids))
        return {s.staff_id: s for s in await self._session.scalars(query)}

    async def care_teams(self, journey_ids: Collection[str]) -> dict[str, set[str]]:
        """The member ids of each journey's care team as the read model holds it now."""
        members: dict[str, set[str]] = defaultdict(set)
        query = select(MemberRow.journey_id, MemberRow.member_id).where(
            MemberRow.journey_id.in_(journey_ids)
        )
        for m in await self._session.execute(query):
            members[m.journey_id].add(m.member_id)
        return members

    async def active_endpoints(self) -> list[WebhookEndpointRow]:
        """The webhook endpoints deliveries go to (paused ones left out)."""
        query = select(WebhookEndpointRow).where(WebhookEndpointRow.active)
        return list((await self._session.scalars(query)).all())

    async def due_times(
        self, events: Collection[tuple[str, int]]
    ) -> dict[tuple[str, int], datetime | None]:
        """The due time of the work each event is about (a task or a reassessment), if any.

        Three queries for the whole round, whatever its size: the events, then their tasks
        and reassessments.
        """
        if not events:
            return {}
        query = select(EventRow).where(
            tuple_(EventRow.journey_id, EventRow.seq).in_(sorted(events))
        )
        found = list(await self._session.scalars(query))
        task_ids = {t for e in found if (t := e.ref("task_id")) is not None}
        review_ids = {r for e in found if (r := e.ref("reassessment_id")) is not None}
        tasks = await self._due_by_id(TaskRow.task_id, TaskRow.due_at, task_ids)
        reviews = await self._due_by_id(
            ReassessmentRow.reassessment_id, ReassessmentRow.due_at, review_ids
        )
        return {(e.journey_id, e.seq): _due(e, tasks, reviews) for e in found}

    async def _due_by_id(
        self,
        key: InstrumentedAttribute[str],
        due: InstrumentedAttribute[datetime],
        ids: Collection[str],
    ) -> dict[str, datetime]:
        if not ids:
            return {}
        rows = await self._session.execute(select(key, due).where(key.in_(ids)))
        return dict(rows.all())

    async def add_deliveries(self, deliveries: Collection[NewDelivery]) -> None:
        """Record new deliveries, pending and not started; keys already stored stay as they are.

        Keys are idempotency keys, so a second dispatcher recording the same round (or this
        one again after a crash) adds nothing.
        """
        if not deliveries:
            return
        now = datetime.now(UTC)
        values = [
            {**d, "status": DeliveryStatus.PENDING.value, "started": False, "attempts": 0,
             "replays": 0, "created_at": now}
            for d in deliveries
        ]  # fmt: skip
        stmt = dialect_insert(self._session, cast(Table, DeliveryRow.__table__))
        await self._session.execute(stmt.on_conflict_do_nothing(index_elements=["key"]), values)


def _due(
    event: EventRow,
    tasks: Mapping[str, datetime],
    reviews: Mapping[str, datetime],
) -> datetime | None:
    # An event about a task is due when the task is, even if it also names a reassessment.
    if (task_id := event.ref("task_id")) is not None:
        return tasks.get(task_id)
    if (reassessment_id := event.ref("reassessment_id")) is not None:
        return reviews.get(reassessment_id)
    return None
