"""E-mail and webhooks against real servers on 127.0.0.1: once each, through outages, dead letters.

A real dev server and worker; aiosmtpd receives the e-mails; a uvicorn receiver verifies the
webhook signatures (Standard Webhooks), refuses repeats by idempotency key and can fail or
stall on purpose. 127.0.0.1 is on the webhook allow list, as only development and tests have it.
"""

import asyncio
import base64
import json
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from temporalio.testing import WorkflowEnvironment

from delivery.dispatcher import CURSOR, Dispatcher
from delivery.sealing import SecretBox
from delivery.store import DeliveryStore
from models.clinical import AssessmentKind
from models.commands import DecideTransition, RecordAssessment, ReportEvent
from models.delivery import DeliveryStatus, GenericType
from models.journey import Priority
from models.policy import ClinicalEventKind
from models.staff import StaffRole
from readmodel.access import AccessRepository
from readmodel.db import create_engine, sessionmaker
from readmodel.migrate import migrate
from readmodel.tables import (
    AuditRow,
    DeliveryRow,
    DispatchCursorRow,
    EventRow,
    NotificationRow,
    ReassessmentRow,
    TaskRow,
)
from runtime.settings import Settings
from service.journeys import JourneyService
from tests.builders import PRIMARY, ratings, start_command
from tests.conftest import TEST_KEY, TEST_KEY_ID
from tests.delivery.receivers import Inbox, Receiver, smtp_server, webhook_receiver
from worker import create_worker

# E-mail preferences: the primary clinician gets everything, the nurse only urgent messages,
# the physician has e-mail switched off (feed only).
EMAILS = {PRIMARY: (True, False), "rn-baker": (True, True), "dr-ames": (False, False)}


@dataclass
class Stack:
    """Worker, dispatcher, receivers and the stores behind them."""

    journeys: JourneyService
    store: DeliveryStore
    sessions: async_sessionmaker[AsyncSession]
    inbox: Inbox
    receiver: Receiver
    url: str


@asynccontextmanager
async def _stack(
    env: WorkflowEnvironment, directory: Path, task_queue: str, receiver: Receiver
) -> AsyncIterator[Stack]:
    url = f"sqlite+aiosqlite:///{directory / 'journeys.db'}"
    await migrate(url)
    engine = create_engine(url)
    sessions = sessionmaker(engine)
    access = AccessRepository(sessions)
    store = DeliveryStore(sessions, SecretBox.of({TEST_KEY_ID: TEST_KEY}, TEST_KEY_ID))
    for staff_id, (enabled, urgent_only) in EMAILS.items():
        await access.add_staff(staff_id, StaffRole.CLINICIAN)
        await store.set_email(staff_id, f"{staff_id}@example.org", enabled=enabled,
                              urgent_only=urgent_only)  # fmt: skip
    try:
        async with smtp_server() as (inbox, smtp_port), webhook_receiver(receiver) as hook_url:
            settings = Settings(
                smtp_host="127.0.0.1", smtp_port=smtp_port, smtp_starttls=False,
                public_url="https://journeys.example.org", delivery_max_attempts=4,
                delivery_timeout_s=2, dispatch_interval_s=0.1, webhook_allow_hosts=("127.0.0.1",),
                codec_keys={TEST_KEY_ID: SecretStr(base64.b64encode(TEST_KEY).decode())},
            )  # fmt: skip
            stop = asyncio.Event()
            async with httpx.AsyncClient(timeout=2) as http:
                worker = create_worker(env.client, task_queue, sessions, settings=settings,
                                       http=http)  # fmt: skip
                dispatcher = Dispatcher(env.client, sessions, task_queue, settings)
                async with worker:
                    running = asyncio.create_task(dispatcher.run(stop))
                    try:
                        yield Stack(JourneyService(env.client, task_queue), store, sessions,
                                    inbox, receiver, hook_url)  # fmt: skip
                    finally:
                        stop.set()
                        await running
    finally:
        await engine.dispose()


async def _admit(journeys: JourneyService, journey_id: str) -> None:
    """Start, assess, decide and report a crisis: routine and urgent events for the team."""
    await journeys.start(start_command(journey_id))
    result = await journeys.send(
        journey_id,
        RecordAssessment(assessment_id=f"{journey_id}.A1", kind=AssessmentKind.COMPREHENSIVE,
                         dimensions=ratings(d5=3, d6=3), assessed_by=PRIMARY),
    )  # fmt: skip
    assert result.reassessment_id is not None
    await journeys.send(
        journey_id,
        DecideTransition(reassessment_id=result.reassessment_id, decided_by=PRIMARY, accept=True),
    )
    await journeys.send(journey_id, ReportEvent(kind=ClinicalEventKind.CRISIS, reported_by=PRIMARY))


async def _until(check: Callable[[], Awaitable[bool]], seconds: float = 30) -> None:
    """Poll ``check`` until it holds (bounded in time)."""
    for _ in range(int(seconds / 0.1)):
        if await check():
            return
        await asyncio.sleep(0.1)
    raise AssertionError("condition not reached in time")


