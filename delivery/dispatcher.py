"""Turn new feed notifications into external deliveries and start one workflow for each.

It reads the feed (the read model's notifications, written in the same transaction as the
journey's events) from a stored cursor, so nothing is missed across restarts, and resolves
people at delivery time: a member's current e-mail preferences, and whether they are still on
the journey's care team (members who left are skipped quietly). Delivery rows are keyed by
idempotency key and workflow ids by that key, so two dispatchers (two worker replicas) or a
crash between steps never send twice.
"""

import asyncio
import contextlib
from collections import defaultdict
from datetime import UTC, datetime
from typing import cast

import structlog
from sqlalchemy import Table, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.client import Client
from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError

from delivery.store import DeliveryStore
from models.delivery import DeliveryStatus, ExternalChannel, OutboundMessage, generic_type
from models.journey import EventKind, Priority
from readmodel.db import dialect_insert
from readmodel.tables import (
    DeliveryRow,
    EventRow,
    MemberRow,
    NotificationRow,
    ReassessmentRow,
    StaffRow,
    TaskRow,
    WebhookEndpointRow,
)
from runtime.settings import Settings
from workflows.delivery import DeliveryWorkflow
from workflows.temporal_policy import delivery_workflow_id

log = structlog.get_logger(__name__)

CURSOR = "feed"
BATCH = 200


def delivery_key(journey_id: str, seq: int, target: str, channel: ExternalChannel) -> str:
    """Idempotency key of one external message: one event, one target, one channel."""
    return f"{journey_id}:{seq}:{target}:{channel.value}"


class Dispatcher:
    """Polls the feed and starts delivery workflows; safe to run in every worker process."""

    def __init__(
        self,
        client: Client,
        sessions: async_sessionmaker[AsyncSession],
        task_queue: str,
        settings: Settings,
    ) -> None:
        self._client = client
        self._sessions = sessions
        self._store = DeliveryStore(sessions)
        self._task_queue = task_queue
        self._settings = settings

    async def run(self, stop: asyncio.Event) -> None:
        """Dispatch until ``stop`` is set; a failing round is logged and tried again."""
        while not stop.is_set():
            try:
                while await self.dispatch_once() == BATCH:
                    pass  # a full batch: there may be more right away
            except Exception as exc:
                log.error("dispatch.failed", error=type(exc).__name__)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self._settings.dispatch_interval_s)

    async def dispatch_once(self) -> int:
        """Record the deliveries of the next notifications, then start what is not started.

        Returns:
            How many notifications were read.
        """
        async with self._sessions.begin() as session:
            read = await self._record(session)
        await self._start_pending()
        return read

    async def _record(self, session: AsyncSession) -> int:
        position = await self._store.cursor(session, CURSOR)
        notes = (
            await session.scalars(
                select(NotificationRow)
                .where(NotificationRow.id > position)
                .order_by(NotificationRow.id)
                .limit(BATCH)
            )
        ).all()
        if not notes:
            return 0
        journeys = {n.journey_id for n in notes}
        staff = {
            s.staff_id: s
            for s in await session.scalars(
                select(StaffRow).where(StaffRow.staff_id.in_({n.recipient for n in notes}))
            )
        }
        members: dict[str, set[str]] = defaultdict(set)
        for m in await session.execute(
            select(MemberRow.journey_id, MemberRow.member_id).where(
                MemberRow.journey_id.in_(journeys)
            )
        ):
            members[m.journey_id].add(m.member_id)
        endpoints = (
            await session.scalars(select(WebhookEndpointRow).where(WebhookEndpointRow.active))
        ).all()
        now = datetime.now(UTC)
        rows: dict[str, dict[str, object]] = {}
        # One event reaches several recipients: look its due time up once.
        due_times: dict[tuple[str, int], datetime | None] = {}
        for note in notes:
            kind, priority = EventKind(note.kind), Priority(note.priority)
            event = (note.journey_id, note.seq)
            if event not in due_times:
                due_times[event] = await _due_at(session, *event)
            due = due_times[event]
            base = {
                "journey_id": note.journey_id, "seq": note.seq, "kind": kind.value,
                "priority": priority.value, "occurred_at": note.created_at, "due_at": due,
                "status": DeliveryStatus.PENDING.value, "started": False, "attempts": 0,
                "replays": 0, "created_at": now,
            }  # fmt: skip
            person = staff.get(note.recipient)
            if (
                person is not None
                and person.active
                and person.email_enabled
                and person.email
                and (not person.email_urgent_only or priority is Priority.URGENT)
                and note.recipient in members[note.journey_id]
            ):
                key = delivery_key(note.journey_id, note.seq, note.recipient, ExternalChannel.EMAIL)
                rows[key] = {**base, "key": key, "channel": "email", "target": note.recipient}
            for endpoint in endpoints:
                if endpoint.types and generic_type(kind).value not in endpoint.types:
                    continue
                key = delivery_key(
                    note.journey_id, note.seq, endpoint.endpoint_id, ExternalChannel.WEBHOOK
                )
                rows[key] = {**base, "key": key, "channel": "webhook",
                             "target": endpoint.endpoint_id}  # fmt: skip
        if rows:
            stmt = dialect_insert(session, cast(Table, DeliveryRow.__table__))
            await session.execute(
                stmt.on_conflict_do_nothing(index_elements=["key"]), list(rows.values())
            )
        await self._store.set_cursor(session, CURSOR, notes[-1].id)
        return len(notes)

    async def _start_pending(self) -> None:
        async with self._sessions() as session:
            pending = (
                await session.scalars(
                    select(DeliveryRow)
                    .where(
                        DeliveryRow.status == DeliveryStatus.PENDING.value,
                        DeliveryRow.started.is_(False),
                    )
                    .limit(BATCH)
                )
            ).all()
        for row in pending:
            message = OutboundMessage(
                key=row.key,
                channel=ExternalChannel(row.channel),
                target=row.target,
                journey_id=row.journey_id,
                seq=row.seq,
                kind=EventKind(row.kind),
                priority=Priority(row.priority),
                occurred_at=row.occurred_at,
                due_at=row.due_at,
                max_attempts=self._settings.delivery_max_attempts,
                attempt_timeout_s=self._settings.delivery_timeout_s + 5,
            )
            with contextlib.suppress(WorkflowAlreadyStartedError):
                await self._client.start_workflow(
                    DeliveryWorkflow.run,
                    message,
                    id=delivery_workflow_id(row.key, row.replays),
                    task_queue=self._task_queue,
                    id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                )
            async with self._sessions.begin() as session:
                await session.execute(
                    update(DeliveryRow).where(DeliveryRow.key == row.key).values(started=True)
                )


async def _due_at(session: AsyncSession, journey_id: str, seq: int) -> datetime | None:
    """The due time of the work an event is about (a task or a reassessment), if any."""
    event = await session.get(EventRow, (journey_id, seq))
    refs = event.refs if event else {}
    if "task_id" in refs:
        task = await session.get(TaskRow, refs["task_id"])
        return task.due_at if task else None
    if "reassessment_id" in refs:
        found = await session.get(ReassessmentRow, refs["reassessment_id"])
        return found.due_at if found else None
    return None
