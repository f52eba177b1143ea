"""Run every measurement on the embedded dev server and write docs/benchmarks.md and .png.

``python -m bench.run`` (what ``make bench`` runs). Sizes come from the environment so a quick
run is possible: BENCH_ROUNDS (3 rounds of throughput and of latency, each round comparing the
journeys with its own baseline or floor), BENCH_BASELINE (200), BENCH_ADMISSIONS (150),
BENCH_FLOOR (300 updates of the latency floor per round), BENCH_COMMANDS (1000 decisions in
all, split between the rounds), BENCH_RATE (5
decisions per second; each decision also needs a request and an assessment), BENCH_JOURNEYS
(10000), BENCH_REQUESTS (400).
Every loop is bounded in count, and the scale phase also in time (BENCH_SCALE_SECONDS, 600).
BENCH_PHASES picks some of the phases by name (comma-separated; see PHASES). BENCH_POSTGRES_URL
puts the read models on PostgreSQL (throwaway databases, dropped at the end). BENCH_WORKERS and
its siblings size the ``workers`` phase (bench/workers.py). BENCH_DOCS writes the report into
another directory (a partial run then leaves docs/ alone). BENCH_READ_JOURNEYS (100000) sizes
the read model phase (bench/readscale.py), BENCH_READ_SAMPLE (100) of them written batch by batch.
"""

import asyncio
import contextlib
import functools
import json
import os
import platform
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import structlog
from sqlalchemy import func, make_url, select
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from bench import readscale
from bench.baseline import NoopWorkflow, UpdateFloorWorkflow
from bench.feed import feed_row_visible
from bench.report import write_report
from bench.stats import percentile
from bench.workers import measure_workers
from clinical.policy_loader import load_policy
from models.care import CareTeam, CareTeamMember, Role
from models.clinical import AssessmentKind
from models.commands import (
    CompleteTask,
    DecideTransition,
    RecordAssessment,
    RecordCheckIn,
    RecordInstrument,
    RequestReassessment,
    StartJourney,
)
from models.journey import Phase
from models.staff import StaffRole
from models.state import JourneyState
from models.work import TaskKind, TaskStatus
from readmodel.access import AccessRepository
from readmodel.db import async_url, create_engine, sessionmaker
from readmodel.migrate import migrate
from readmodel.queries import JourneyQueries
from readmodel.tables import NotificationRow
from runtime.client import codec_from_settings, connect, data_converter
from runtime.devserver import EmbeddedTemporal, time_skipping_server_binary
from runtime.log import configure_logging
from runtime.search_attributes import register
from runtime.settings import Settings, get_settings
from service.journeys import JourneyService
from worker import create_worker
from workflows.temporal_policy import journey_workflow_id

ROOT = Path(__file__).resolve().parents[1]
DOCS = Path(os.environ.get("BENCH_DOCS", ROOT / "docs"))
log = structlog.get_logger(__name__)