async def _statuses(stack: Stack) -> Counter[str]:
    async with stack.sessions() as session:
        return Counter((await session.scalars(select(DeliveryRow.status))).all())


async def _all_read(stack: Stack) -> bool:
    """The dispatcher has read every notification of the four admission events."""
    async with stack.sessions() as session:
        newest = await session.scalar(select(func.max(NotificationRow.id)))
        events = await session.scalar(select(func.count(func.distinct(NotificationRow.seq))))
        cursor = await session.get(DispatchCursorRow, CURSOR)
    position = cursor.position if cursor else 0
    return newest is not None and position == newest and (events or 0) >= 4


async def _settled(stack: Stack) -> bool:
    """Every notification read by the dispatcher and every delivery finished."""
    counts = await _statuses(stack)
    return (
        await _all_read(stack)
        and sum(counts.values()) > 0
        and counts[DeliveryStatus.PENDING.value] == 0
    )


async def _due_times_in_read_model(session: AsyncSession) -> dict[tuple[str, int], datetime | None]:
    """Every event's due time, looked up one by one from the rows its references name."""
    out: dict[tuple[str, int], datetime | None] = {}
    for event in await session.scalars(select(EventRow)):
        due: datetime | None = None
        if (task_id := event.refs.get("task_id")) is not None:
            task = await session.get(TaskRow, task_id)
            due = task.due_at if task else None
        elif (reassessment_id := event.refs.get("reassessment_id")) is not None:
            found = await session.get(ReassessmentRow, reassessment_id)
            due = found.due_at if found else None
        out[(event.journey_id, event.seq)] = due
    return out


@pytest.fixture
def receiver() -> Receiver:
    return Receiver()


async def test_each_member_gets_each_notification_once_per_channel_and_nothing_leaks(
    dev_env: WorkflowEnvironment, tmp_path: Path, task_queue: str, receiver: Receiver
) -> None:
    async with _stack(dev_env, tmp_path, task_queue, receiver) as stack:
        receiver.secret = await stack.store.add_endpoint("ehr", stack.url, [], 600)
        await _admit(stack.journeys, "J-DELIVER")
        await _until(lambda: _settled(stack))
        await asyncio.sleep(0.5)  # nothing more arrives after settling
        async with stack.sessions() as session:
            notes = (await session.scalars(select(NotificationRow))).all()
            audit = (await session.scalars(
                select(AuditRow).where(AuditRow.action == "disclosure"))).all()  # fmt: skip
            due = await _due_times_in_read_model(session)
            deliveries = (await session.scalars(select(DeliveryRow))).all()

    # Every delivery was sent (none dead-lettered on a starved machine), in full.
    statuses = Counter((d.channel, d.status) for d in deliveries)
    assert {status for _, status in statuses} == {DeliveryStatus.SENT.value}, statuses
    feed = Counter(n.recipient for n in notes)
    urgent = Counter(n.recipient for n in notes if n.priority == Priority.URGENT.value)
    expected = {PRIMARY: feed[PRIMARY], "rn-baker": urgent["rn-baker"]}
    assert expected[PRIMARY] >= 4
    assert expected["rn-baker"] >= 1
    received = dict(stack.inbox.per_recipient())
    assert received == {f"{k}@example.org": v for k, v in expected.items()}, (received, statuses)
    # At least once: a copy more only for a send Temporal tried again (cut by its timeout).
    retried = sum(d.attempts - 1 for d in deliveries if d.channel == "email")
    assert stack.inbox.duplicates() <= retried, (stack.inbox.copies(), retried)
    for _, mail in stack.inbox.messages:
        assert "J-DELIVER" in mail.get_payload()
        for word in ("crisis", "3.5", "treatment", "residential"):
            assert word not in mail.as_string().lower()

    events = {(n.journey_id, n.seq) for n in notes}
    assert receiver.bad_signatures == 0
    assert len(receiver.processed) == len(events) == len(receiver.received)
    bodies = [json.loads(e["body"]) for e in receiver.processed.values()]
    assert {b["type"] for b in bodies} <= {t.value for t in GenericType}
    assert all(set(b) == {"id", "type", "journey_id", "priority", "due_at", "link"} for b in bodies)
    # Each message is due when the task or reassessment its event is about is due.
    for b in bodies:
        journey_id, seq = b["id"].split(":")[:2]
        expected_due = due[(journey_id, int(seq))]
        assert b["due_at"] == (expected_due.isoformat() if expected_due else None)
    assert any(b["due_at"] for b in bodies), "no message was about work with a due time"

    # Every external send is a disclosure: recipient, channel, purpose, time.
    assert len(audit) == sum(expected.values()) + len(events)
    assert {a.channel for a in audit} == {"email", "webhook"}
    assert all(a.recipient and a.purpose and a.at for a in audit)


