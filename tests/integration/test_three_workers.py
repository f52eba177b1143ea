"""Three worker processes on one task queue, each killed (SIGKILL) and restarted at random
while journeys run through every phase, against the dev server and a PostgreSQL read model.

What running several workers relies on, checked once everything has settled:
- every journey's read model equals its live state (the workflow query);
- no feed row and no delivery is stored twice (counted by natural key), every feed event has
  its one webhook delivery, and each delivery is in the accounting of disclosures once;
- the dispatchers of all three workers start one delivery workflow per delivery; the receiver
  processes each once, and a repeat arrives only as another of Temporal's attempts of the same
  delivery (a send cut short by a kill, or still running on a starved worker when its attempt
  timed out, is sent again: webhooks are at least once, deduplicated by ``webhook-id``), never
  more often than Temporal tried it;
- projections written by different workers never go backwards: each journey's stored
  sequence and event count, sampled throughout the run, only grow.
"""

import asyncio
import functools
import os
import signal
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Coroutine
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
import yaml
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client

from clinical.policy_loader import DEFAULT_POLICY_PATH, load_policy
from models.journey import Phase
from readmodel.db import create_engine, sessionmaker
from readmodel.migrate import migrate
from readmodel.queries import JourneyQueries
from runtime.client import connect
from runtime.settings import Settings
from service.journeys import JourneyService
from tests.delivery.receivers import Receiver, webhook_receiver
from tests.integration.fleet import Driver, SequenceSampler, WorkerFleet, persist
from tests.integration.test_cli_journey import journeys, stack
from tests.integration.test_projection_crash import differences
from workflows.temporal_policy import delivery_workflow_id

__all__ = ["stack"]  # the module-scoped dev server fixture

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
WORKERS = 3
FULL = 6  # journeys from intake to completion
DISCHARGED = 4  # journeys discharged from treatment after a step up and a relapse
KILL_EVERY = (12, 24)  # commands sent between kills (about 125 in all)
MOST_KILLS = 20
AT_ONCE = 5  # journeys driven at once (a 2-core machine runs the server and 3 workers)


@pytest.fixture
async def pg_url() -> AsyncIterator[str]:
    """A throwaway read-model database on the local PostgreSQL, migrated, dropped after."""
    name = f"journeys_workers_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(PG_ADMIN)
    await admin.execute(f'CREATE DATABASE "{name}"')
    url = f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}"
    try:
        await migrate(url)
        yield url
    finally:
        await admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        await admin.close()


def _quick_aftercare_policy(path: Path) -> Path:
    """The default policy with aftercare over in seconds and no re-entry on missed check-ins."""
    data = yaml.safe_load(DEFAULT_POLICY_PATH.read_text())
    data["version"] = "test-workers"
    data["aftercare"].update(check_ins=["PT2S", "PT4S"], grace="PT2S", duration="PT4S")
    data["aftercare"].pop("reassess_after_missed", None)
    path.write_text(yaml.safe_dump(data))
    return path


def _settings(env: dict[str, str]) -> Settings:
    with pytest.MonkeyPatch.context() as patch:
        for name, value in env.items():
            patch.setenv(name, value)
        return Settings()


@pytest.mark.timeout(900)  # bounded waits inside; a starved machine is slow, never wrong
async def test_three_workers_killed_at_random_keep_every_journey_and_delivery_whole(
    stack: dict[str, str], pg_url: str, tmp_path: Path
) -> None:
    receiver = Receiver()
    async with webhook_receiver(receiver) as url:
        env = {
            **stack,
            "JOURNEYS_DATABASE_URL": pg_url,
            "JOURNEYS_TASK_QUEUE": f"workers-{uuid.uuid4().hex[:8]}",
            "JOURNEYS_POLICY_PATH": str(_quick_aftercare_policy(tmp_path / "policy.yaml")),
            "JOURNEYS_LOG_LEVEL": "warning",
            "JOURNEYS_DISPATCH_INTERVAL_S": "0.2",
            "JOURNEYS_DELIVERY_TIMEOUT_S": "2",  # a send cut by a kill is retried after 7 s
            "JOURNEYS_WEBHOOK_ALLOW_HOSTS": "127.0.0.1",  # the receiver, on this machine
            # Never a throttled wait: every send is one of Temporal's attempts.
            "JOURNEYS_WEBHOOK_MAX_IN_FLIGHT": "100",
        }
        added = await asyncio.to_thread(journeys, env, "webhook", "add", "ehr", url,
                                        "--rate", "6000")  # fmt: skip
        receiver.secret = added.stdout.strip().splitlines()[-1]
        seed = int(os.environ.get("JOURNEYS_TEST_SEED", time.time_ns() % 1_000_000))
        print(f"kill schedule seed: {seed} (JOURNEYS_TEST_SEED)")
        fleet = WorkerFleet(env, WORKERS, tmp_path, seed)
        engine = create_engine(pg_url)
        try:
            fleet.start_all()
            await fleet.wait_all_up()
            ids = await _run(env, fleet, engine)
            await _settled(engine, receiver, fleet)
            await _check_live_equals_read_model(env, engine, ids)
            await _check_deliveries(env, engine, receiver)
            await _check_metrics(fleet)
        finally:
            fleet.stop_all()
            await engine.dispose()


