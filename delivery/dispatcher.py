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
from collections.abc import Mapping, Sequence

import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.client import Client
from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError

from delivery.store import DeliveryStore, DispatchTransaction, NewDelivery
from models.delivery import ExternalChannel, OutboundMessage, generic_type
from models.journey import EventKind, Priority
from readmodel.tables import NotificationRow, StaffRow, WebhookEndpointRow
from runtime.settings import Settings
from workflows.delivery import DeliveryWorkflow
from workflows.temporal_policy import delivery_workflow_id

log = structlog.get_logger(__name__)

CURSOR = "feed"
BATCH = 200


def _targets(
    note: NotificationRow,
    staff: Mapping[str, StaffRow],
    members: Mapping[str, set[str]],
    endpoints: Sequence[WebhookEndpointRow],
) -> list[tuple[ExternalChannel, str]]:
    """Where one notification goes: its recipient's e-mail (when their preferences and their
    place on the care team say so) and every active webhook endpoint taking its type."""
    kind, priority = EventKind(note.kind), Priority(note.priority)
    targets: list[tuple[ExternalChannel, str]] = []
    person = staff.get(note.recipient)
    if (
        person is not None
        and person.active
        and person.email_enabled
        and person.email
        and (not person.email_urgent_only or priority is Priority.URGENT)
        and note.recipient in members.get(note.journey_id, set())
    ):
        targets.append((ExternalChannel.EMAIL, note.recipient))
    targets += [
        (ExternalChannel.WEBHOOK, endpoint.endpoint_id)
        for endpoint in endpoints
        if endpoint.accepts(generic_type(kind).value)
    ]
    return targets


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
        async with self._store.dispatching() as round_:
            read = await self._record(round_)
        await self._start_pending()
        return read

    async def _record(self, round_: DispatchTransaction) -> int:
        position = await round_.cursor(CURSOR)
        notes = await round_.notifications_after(position, BATCH)
        if not notes:
            return 0
        journeys = {n.journey_id for n in notes}
        staff = await round_.staff({n.recipient for n in notes})
        members = await round_.care_teams(journeys)
        endpoints = await round_.active_endpoints()
        wanted = [
            (note, targets)
            for note in notes
            if (targets := _targets(note, staff, members, endpoints))
        ]
        # Due times only for the events someone is told about, looked up together.
        due_times = await round_.due_times({(n.journey_id, n.seq) for n, _ in wanted})
        rows: dict[str, NewDelivery] = {}
        for note, targets in wanted:
            due = due_times.get((note.journey_id, note.seq))
            for channel, target in targets:
                key = delivery_key(note.journey_id, note.seq, target, channel)
                rows[key] = NewDelivery(
                    key=key, channel=channel.value, target=target, journey_id=note.journey_id,
                    seq=note.seq, kind=note.kind, priority=note.priority,
                    occurred_at=note.created_at, due_at=due,
                )  # fmt: skip
        await round_.add_deliveries(list(rows.values()))
        await round_.set_cursor(CURSOR, notes[-1].id)
        return len(notes)

    async def _start_pending(self) -> None:
        for row in await self._store.unstarted(BATCH):
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
            await self._store.mark_started(row.key)