async def test_an_outage_delays_but_neither_loses_nor_duplicates(
    dev_env: WorkflowEnvironment, tmp_path: Path, task_queue: str, receiver: Receiver
) -> None:
    receiver.fail_next = 3  # 500 for a while
    receiver.hold_s, receiver.hold_next = 3.0, 1  # and one request stalls past the 2 s timeout
    async with _stack(dev_env, tmp_path, task_queue, receiver) as stack:
        receiver.secret = await stack.store.add_endpoint("ehr", stack.url, [], 600)
        await _admit(stack.journeys, "J-OUTAGE")
        await _until(lambda: _settled(stack), seconds=60)
        statuses = await _statuses(stack)
        rows = await stack.store.deliveries()
    assert statuses == Counter({DeliveryStatus.SENT.value: len(rows)})
    webhooks = [r for r in rows if r.channel.value == "webhook"]
    assert len(receiver.processed) == len(webhooks)
    assert receiver.requests > len(webhooks)  # the failures really happened and were retried
    assert max(r.attempts for r in webhooks) >= 2


async def test_permanent_failures_are_dead_lettered_and_replayed(
    dev_env: WorkflowEnvironment, tmp_path: Path, task_queue: str, receiver: Receiver
) -> None:
    receiver.fail_status, receiver.fail_next = 410, 1_000  # gone: never worth a retry
    async with _stack(dev_env, tmp_path, task_queue, receiver) as stack:
        receiver.secret = await stack.store.add_endpoint(
            "ehr", stack.url, [GenericType.CARE_UPDATE], 600
        )
        await _admit(stack.journeys, "J-DEAD")
        await _until(lambda: _settled(stack))
        dead = await stack.store.deliveries(DeliveryStatus.DEAD)
        assert dead
        assert all(d.channel.value == "webhook" for d in dead)
        assert [(d.attempts, d.last_error) for d in dead] == [
            (1, "PermanentDeliveryError: HTTP 410")
        ] * len(dead)
        assert receiver.requests == len(dead)  # one try each: 410 is permanent

        receiver.fail_next = 0  # the receiver is fixed; operations replay the dead letters
        for d in dead:
            assert await stack.store.reopen(d.key) == 1
        await _until(lambda: _settled(stack))
        assert await stack.store.deliveries(DeliveryStatus.DEAD) == []
        assert sorted(receiver.processed) == sorted(d.key for d in dead)


async def test_a_busy_endpoint_waits_alone(
    dev_env: WorkflowEnvironment, tmp_path: Path, task_queue: str, receiver: Receiver
) -> None:
    async with _stack(dev_env, tmp_path, task_queue, receiver) as stack:
        receiver.secret = await stack.store.add_endpoint("fast", stack.url, [], 600)
        slow_secret = await stack.store.add_endpoint("slow", stack.url, [], 1)  # 1 a minute
        receiver.other_secrets.append(slow_secret)
        await _admit(stack.journeys, "J-RATE")

        async def fast_done() -> bool:
            if not await _all_read(stack):
                return False
            rows = await stack.store.deliveries(limit=500)
            fast = [r for r in rows if r.target == "fast"]
            return bool(fast) and all(r.status is DeliveryStatus.SENT for r in fast)

        await _until(fast_done)
        rows = await stack.store.deliveries(limit=500)
    slow = [r for r in rows if r.target == "slow"]
    assert len(slow) >= 4
    # The slow endpoint got its one delivery of the minute; the rest wait, without failing.
    assert Counter(r.status for r in slow) == Counter(
        {DeliveryStatus.SENT: 1, DeliveryStatus.PENDING: len(slow) - 1}
    )
    assert all(r.attempts <= 1 for r in slow)


async def test_a_name_resolving_inside_at_send_time_is_dead_lettered_unsent(
    dev_env: WorkflowEnvironment, tmp_path: Path, task_queue: str, receiver: Receiver
) -> None:
    # As if the endpoint's name pointed outside when it was registered and DNS changed since:
    # "localhost" is not on the allow list and resolves to a loopback address.
    async with _stack(dev_env, tmp_path, task_queue, receiver) as stack:
        inside = stack.url.replace("http://127.0.0.1", "https://localhost")
        receiver.secret = await stack.store.add_endpoint("ehr", inside, [], 600)
        await _admit(stack.journeys, "J-REBIND")
        await _until(lambda: _settled(stack))
        rows = await stack.store.deliveries(limit=500)
    hooks = [r for r in rows if r.channel.value == "webhook"]
    assert hooks
    assert {r.status for r in hooks} == {DeliveryStatus.DEAD}
    assert all(r.attempts == 1 for r in hooks)  # permanent: never retried
    for r in hooks:
        assert r.last_error is not None
        assert r.last_error.startswith("PermanentDeliveryError: refused endpoint: localhost")
        assert "a loopback address" in r.last_error
    assert receiver.requests == 0