async def _run(env: dict[str, str], fleet: WorkerFleet, engine: AsyncEngine) -> list[str]:
    """Drive every journey while workers die; the sampler watches the read model throughout."""
    settings = _settings(env)
    client = await connect(settings)
    service = JourneyService(client, settings.task_queue)
    driver = Driver(service, load_policy(settings.policy_path), client)
    full = [f"J-WF{i:02d}{uuid.uuid4().hex[:4].upper()}" for i in range(FULL)]
    discharged = [f"J-WD{i:02d}{uuid.uuid4().hex[:4].upper()}" for i in range(DISCHARGED)]
    sampler = SequenceSampler(engine)
    stop = asyncio.Event()
    chaos = asyncio.create_task(fleet.chaos(stop, lambda: driver.commands, KILL_EVERY, MOST_KILLS))
    sampling = asyncio.create_task(sampler.run(stop))
    started = time.monotonic()
    try:
        gate = asyncio.Semaphore(AT_ONCE)

        async def drive(journey: Coroutine[Any, Any, None]) -> None:
            async with gate:
                await journey

        async with asyncio.TaskGroup() as group:  # one failing journey stops the rest
            for journey_id in full:
                group.create_task(drive(driver.full(journey_id)))
            for journey_id in discharged:
                group.create_task(drive(driver.discharged(journey_id)))
    finally:
        stop.set()
        await chaos
        await sampling
    await fleet.wait_all_up()  # the last one restarted too
    print(f"driven in {time.monotonic() - started:.0f} s: {driver.commands} commands, "
          f"{fleet.kills} kills, {sampler.samples} samples")  # fmt: skip
    assert fleet.kills >= 3, f"only {fleet.kills} kills while {driver.commands} commands ran"
    assert set(fleet.killed_codes) == {-signal.SIGKILL}
    assert sampler.samples >= 10
    assert sorted(sampler.seen) == sorted(full + discharged)
    assert sampler.backwards == []
    for journey_id in full:
        await _check_route(driver, journey_id, Phase.COMPLETED)
    for journey_id in discharged:
        await _check_route(driver, journey_id, Phase.DISCHARGED)
    return full + discharged


async def _check_route(driver: Driver, journey_id: str, end: Phase) -> None:
    state = await driver.state(journey_id)
    assert state.phase is end, (journey_id, state.phase)
    phases = [s.phase for s in state.segments]
    assert phases[0] is Phase.INTAKE
    assert Phase.TREATMENT in phases
    levels = {s.loc_code for s in state.segments if s.phase is Phase.TREATMENT}
    assert len(levels) >= 2, (journey_id, levels)  # the level of care changed in treatment
    if end is Phase.COMPLETED:
        assert list(dict.fromkeys(phases)) == [
            Phase.INTAKE, Phase.WITHDRAWAL_MANAGEMENT, Phase.TREATMENT, Phase.AFTERCARE,
            Phase.COMPLETED,
        ]  # fmt: skip


async def _scalar(engine: AsyncEngine, sql: str) -> Any:
    async with engine.connect() as conn:
        return (await conn.execute(text(sql))).scalar()


async def _settled(engine: AsyncEngine, receiver: Receiver, fleet: WorkerFleet) -> None:
    """Wait (bounded) until the dispatchers have read the whole feed and every delivery is
    sent and received."""
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        behind = await _scalar(
            engine,
            "SELECT (SELECT coalesce(max(id), 0) FROM notifications) - "
            "coalesce((SELECT position FROM dispatch_cursor WHERE name = 'feed'), 0)",
        )
        unsent = await _scalar(engine, "SELECT count(*) FROM deliveries WHERE status <> 'sent'")
        total = await _scalar(engine, "SELECT count(*) FROM deliveries")
        if behind == 0 and unsent == 0 and len(receiver.processed) == total:
            break
        await asyncio.sleep(1.0)
    assert fleet.all_running()
    assert behind == 0
    assert unsent == 0


