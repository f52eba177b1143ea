"""The ``workers`` phase: admission with one worker process, then with several on one queue.

Each size gets its own task queue and a fresh read model, and ``python worker.py`` processes
as in production (BENCH_WORKERS of them, 3 by default, against 1). Admissions (start,
comprehensive assessment, decision; each command answers after its projection is written)
run BENCH_WORKERS_ADMISSIONS per round, BENCH_WORKERS_CONCURRENCY in flight, after a warm-up
that reaches every process. Command-to-feed is timed on every admission's decision: from
sending it until its notification row is read back from the read model.

It imports nothing from ``bench.run`` (which imports it): the read model and the workers'
environment come in as functions.
"""

import asyncio
import contextlib
import os
import socket
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select

from bench.feed import feed_row_visible
from bench.stats import percentile, spread
from clinical.policy_loader import load_policy
from models.care import CareTeam, CareTeamMember, Role
from models.clinical import AssessmentKind
from models.commands import DecideTransition, RecordAssessment, StartJourney
from readmodel.db import create_engine, sessionmaker
from readmodel.tables import NotificationRow
from runtime.client import connect
from runtime.devserver import EmbeddedTemporal
from runtime.settings import Settings
from service.journeys import JourneyService

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

    from bench.run import Results

ROOT = Path(__file__).resolve().parents[1]
WORKERS = int(os.environ.get("BENCH_WORKERS", "3"))
ADMISSIONS = int(os.environ.get("BENCH_WORKERS_ADMISSIONS", "100"))
CONCURRENCY = int(os.environ.get("BENCH_WORKERS_CONCURRENCY", "30"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
WARMUP_PER_WORKER = 20
PHYSICIAN = "dr-ames"
TEAM = CareTeam(
    members=[
        CareTeamMember(member_id="th-chen", role=Role.THERAPIST, primary=True),
        CareTeamMember(member_id=PHYSICIAN, role=Role.PHYSICIAN),
        CareTeamMember(member_id="sv-gray", role=Role.SUPERVISOR),
    ]
)

ReadModel = Callable[[Path, str], Awaitable[str]]
WorkerEnv = Callable[[EmbeddedTemporal, Path, str, str], dict[str, str]]


@dataclass
class SizeResult:
    """What one number of worker processes measured."""

    workers: int
    jps: list[float] = field(default_factory=list)
    feed_ms: list[float] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """The figures the report prints."""
        return {"workers": self.workers, "jps": self.jps, "feed_ms": self.feed_ms}


@contextlib.contextmanager
def worker_processes(count: int, env: dict[str, str]) -> Iterator[list[int]]:
    """``count`` worker processes on the same queue; yields their pids, stops them after.

    Each serves its metrics on ports of its own, as several workers on one host must.
    """
    procs = [
        subprocess.Popen([sys.executable, "worker.py"], env={**env, **_metrics_ports()}, cwd=ROOT)
        for _ in range(count)
    ]
    try:
        yield [p.pid for p in procs]
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=60)


def _metrics_ports() -> dict[str, str]:
    ports = []
    for _ in range(2):
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            ports.append(str(sock.getsockname()[1]))
    return {"JOURNEYS_WORKER_METRICS_PORT": ports[0], "JOURNEYS_SDK_METRICS_PORT": ports[1]}


class Admissions:
    """Admits journeys and times each decision until its feed row is readable."""

    def __init__(
        self, service: JourneyService, sessions: "async_sessionmaker[AsyncSession]"
    ) -> None:
        self._service = service
        self._sessions = sessions
        self._policy = load_policy()

    async def admit(self, journey_id: str) -> float:
        """Start, comprehensive assessment, decision; returns the decision-to-feed ms."""
        start = StartJourney(journey_id=journey_id, care_team=TEAM, started_by="ops-1",
                             policy=self._policy)  # fmt: skip
        await self._service.start(start)
        assessed = await self._service.send(journey_id, RecordAssessment(
            assessment_id=f"{journey_id}.A1", kind=AssessmentKind.COMPREHENSIVE,
            dimensions={f"d{i}": 2 if i == 4 else 0 for i in range(1, 7)},
            assessed_by="th-chen",
        ))  # fmt: skip
        sent = time.perf_counter()
        decided = await self._service.send(journey_id, DecideTransition(
            reassessment_id=assessed.reassessment_id, decided_by=PHYSICIAN, accept=True,
        ))  # fmt: skip
        await feed_row_visible(self._sessions, journey_id, decided.seq)
        return (time.perf_counter() - sent) * 1000

    async def admitted(self, ids: list[str]) -> int:
        """How many of these journeys have their ``phase_changed`` feed rows."""
        async with self._sessions() as session:
            count = await session.scalar(
                select(func.count(func.distinct(NotificationRow.journey_id))).where(
                    NotificationRow.journey_id.in_(ids), NotificationRow.kind == "phase_changed"
                )
            )
        return int(count or 0)


async def _rounds(admissions: Admissions, workers: int, tag: str) -> SizeResult:
    """A warm-up reaching every process, then the timed rounds."""
    result = SizeResult(workers)
    gate = asyncio.Semaphore(CONCURRENCY)

    async def one(journey_id: str, times: list[float] | None) -> None:
        async with gate:
            took = await admissions.admit(journey_id)
        if times is not None:
            times.append(took)

    warm = [f"J-WRK{tag}W{i}" for i in range(WARMUP_PER_WORKER * workers)]
    await asyncio.gather(*(one(j, None) for j in warm))
    for r in range(ROUNDS):
        ids = [f"J-WRK{tag}R{r}X{i}" for i in range(ADMISSIONS)]
        started = time.perf_counter()
        await asyncio.gather(*(one(j, result.feed_ms) for j in ids))
        elapsed = time.perf_counter() - started
        found = await admissions.admitted(ids)
        assert found == ADMISSIONS, f"feed rows for {found} of {ADMISSIONS} admissions"
        result.jps.append(ADMISSIONS / elapsed)
        print(f"[bench {time.strftime('%H:%M:%S')}] {workers} worker(s), round {r + 1}: "
              f"{ADMISSIONS / elapsed:.1f} journeys/s", flush=True)  # fmt: skip
    return result


async def measure_workers(
    server: EmbeddedTemporal,
    directory: Path,
    results: "Results",
    read_model: ReadModel,
    worker_env: WorkerEnv,
) -> None:
    """Admission throughput and command-to-feed with 1 and with BENCH_WORKERS processes."""
    client = await connect(Settings(temporal_address=server.address, data_dir=directory))
    sizes = []
    for count in sorted({1, WORKERS}):
        tag = uuid.uuid4().hex[:6].upper()
        url = await read_model(directory, f"workers{count}")
        queue = f"bench-workers{count}-{tag.lower()}"
        engine = create_engine(url)
        admissions = Admissions(JourneyService(client, queue), sessionmaker(engine))
        try:
            with worker_processes(count, worker_env(server, directory, url, queue)):
                sizes.append(await _rounds(admissions, count, tag))
        finally:
            await engine.dispose()
    results.workers = {"concurrency": CONCURRENCY, "admissions": ADMISSIONS,
                       "sizes": [s.as_dict() for s in sizes]}  # fmt: skip


def report_lines(r: "Results") -> list[str]:
    """The report's section on several worker processes (nothing when not measured)."""
    sizes = r.workers.get("sizes", [])
    if not sizes:
        return []
    one = statistics.median(sizes[0]["jps"]) if sizes[0]["jps"] else 0.0
    lines = [
        "",
        "## Several workers",
        "",
        "Admission (start + assessment + decision + feed rows) with 1 and with several",
        "`python worker.py` processes on one task queue, each size with a fresh",
        f"{r.database} read model,",
        f"{r.workers['concurrency']} admissions in flight, {r.workers['admissions']} per round",
        "after a warm-up of 20 per process. Command-to-feed: each admission's decision, from",
        "sending it until its notification row is read back, under that load.",
        "",
        "| worker processes | journeys/s | against 1 process | command-to-feed p50 / p95 / p99 |",
        "|---|---|---|---|",
    ]
    for s in sizes:
        jps, ms = s["jps"], s["feed_ms"]
        ratio = statistics.median(jps) / one if jps and one else 0.0
        lines.append(
            f"| {s['workers']} | {spread(jps)} | {ratio:.2f} | "
            f"{percentile(ms, 50):.1f} / {percentile(ms, 95):.1f} / {percentile(ms, 99):.1f} ms |"
        )
    return lines