def _env(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


ROUNDS = _env("BENCH_ROUNDS", 3)
BASELINE = _env("BENCH_BASELINE", 200)
ADMISSIONS = _env("BENCH_ADMISSIONS", 150)
COMMANDS = _env("BENCH_COMMANDS", 1000)
FLOOR = _env("BENCH_FLOOR", 300)
WARMUP = 20  # workflows / admissions before the measured rounds (imports, caches), not counted
RATE = _env("BENCH_RATE", 5)
JOURNEYS = _env("BENCH_JOURNEYS", 10_000)
REQUESTS = _env("BENCH_REQUESTS", 400)
SCALE_SECONDS = _env("BENCH_SCALE_SECONDS", 600)
# After the scale run, how long the API load waits for the worker to take in what was started.
DRAIN_SECONDS = _env("BENCH_DRAIN_SECONDS", 300)
READ_JOURNEYS = _env("BENCH_READ_JOURNEYS", 100_000)
READ_SAMPLE = _env("BENCH_READ_SAMPLE", 100)
# A PostgreSQL server URL (e.g. postgresql://postgres@127.0.0.1:5432/postgres): the read models
# are then throwaway databases made there, not SQLite files.
POSTGRES = os.environ.get("BENCH_POSTGRES_URL", "")
PHASES = (
    "throughput",
    "latency",
    "workers",
    "scale and api",
    "cost",
    readscale.PHASE,
)
# A comma-separated subset of PHASES (default: all of them).
CHOSEN = [p.strip() for p in os.environ.get("BENCH_PHASES", ",".join(PHASES)).split(",")]
CONCURRENCY = 20
PRIMARY = "th-chen"
# Decides every reassessment: withdrawal management is a physician's or a nurse's decision.
PHYSICIAN = "dr-ames"
TEAM = CareTeam(
    members=[
        CareTeamMember(member_id=PRIMARY, role=Role.THERAPIST, primary=True),
        CareTeamMember(member_id=PHYSICIAN, role=Role.PHYSICIAN),
        CareTeamMember(member_id="rn-baker", role=Role.NURSE),
        CareTeamMember(member_id="cm-diaz", role=Role.CASE_MANAGER),
        CareTeamMember(member_id="sv-gray", role=Role.SUPERVISOR),
    ]
)
POLICY = load_policy()


@dataclass
class Results:
    """Everything measured, for the report."""

    started: str = ""
    machine: str = ""
    command: str = "make bench"
    database: str = "SQLite"
    cache_size: int = 0
    baseline_wps: list[float] = field(default_factory=list)
    admission_jps: list[float] = field(default_factory=list)
    latencies_ms: list[float] = field(default_factory=list)
    floor_ms: list[float] = field(default_factory=list)
    # Round by round: the floor's and the decisions' latencies (ms), compared within a round.
    floor_rounds: list[list[float]] = field(default_factory=list)
    latency_rounds: list[list[float]] = field(default_factory=list)
    latency_rate: float = 0.0
    cost: dict[str, Any] = field(default_factory=dict)
    scale: list[dict[str, Any]] = field(default_factory=list)
    api: dict[str, dict[str, float]] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    failures: dict[str, str] = field(default_factory=dict)
    workers: dict[str, Any] = field(default_factory=dict)
    read_scale: dict[str, Any] = field(default_factory=dict)


def _progress(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", flush=True)


async def _bounded(count: int, limit: int, one: Callable[[int], Awaitable[None]]) -> float:
    """Run ``one(i)`` for i < count with at most ``limit`` in flight; seconds taken."""
    gate = asyncio.Semaphore(limit)

    async def guarded(i: int) -> None:
        async with gate:
            await one(i)

    started = time.perf_counter()
    await asyncio.gather(*(guarded(i) for i in range(count)))
    return time.perf_counter() - started


def _start(journey_id: str) -> StartJourney:
    return StartJourney(journey_id=journey_id, care_team=TEAM, started_by="ops-1", policy=POLICY)


def _assessment(journey_id: str, n: int, kind: AssessmentKind, **ratings: int) -> RecordAssessment:
    dims = {f"d{i}": ratings.get(f"d{i}", 0) for i in range(1, 7)}
    return RecordAssessment(
        assessment_id=f"{journey_id}.A{n}", kind=kind, dimensions=dims, assessed_by=PRIMARY
    )


async def _admit(service: JourneyService, journey_id: str) -> None:
    """Start, initial assessment, decision (each answers after its projection is written)."""
    await service.start(_start(journey_id))
    result = await service.send(
        journey_id, _assessment(journey_id, 1, AssessmentKind.COMPREHENSIVE, d4=2)
    )
    assert result.reassessment_id is not None
    await service.send(
        journey_id,
        DecideTransition(reassessment_id=result.reassessment_id, decided_by=PHYSICIAN, accept=True),
    )


async def _baseline_round(client: Client, queue: str, tag: str, count: int) -> float:
    """Bare workflows (one no-op activity each) per second, ``count`` of them."""

    async def one(i: int) -> None:
        await client.execute_workflow(
            NoopWorkflow.run, id=f"bench-noop-{tag}-{i}-{uuid.uuid4().hex[:6]}", task_queue=queue
        )

    return count / await _bounded(count, CONCURRENCY, one)


async def _admission_round(
    service: JourneyService, queries: JourneyQueries, tag: str, count: int
) -> float:
    """Admissions per second (start, assessment, decision), their feed rows checked."""
    ids = [f"J-ADM{tag}X{i}" for i in range(count)]
    elapsed = await _bounded(count, CONCURRENCY, lambda i: _admit(service, ids[i]))
    async with queries.sessions() as session:
        rows = await session.scalar(
            select(func.count(func.distinct(NotificationRow.journey_id))).where(
                NotificationRow.journey_id.in_(ids),
                NotificationRow.kind == "phase_changed",
            )
        )
    assert rows == count, f"feed rows for {rows} of {count} admissions"
    return count / elapsed


async def measure_throughput(
    client: Client,
    queue: str,
    service: JourneyService,
    queries: JourneyQueries,
    results: Results,
) -> None:
    """The baseline and admission, round by round (BENCH_ROUNDS), both workers running.

    Each round's admission is compared with the same round's baseline, so a machine that gets
    busier or quieter during the run moves both; the order alternates between rounds.
    """
    await _baseline_round(client, queue, "warm", WARMUP)
    await _admission_round(service, queries, "WARM", WARMUP)
    for r in range(ROUNDS):
        order = ("baseline", "admission") if r % 2 == 0 else ("admission", "baseline")
        for name in order:
            if name == "baseline":
                results.baseline_wps.append(await _baseline_round(client, queue, str(r), BASELINE))
            else:
                results.admission_jps.append(
                    await _admission_round(service, queries, str(r), ADMISSIONS)
                )
        ratio = results.admission_jps[-1] / results.baseline_wps[-1]
        _progress(
            f"round {r + 1}: baseline {results.baseline_wps[-1]:.1f} workflows/s, admission "
            f"{results.admission_jps[-1]:.1f} journeys/s ({ratio:.2f})"
        )


async def _floor_round(handle: Any, first: int, count: int) -> list[float]:
    """Latencies (ms) of ``count`` floor updates, sent at the latency phase's command rate."""
    interval = 1 / (RATE * 3)
    out: list[float] = []
    for n in range(first, first + count):
        due = time.perf_counter() + interval
        sent = time.perf_counter()
        assert await handle.execute_update(UpdateFloorWorkflow.write, n) == n
        out.append((time.perf_counter() - sent) * 1000)
        await asyncio.sleep(max(0.0, due - time.perf_counter()))
    return out


@dataclass
class _LatencyPool:
    """Journeys admitted once, each deciding in turn at RATE decisions per second overall."""

    service: JourneyService
    queries: JourneyQueries
    ids: list[str]
    assessments: Counter[str] = field(default_factory=Counter)

    async def round(self, count: int) -> list[float]:
        """Command-to-feed latencies (ms) of ``count`` decisions."""
        out: list[float] = []
        interval = len(self.ids) / RATE

        async def journey(i: int) -> None:
            await asyncio.sleep(i / RATE)
            while len(out) < count:
                due = time.perf_counter() + interval
                out.append(await self._decide(self.ids[i]))
                await asyncio.sleep(max(0.0, due - time.perf_counter()))

        await asyncio.gather(*(journey(i) for i in range(len(self.ids))))
        return out[:count]

    async def _decide(self, journey_id: str) -> float:
        """Request, assess, then time the decision until its notification row is readable."""
        self.assessments[journey_id] += 1
        n = self.assessments[journey_id] + 1
        await self.service.send(
            journey_id, RequestReassessment(requested_by=PRIMARY, reason="bench")
        )
        result = await self.service.send(
            journey_id, _assessment(journey_id, n, AssessmentKind.REASSESSMENT, d4=2)
        )
        assert result.reassessment_id is not None
        sent = time.perf_counter()
        decided = await self.service.send(
            journey_id,
            DecideTransition(
                reassessment_id=result.reassessment_id, decided_by=PHYSICIAN, accept=True
            ),
        )
        await feed_row_visible(self.queries.sessions, journey_id, decided.seq)
        return (time.perf_counter() - sent) * 1000


async def measure_latency(
    client: Client,
    queue: str,
    service: JourneyService,
    queries: JourneyQueries,
    results: Results,
) -> None:
    """The floor and command-to-feed, round by round (BENCH_ROUNDS), both workers running.

    A floor round (BENCH_FLOOR updates) and a latency round (BENCH_COMMANDS / BENCH_ROUNDS
    decisions) in turn, so each round's ratio compares figures taken minutes apart at most.
    """
    pool_size = min(100, max(1, COMMANDS // 10))
    pool = _LatencyPool(service, queries, [f"J-LAT{i}" for i in range(pool_size)])
    await _bounded(pool_size, CONCURRENCY, lambda i: _admit(service, pool.ids[i]))
    handle = await client.start_workflow(
        UpdateFloorWorkflow.run, id=f"bench-floor-{uuid.uuid4().hex[:6]}", task_queue=queue
    )
    await _floor_round(handle, -WARMUP, WARMUP)  # the warm-up's answers are not counted
    per_round = max(1, COMMANDS // ROUNDS)
    started = time.perf_counter()
    for r in range(ROUNDS):
        results.floor_rounds.append(await _floor_round(handle, r * FLOOR, FLOOR))
        results.latency_rounds.append(await pool.round(per_round))
        floor, lat = results.floor_rounds[-1], results.latency_rounds[-1]
        _progress(
            f"round {r + 1}: floor p50 {percentile(floor, 50):.1f} / p99 "
            f"{percentile(floor, 99):.1f} ms, command-to-feed p50 {percentile(lat, 50):.1f} / "
            f"p99 {percentile(lat, 99):.1f} ms"
        )
    results.latency_rate = per_round * ROUNDS / (time.perf_counter() - started)
    results.floor_ms = [x for one in results.floor_rounds for x in one]
    results.latencies_ms = [x for one in results.latency_rounds for x in one]
    await handle.signal(UpdateFloorWorkflow.finish)
    await handle.result()


_ACTIONS = {
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED: "starts",
    EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED: "activities",
    EventType.EVENT_TYPE_MARKER_RECORDED: "local activities",
    EventType.EVENT_TYPE_TIMER_STARTED: "timers",
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED: "signals",
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED: "updates",
    EventType.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES: "search attribute upserts",
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW: "continue-as-new",
}


class _CountingService(JourneyService):
    """Counts the queries the driver sends (they are billed but not in the history)."""

    queries = 0

    async def state(self, journey_id: str) -> JourneyState:
        _CountingService.queries += 1
        return await super().state(journey_id)


async def _review(service: JourneyService, journey_id: str, **ratings: int) -> None:
    """Assess the open reassessment with these ratings and accept its recommendation."""
    state = await service.state(journey_id)
    active = state.active_reassessment
    assert active is not None
    result = await service.send(
        journey_id, _assessment(journey_id, state.seq, AssessmentKind.REASSESSMENT, **ratings)
    )
    assert result.reassessment_id is not None
    await service.send(
        journey_id,
        DecideTransition(reassessment_id=result.reassessment_id, decided_by=PHYSICIAN, accept=True),
    )


async def _close_withdrawal_checks(service: JourneyService, journey_id: str) -> None:
    """The nurse closes the withdrawal checks still owed when the client leaves withdrawal
    management (open work holds completion: without this the journey would never end)."""
    state = await service.state(journey_id)
    for task in state.tasks:
        if task.kind is TaskKind.COLLECT_INSTRUMENT and task.status is TaskStatus.OPEN:
            await service.send(
                journey_id, CompleteTask(task_id=task.task_id, completed_by=PHYSICIAN)
            )


async def _fifteen_months(
    env: WorkflowEnvironment, service: JourneyService, journey_id: str, extra: int
) -> str:
    """The standard journey: 3.7-WM, 3.5, 2.1, 1, aftercare to completion, with ``extra``
    staff commands (instrument scores) during treatment."""
    review = functools.partial(_review, service, journey_id)
    await service.start(_start(journey_id))
    described = await env.client.get_workflow_handle(journey_workflow_id(journey_id)).describe()
    first_run = described.run_id
    first = await service.send(
        journey_id, _assessment(journey_id, 0, AssessmentKind.COMPREHENSIVE, d1=3, d2=2)
    )
    assert first.reassessment_id is not None
    await service.send(
        journey_id,
        DecideTransition(reassessment_id=first.reassessment_id, decided_by=PHYSICIAN, accept=True),
    )
    await env.sleep(timedelta(days=3, minutes=1))
    await review(d5=3, d6=3)
    await _close_withdrawal_checks(service, journey_id)
    for _ in range(4):
        await env.sleep(timedelta(days=7, minutes=1))
        await review(d5=3, d6=3)
    for _ in range(extra):
        await service.send(
            journey_id, RecordInstrument(code="GAD-7", answers=[0] * 7, recorded_by=PRIMARY)
        )
    await env.sleep(timedelta(days=7, minutes=1))
    await review(d4=2, d5=2)
    await env.sleep(timedelta(days=90, minutes=1))
    await review(d5=1)
    await env.sleep(timedelta(days=90, minutes=1))
    await review()
    elapsed = 0
    for offset in POLICY.aftercare.check_ins:
        await env.sleep(timedelta(days=offset.days - elapsed))
        elapsed = offset.days
        await service.send(journey_id, RecordCheckIn(recorded_by="cm-diaz"))
    await env.sleep(timedelta(days=10))
    handle = env.client.get_workflow_handle(
        journey_workflow_id(journey_id), result_type=JourneyState
    )
    final = await handle.result()
    assert final.phase is Phase.COMPLETED, final.phase
    return first_run


async def measure_cost(directory: Path, results: Results) -> None:
    """History events and billable actions of the standard journey, by staff commands."""
    codec = codec_from_settings(Settings(data_dir=directory))
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=str(time_skipping_server_binary()),
        data_converter=data_converter(codec),
    )
    try:
        await register(env.client)
        url = f"sqlite+aiosqlite:///{directory / 'cost.db'}"
        await migrate(url)
        engine = create_engine(url)
        queue = f"bench-cost-{uuid.uuid4().hex[:6]}"
        service = _CountingService(env.client, queue)
        runs = []
        async with create_worker(env.client, queue, sessionmaker(engine)):
            for extra in (0, 100, 300):
                _CountingService.queries = 0
                journey_id = f"J-COST{extra}"
                before = await readscale.table_sizes(engine)
                first_run = await _fifteen_months(env, service, journey_id, extra)
                runs.append(await _history_cost(env.client, journey_id, first_run, extra))
                after = await readscale.table_sizes(engine)
                runs[-1]["read_model"] = readscale.grown(before, after)
                _progress(f"cost with {extra} extra commands: {runs[-1]['events_total']} events")
        await engine.dispose()
        results.cost = {"runs": runs}
    finally:
        await env.shutdown()


async def _history_cost(
    client: Client, journey_id: str, first_run: str, extra: int
) -> dict[str, Any]:
    """Events of every run (following continue-as-new) and the billable actions among them."""
    runs_events: list[int] = []
    size = 0  # bytes of the history as stored (payloads encrypted)
    actions: Counter[str] = Counter()
    run_id: str | None = first_run
    while run_id:
        handle = client.get_workflow_handle(journey_workflow_id(journey_id), run_id=run_id)
        events = list((await handle.fetch_history()).events)
        runs_events.append(len(events))
        size += sum(event.ByteSize() for event in events)
        run_id = None
        for event in events:
            name = _ACTIONS.get(event.event_type)
            if name:
                actions[name] += 1
            if event.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW:
                run_id = (
                    event.workflow_execution_continued_as_new_event_attributes.new_execution_run_id
                )
    actions["queries"] = _CountingService.queries
    total = sum(actions.values())
    return {
        "extra_commands": extra,
        "events_per_run": runs_events,
        "events_total": sum(runs_events),
        "history_bytes": size,
        "actions": dict(actions),
        "actions_total": total,
        "actions_per_month": total / 15,
    }


_CREATED: list[str] = []  # PostgreSQL databases this run made, dropped at the end


async def _read_model(directory: Path, name: str) -> str:
    """A fresh, migrated read model: a SQLite file, or a new database on BENCH_POSTGRES_URL."""
    if not POSTGRES:
        url = f"sqlite+aiosqlite:///{directory / f'{name}.db'}"
    else:
        database = f"journeys_bench_{name}_{uuid.uuid4().hex[:8]}"
        admin = await asyncpg.connect(POSTGRES)
        try:
            await admin.execute(f'CREATE DATABASE "{database}"')
        finally:
            await admin.close()
        _CREATED.append(database)
        url = async_url(POSTGRES).set(database=database).render_as_string(hide_password=False)
    await migrate(url)
    return url


async def _drop_created() -> None:
    if not _CREATED:
        return
    admin = await asyncpg.connect(POSTGRES)
    try:
        for database in _CREATED:
            await admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
    finally:
        await admin.close()


def _rss_mib(pid: int) -> tuple[float, float]:
    """Resident and peak resident memory of a process, MiB (Linux)."""
    fields = dict(
        line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines()
    )
    return (int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024)


@contextlib.contextmanager
def _worker_process(argv: list[str], env: dict[str, str] | None = None) -> Iterator[int]:
    """A worker in its own process, as in production; yields its pid, stops it at the end.

    Nothing waits for it to be ready: the first workflow tasks (the warm-up) wait for it.
    """
    worker = subprocess.Popen([sys.executable, *argv], env=env, cwd=ROOT)
    try:
        yield worker.pid
    finally:
        worker.terminate()
        try:
            worker.wait(timeout=60)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait(timeout=60)


def _journeys_env(
    server: EmbeddedTemporal, directory: Path, url: str, queue: str
) -> dict[str, str]:
    """The environment of ``python worker.py`` (and ``journeys api``) for one phase."""
    return {
        **os.environ, "TEMPORAL_ADDRESS": server.address, "JOURNEYS_DATABASE_URL": url,
        "JOURNEYS_TASK_QUEUE": queue, "JOURNEYS_DATA_DIR": str(directory),
        "JOURNEYS_LOG_LEVEL": "warning", "JOURNEYS_LOG_FORMAT": "json",
    }  # fmt: skip


async def measure_scale_and_api(
    server: EmbeddedTemporal, directory: Path, results: Results
) -> None:
    """Open journeys with live timers held by a worker process; list times; API under load."""
    url = await _read_model(directory, "scale")
    queue = f"bench-scale-{uuid.uuid4().hex[:6]}"
    env = _journeys_env(server, directory, url, queue)
    engine = create_engine(url)
    sessions = sessionmaker(engine)
    queries = JourneyQueries(sessions)
    client = await connect(Settings(temporal_address=server.address, data_dir=directory))
    service = JourneyService(client, queue)
    # Before the load: SQLite takes one writer at a time, and the worker writes constantly.
    token = await AccessRepository(sessions).add_staff(f"ops-{uuid.uuid4().hex[:6]}",
                                                      StaffRole.OPERATIONS)  # fmt: skip
    try:
        with _worker_process(["worker.py"], env) as worker_pid:
            started = await _scale(service, queries, worker_pid, results)
            await _drained(queries, started)
            results.api = await _api_load(env, token, queries)
    finally:
        await engine.dispose()


async def _drained(queries: JourneyQueries, started: int) -> None:
    """Wait (at most DRAIN_SECONDS) until the worker has taken in every journey started, so
    the API is measured on a settled worker, not one still working through a backlog."""
    deadline = time.monotonic() + DRAIN_SECONDS
    while time.monotonic() < deadline:
        if await _open_count(queries) >= started:
            return
        await asyncio.sleep(1)


async def _scale(
    service: JourneyService, queries: JourneyQueries, worker_pid: int, results: Results
) -> int:
    """Start one journey, then up to 1,000, then JOURNEYS; measure at each step.

    Returns:
        How many journeys were started (the time bound may stop starts short of JOURNEYS).
    """
    deadline = time.monotonic() + SCALE_SECONDS
    created = starts = 0
    for target in sorted({1, min(1000, JOURNEYS), JOURNEYS}):  # 1: the worker before its cache
        batch = target - created
        started = time.perf_counter()

        async def one(i: int, base: int = created) -> None:
            nonlocal starts
            if time.monotonic() < deadline:
                await service.start(_start(f"J-SCALE{base + i}"))
                starts += 1

        await _bounded(batch, 50, one)
        created = target
        while time.monotonic() < deadline:  # until the worker has projected them all
            if await _open_count(queries) >= target:
                break
            await asyncio.sleep(0.5)
        taken_in = (await _open_count(queries)) - (target - batch)
        elapsed = time.perf_counter() - started
        rss, peak = _rss_mib(worker_pid)
        listed = await _list_times(queries)
        open_count = await _open_count(queries)
        results.scale.append({
            "journeys": open_count, "taken_in_per_s": taken_in / elapsed, "worker_rss_mib": rss,
            "worker_peak_mib": peak, **listed,
        })  # fmt: skip
        _progress(f"scale {open_count} open journeys ({taken_in / elapsed:.1f}/s taken in): "
                  f"worker {rss:.0f} MiB, filtered page p95 "
                  f"{listed['filtered_p95_ms']:.1f} ms")  # fmt: skip
    return starts


async def _open_count(queries: JourneyQueries) -> int:
    rows = await queries.counts_by_phase_and_loc()
    return sum(r.count for r in rows if r.phase.is_open)


async def _list_times(queries: JourneyQueries) -> dict[str, float]:
    plain, filtered = [], []
    for _ in range(200):
        started = time.perf_counter()
        await queries.list_journeys(limit=50)
        plain.append((time.perf_counter() - started) * 1000)
        started = time.perf_counter()
        await queries.list_journeys(phase=Phase.INTAKE, member=PRIMARY, limit=50, offset=100)
        filtered.append((time.perf_counter() - started) * 1000)
    return {
        "list_p95_ms": percentile(plain, 95),
        "filtered_p50_ms": percentile(filtered, 50),
        "filtered_p95_ms": percentile(filtered, 95),
    }


async def _api_load(
    env: dict[str, str], token: str, queries: JourneyQueries
) -> dict[str, dict[str, float]]:
    port = _free_port()
    api = subprocess.Popen(
        [str(Path(sys.executable).parent / "journeys"), "api"],
        env={**env, "JOURNEYS_API_PORT": str(port), "JOURNEYS_API_HOST": "127.0.0.1"},
        cwd=ROOT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        await _wait_http(base)
        some = (await queries.list_journeys(limit=1))[0].journey_id
        out: dict[str, dict[str, float]] = {}
        for name, path in (("board", "/board"), ("journey detail", f"/journeys/{some}")):
            done = await asyncio.to_thread(
                subprocess.run,
                [sys.executable, "-m", "bench.load", base, path, str(REQUESTS), "8"],
                cwd=ROOT, capture_output=True, text=True, timeout=600, check=True,
                env={**os.environ, "BENCH_LOAD_TOKEN": token},
            )  # fmt: skip
            out[name] = json.loads(done.stdout.strip().splitlines()[-1])
            _progress(f"api {name}: {out[name]['rps']:.1f} req/s, p95 {out[name]['p95_ms']:.1f} ms")
        return out
    finally:
        api.terminate()
        api.wait(timeout=60)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


async def _wait_http(base: str) -> None:
    async with httpx.AsyncClient() as http:
        for _ in range(300):  # bounded: 60 s
            try:
                if (await http.get(f"{base}/health")).status_code in (200, 503):
                    return
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.2)
    raise RuntimeError("the API did not start")


def _command() -> str:
    """How this run was started: make bench with the BENCH_* settings given (no passwords)."""
    given = {k: v for k, v in sorted(os.environ.items()) if k.startswith("BENCH_")}
    if "BENCH_POSTGRES_URL" in given:
        given["BENCH_POSTGRES_URL"] = make_url(POSTGRES).render_as_string(hide_password=True)
    return " ".join([*(f"{k}={v}" for k, v in given.items()), "make bench"])


async def main() -> None:
    """Run every measurement (or those BENCH_PHASES names) and write the report."""
    unknown = sorted(set(CHOSEN) - set(PHASES))
    if unknown:
        raise SystemExit(f"BENCH_PHASES: unknown {', '.join(unknown)}; choose from {PHASES}")
    # Per-projection info lines would be measured too; only warnings are printed.
    configure_logging(Settings(log_level="warning", log_format="json"))
    results = Results(
        started=time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        machine=f"{platform.system()} {platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}",
        command=_command(),
        database="PostgreSQL" if POSTGRES else "SQLite",
        cache_size=get_settings().worker_cache_size,
    )
    try:
        await _run(results)
    finally:
        await _drop_created()
    write_report(results, DOCS)
    _progress(f"wrote {DOCS / 'benchmarks.md'} and {DOCS / 'benchmarks.png'}")


async def _with_workers(
    workers: list[tuple[list[str], dict[str, str] | None]], work: Awaitable[None]
) -> None:
    """Do ``work`` while worker processes run (each ``(argv, environment)``)."""
    with contextlib.ExitStack() as stack:
        for argv, env in workers:
            stack.enter_context(_worker_process(argv, env))
        await work


async def _phase(name: str, step: Callable[[], Awaitable[None]], results: Results) -> None:
    """Run one phase, timed; a failing phase is recorded and the run goes on."""
    _progress(f"{name}...")
    started = time.perf_counter()
    try:
        await step()
    except Exception as exc:
        results.failures[name] = f"{type(exc).__name__}: {str(exc)[:200]}"
        _progress(f"{name} failed: {results.failures[name]}")
    results.seconds[name] = time.perf_counter() - started


async def _run(results: Results) -> None:
    with tempfile.TemporaryDirectory(prefix="journeys-bench-") as tmp:
        directory = Path(tmp)
        settings = Settings(data_dir=directory)
        async with EmbeddedTemporal(directory, _free_port(), _free_port()) as server:
            client = await connect(settings, address=server.address)
            url = await _read_model(directory, "journeys")
            engine = create_engine(url)
            sessions = sessionmaker(engine)
            queue = f"bench-{uuid.uuid4().hex[:6]}"
            queries = JourneyQueries(sessions)
            service = JourneyService(client, queue)
            base_queue = f"bench-base-{uuid.uuid4().hex[:6]}"
            baseline_worker = ["-m", "bench.baseline_worker", server.address, tmp, base_queue]
            journeys_env = _journeys_env(server, directory, url, queue)
            steps: list[tuple[str, Callable[[], Awaitable[None]]]] = [
                ("throughput", lambda: _with_workers(
                    [(baseline_worker, None), (["worker.py"], journeys_env)],
                    measure_throughput(client, base_queue, service, queries, results))),
                ("latency", lambda: _with_workers(
                    [(baseline_worker, None), (["worker.py"], journeys_env)],
                    measure_latency(client, base_queue, service, queries, results))),
                ("workers", lambda: measure_workers(server, directory, results, _read_model,
                                                    _journeys_env)),
                ("scale and api", lambda: measure_scale_and_api(server, directory, results)),
            ]  # fmt: skip
            for name, step in steps:
                if name in CHOSEN:
                    await _phase(name, step, results)
            await engine.dispose()
        if "cost" in CHOSEN:
            _progress("cost of a journey...")
            started = time.perf_counter()
            await measure_cost(directory, results)
            results.seconds["cost"] = time.perf_counter() - started
        if readscale.PHASE in CHOSEN:
            await _phase(readscale.PHASE, lambda: measure_read_scale(directory, results), results)


async def measure_read_scale(directory: Path, results: Results) -> None:
    """The read model at READ_JOURNEYS journeys, written by the projection (bench.readscale)."""
    url = await _read_model(directory, "readscale")
    results.read_scale = await readscale.measure(url, READ_JOURNEYS, READ_SAMPLE, _progress)


if __name__ == "__main__":
    asyncio.run(main())
    sys.stdout.flush()
    os._exit(0)  # the SDK can abort at interpreter exit (temporalio/sdk-python#300)