async def _check_live_equals_read_model(
    env: dict[str, str], engine: AsyncEngine, ids: list[str]
) -> None:
    settings = _settings(env)
    service = JourneyService(await connect(settings), settings.task_queue)
    queries = JourneyQueries(sessionmaker(engine))
    for journey_id in ids:
        state = await persist(functools.partial(service.state, journey_id))
        timeline = await queries.get_timeline(journey_id)
        assert timeline is not None, journey_id
        assert (timeline.summary.phase, timeline.summary.loc_code) == (state.phase, state.loc_code)
        assert timeline.summary.last_seq == state.seq
        assert {t.task_id for t in timeline.tasks if t.status == "open"} == {
            t.task_id for t in state.tasks if t.status == "open"
        }
        found = differences(state, timeline)
        assert not found, "\n".join([journey_id, *found])


# Rows stored twice under one natural key (their unique keys are derived from it).
TWICE_NOTIFIED = (
    "SELECT journey_id, seq, recipient, count(*) FROM notifications "
    "GROUP BY journey_id, seq, recipient HAVING count(*) > 1"
)
TWICE_DELIVERED = (
    "SELECT journey_id, seq, target, channel, count(*) FROM deliveries "
    "GROUP BY journey_id, seq, target, channel HAVING count(*) > 1"
)
HOOKS = "SELECT journey_id, seq, key, status FROM deliveries WHERE channel = 'webhook'"
DISCLOSED = (
    "SELECT journey_id, count(*) FROM audit_log WHERE action = 'disclosure' "
    "AND channel = 'webhook' GROUP BY journey_id"
)


async def _check_metrics(fleet: WorkerFleet) -> None:
    """Each worker process serves its own metrics on its own ports."""
    async with httpx.AsyncClient(timeout=10) as http:
        for app, sdk in fleet.metrics_ports:
            for port in (app, sdk):
                answer = await http.get(f"http://127.0.0.1:{port}/metrics")
                assert answer.status_code == 200, port


async def _rows(engine: AsyncEngine, sql: str) -> list[tuple[Any, ...]]:
    async with engine.connect() as conn:
        return [tuple(r) for r in await conn.execute(text(sql))]


async def _check_deliveries(env: dict[str, str], engine: AsyncEngine, receiver: Receiver) -> None:
    assert await _rows(engine, TWICE_NOTIFIED) == []
    assert await _rows(engine, TWICE_DELIVERED) == []
    events = await _rows(engine, "SELECT DISTINCT journey_id, seq FROM notifications")
    hooks = await _rows(engine, HOOKS)
    # Every feed event has exactly one webhook delivery, and each was sent.
    delivered = Counter((j, s) for j, s, *_ in hooks)
    missing, extra = Counter(events) - delivered, delivered - Counter(events)
    assert (dict(missing), dict(extra)) == ({}, {}), "(events without, deliveries beyond)"
    assert {status for *_, status in hooks} == {"sent"}
    disclosed = await _rows(engine, DISCLOSED)
    assert dict(disclosed) == dict(Counter(j for j, *_ in hooks))
    # The receiver processed each delivery once, every request signed.
    keys = [key for _, _, key, _ in hooks]
    assert sorted(receiver.processed) == sorted(keys)
    assert receiver.bad_signatures == 0
    # One delivery workflow per delivery, whichever dispatcher recorded it first.
    settings = _settings(env)
    client = await connect(settings)
    query = f"WorkflowType = 'DeliveryWorkflow' AND TaskQueue = '{settings.task_queue}'"
    runs: Counter[str] = Counter()
    for _ in range(30):  # visibility catches up within moments
        runs = Counter([w.id async for w in client.list_workflows(query)])
        if sum(runs.values()) >= len(keys):
            break
        await asyncio.sleep(1.0)
    assert runs == Counter(delivery_workflow_id(k) for k in keys)
    # A repeat is another of Temporal's attempts of the same delivery (a send cut short by a
    # kill, or still running on a starved worker when its attempt timed out): never more
    # copies than attempts in the delivery's history. A second sender would add copies only.
    copies = Counter(e["key"] for e in receiver.received)
    repeated = {k: n for k, n in copies.items() if n > 1}
    attempts = {k: await _attempts(client, k) for k in repeated}
    assert {k: (n, attempts[k]) for k, n in repeated.items() if n > attempts[k]} == {}
    print(f"{len(keys)} webhook deliveries, {len(repeated)} sent again after a cut attempt")


async def _attempts(client: Client, key: str) -> int:
    """How many times Temporal ran the delivery's send activities (every attempt of each)."""
    history = await client.get_workflow_handle(delivery_workflow_id(key)).fetch_history()
    return sum(
        e.activity_task_started_event_attributes.attempt
        for e in history.events
        if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED
    )
