"""Support for the several-workers test: worker processes killed at random, journeys driven
through every phase by staff commands, and a sampler of the read model's per-journey sequence."""

import asyncio
import contextlib
import os
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import (
    Client,
    WorkflowQueryFailedError,
    WorkflowUpdateRPCTimeoutOrCancelledError,
)
from temporalio.service import RPCError

from clinical.journal import open_work, urgent_open_work
from clinical.schedule import check_in_window_opens
from models.care import CareTeam, CareTeamMember, Role
from models.clinical import AssessmentKind
from models.commands import (
    CommandResult,
    CompleteTask,
    DecideTransition,
    Discharge,
    RecordAssessment,
    RecordCheckIn,
    ReportEvent,
    RequestReassessment,
    StaffCommand,
    StartJourney,
    WorkDisposition,
)
from models.journey import DischargeReason, Phase
from models.policy import ClinicalEventKind, Policy
from models.state import JourneyState
from service.journeys import CommandRejectedError, JourneyService, JourneyUnavailableError
from tests.integration.test_cli_journey import ROOT
from tests.portpick import free_port
from workflows.temporal_policy import journey_workflow_id

T = TypeVar("T")
PRIMARY = "th-chen"
PHYSICIAN = "dr-ames"  # decides every reassessment (withdrawal management needs a physician)
TEAM = CareTeam(
    members=[
        CareTeamMember(member_id=PRIMARY, role=Role.THERAPIST, primary=True),
        CareTeamMember(member_id=PHYSICIAN, role=Role.PHYSICIAN),
        CareTeamMember(member_id="rn-baker", role=Role.NURSE),
        CareTeamMember(member_id="cm-diaz", role=Role.CASE_MANAGER),
        CareTeamMember(member_id="sv-gray", role=Role.SUPERVISOR),
    ]
)
# The reviews of a full journey after withdrawal management: treatment at 3.5, stepped down
# to 2.1 and 1, then aftercare (the ratings the benchmark's standard journey uses).
REVIEWS: list[dict[str, int]] = [{"d5": 3, "d6": 3}, {"d4": 2, "d5": 2}, {"d5": 1}, {}]


class WorkerFleet:
    """``python worker.py`` processes on one task queue, killed and restarted at random.

    A worker counts as up once it has logged ``worker.started`` (connected, read model open,
    about to poll). The chaos kills only workers that are up, and only while another one is up
    too: on a starved machine a worker can take longer to start than the time between kills.
    """

    def __init__(self, env: dict[str, str], count: int, logs: Path, seed: int) -> None:
        self.env = {**env, "JOURNEYS_LOG_LEVEL": "info"}  # for ``worker.started``
        self.logs = logs
        self.procs: list[subprocess.Popen[bytes] | None] = [None] * count
        self.offsets = [0] * count  # where each worker's current run starts in its log
        self.kills = 0
        self.killed_codes: list[int] = []
        self.random = random.Random(seed)
        # Metrics are served per process: each worker gets ports of its own (kept across its
        # restarts), as several workers on one host must.
        self.metrics_ports = [(free_port(), free_port()) for _ in range(count)]

    def _log(self, i: int) -> Path:
        return self.logs / f"worker-{i}.log"

    def start(self, i: int) -> None:
        """Start worker ``i`` (its output appended to its own log file)."""
        log_path = self._log(i)
        self.offsets[i] = log_path.stat().st_size if log_path.exists() else 0
        app, sdk = self.metrics_ports[i]
        env = {**self.env, "JOURNEYS_WORKER_METRICS_PORT": str(app),
               "JOURNEYS_SDK_METRICS_PORT": str(sdk)}  # fmt: skip
        with log_path.open("ab") as log:
            self.procs[i] = subprocess.Popen(
                [sys.executable, "worker.py"], env=env, cwd=ROOT, stdout=log, stderr=log
            )

    def start_all(self) -> None:
        """Start every worker."""
        for i in range(len(self.procs)):
            self.start(i)

    def up(self, i: int) -> bool:
        """Whether worker ``i`` runs and has logged ``worker.started`` since it was started."""
        proc = self.procs[i]
        if proc is None or proc.poll() is not None:
            return False
        with self._log(i).open("rb") as log:
            log.seek(self.offsets[i])
            return b'"worker.started"' in log.read()

    async def wait_all_up(self, seconds: float = 180) -> None:
        """Wait (bounded) until every worker is up."""
        deadline = time.monotonic() + seconds
        while not all(self.up(i) for i in range(len(self.procs))):
            assert time.monotonic() < deadline, "workers did not start"
            await asyncio.sleep(0.5)

    async def kill(self, i: int) -> None:
        """SIGKILL worker ``i`` and reap it."""
        proc = self.procs[i]
        assert proc is not None
        proc.kill()
        self.killed_codes.append(await asyncio.to_thread(proc.wait, 30))
        self.kills += 1

    async def chaos(
        self, stop: asyncio.Event, progress: Callable[[], int], every: tuple[int, int], most: int
    ) -> None:
        """Until ``stop``: each time ``progress()`` (commands sent) has gone a random
        ``every`` further, kill a random worker that is up (while another is up too), and
        restart it a moment later. Kills follow the journeys' progress, not the clock, so a
        fast machine sees as many as a slow one."""
        due = progress() + self.random.randint(*every)
        while not stop.is_set() and self.kills < most:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 0.1)
                return
            if progress() < due:
                continue
            up = [i for i in range(len(self.procs)) if self.up(i)]  # reads each worker's log
            if len(up) < 2:
                continue
            i = self.random.choice(up)
            await self.kill(i)
            await asyncio.sleep(self.random.uniform(0.2, 1.5))
            self.start(i)
            due = progress() + self.random.randint(*every)

    def all_running(self) -> bool:
        """Whether every worker process is alive."""
        return all(p is not None and p.poll() is None for p in self.procs)

    def stop_all(self) -> None:
        """Kill every worker still running (the end of the test)."""
        for proc in self.procs:
            if proc is not None and proc.poll() is None:
                proc.kill()
                proc.wait(timeout=30)


async def persist(call: Callable[[], Awaitable[T]], seconds: float = 240) -> T:
    """A call to Temporal, made again while the call itself fails: its worker was killed, or
    the journey's workflow task timed out on a starved worker and waits for its retry.

    A journey's refusal (``CommandRejectedError``) is an answer, not a failure: it is raised.
    A read the journey cannot answer while it moves to another worker
    (``JourneyUnavailableError``) is asked again.
    """
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            return await call()
        except (RPCError, WorkflowUpdateRPCTimeoutOrCancelledError, JourneyUnavailableError):
            await asyncio.sleep(1.0)
    return await call()


@dataclass
class Driver:
    """Drives journeys by staff commands, each sent under an idempotency key (a retry of a
    command whose answer was lost returns the first answer instead of applying it twice)."""

    service: JourneyService
    policy: Policy
    client: Client  # the service's, for a journey's history
    commands: int = 0

    async def send(self, journey_id: str, cmd: StaffCommand, key: str) -> CommandResult:
        """One command, retried under its key while the call fails."""
        self.commands += 1
        return await persist(lambda: self.service.send(journey_id, cmd, f"{journey_id}:{key}"))

    async def state(self, journey_id: str) -> JourneyState:
        """The live state (the workflow query).

        A query that fails in the workflow (a replay that does not match its history) saves
        the journey's history under ``$JOURNEYS_TEST_HISTORY_DIR`` (else the temporary
        directory) for ``Replayer``, and names the file in the error.
        """
        try:
            return await persist(lambda: self.service.state(journey_id))
        except WorkflowQueryFailedError as failed:
            saved = await self._save_history(journey_id)
            raise AssertionError(f"{failed} (history saved to {saved})") from failed

    async def _save_history(self, journey_id: str) -> Path:
        folder = Path(os.environ.get("JOURNEYS_TEST_HISTORY_DIR", tempfile.gettempdir()))
        handle = self.client.get_workflow_handle(journey_workflow_id(journey_id))
        history = (await handle.fetch_history()).to_json()
        path = folder / f"{journey_workflow_id(journey_id)}.json"

        def write() -> None:
            folder.mkdir(parents=True, exist_ok=True)
            path.write_text(history)

        await asyncio.to_thread(write)
        return path

    async def admit(self, journey_id: str, **ratings: int) -> None:
        """Start, comprehensive assessment and the decision on it."""
        start = StartJourney(journey_id=journey_id, care_team=TEAM, started_by="ops-1",
                             policy=self.policy)  # fmt: skip
        await persist(lambda: self.service.start(start, retried=True))
        assessed = await self.send(
            journey_id, _assessment(journey_id, 0, AssessmentKind.COMPREHENSIVE, ratings), "a0"
        )
        assert assessed.reassessment_id is not None
        decide = DecideTransition(reassessment_id=assessed.reassessment_id,
                                  decided_by=PHYSICIAN, accept=True)  # fmt: skip
        await self.send(journey_id, decide, "d0")

    async def review(self, journey_id: str, n: int, ratings: dict[str, int]) -> None:
        """Open a reassessment (unless one is open), assess, accept the recommendation."""
        if (await self.state(journey_id)).active_reassessment is None:
            request = RequestReassessment(requested_by=PRIMARY, reason="scheduled review")
            await self.send(journey_id, request, f"r{n}")
        assessed = await self.send(
            journey_id, _assessment(journey_id, n, AssessmentKind.REASSESSMENT, ratings), f"a{n}"
        )
        decide = DecideTransition(reassessment_id=assessed.reassessment_id,
                                  decided_by=PHYSICIAN, accept=True)  # fmt: skip
        await self.send(journey_id, decide, f"d{n}")

    async def full(self, journey_id: str) -> None:
        """Intake, withdrawal management, treatment at changing levels, aftercare, completion."""
        await self.admit(journey_id, d1=3, d2=2)  # 3.7-WM
        for n, ratings in enumerate(REVIEWS, start=1):
            await self.review(journey_id, n, ratings)
        await self.through_aftercare(journey_id)

    async def through_aftercare(self, journey_id: str, seconds: float = 120) -> None:
        """Record check-ins as their windows open and close open work until completion."""
        deadline = asyncio.get_running_loop().time() + seconds
        tries = 0
        while asyncio.get_running_loop().time() < deadline:
            state = await self.state(journey_id)
            if state.phase is not Phase.AFTERCARE:
                return
            tries += 1
            for item in open_work(state):
                await self._quietly(journey_id, CompleteTask(task_id=item, completed_by=PRIMARY),
                                    f"done:{item}")  # fmt: skip
            opens = state.aftercare and check_in_window_opens(state.policy, state.aftercare)
            if opens and opens <= datetime.now(UTC):
                # Each try has its own key: a refused one (the clocks differ) is not an answer.
                check_in = RecordCheckIn(recorded_by="cm-diaz")
                await self._quietly(journey_id, check_in, f"ci{tries}")
            await asyncio.sleep(1.0)

    async def discharged(self, journey_id: str) -> None:
        """Admission to treatment, a step up after a review, a relapse, then a discharge."""
        await self.admit(journey_id, d4=2, d5=2)
        await self.review(journey_id, 1, {"d5": 3, "d6": 3})
        await self.send(journey_id, ReportEvent(kind=ClinicalEventKind.RELAPSE,
                                                reported_by=PRIMARY), "relapse")  # fmt: skip
        state = await self.state(journey_id)
        handed = [WorkDisposition(item_id=i, hand_to=PHYSICIAN) for i in urgent_open_work(state)]
        discharge = Discharge(discharged_by=PRIMARY, reason=DischargeReason.ADMINISTRATIVE,
                              dispositions=handed)  # fmt: skip
        await self.send(journey_id, discharge, "discharge")

    async def _quietly(self, journey_id: str, cmd: StaffCommand, key: str) -> None:
        with contextlib.suppress(CommandRejectedError):  # not due yet, or already done
            await self.send(journey_id, cmd, key)


def _assessment(
    journey_id: str, n: int, kind: AssessmentKind, ratings: dict[str, int]
) -> RecordAssessment:
    dims = {f"d{i}": ratings.get(f"d{i}", 0) for i in range(1, 7)}
    return RecordAssessment(
        assessment_id=f"{journey_id}.A{n}", kind=kind, dimensions=dims, assessed_by=PRIMARY
    )


@dataclass
class SequenceSampler:
    """Samples each journey's stored sequence and event count; notes any that went down."""

    engine: AsyncEngine
    samples: int = 0
    seen: dict[str, tuple[int, int]] = field(default_factory=dict)
    backwards: list[str] = field(default_factory=list)

    async def run(self, stop: asyncio.Event, interval: float = 0.2) -> None:
        """Sample until ``stop`` is set (and once more after)."""
        while True:
            await self.sample()
            if stop.is_set():
                return
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), interval)

    async def sample(self) -> None:
        """One reading of every journey's sequence and event count."""
        query = text(
            "SELECT j.journey_id, j.last_seq, (SELECT count(*) FROM journey_events e "
            "WHERE e.journey_id = j.journey_id) FROM journeys j"
        )
        async with self.engine.connect() as conn:
            rows: list[Any] = list(await conn.execute(query))
        self.samples += 1
        for journey_id, seq, events in rows:
            before = self.seen.get(journey_id, (0, 0))
            if seq < before[0] or events < before[1]:
                self.backwards.append(f"{journey_id}: {before} -> {(seq, events)}")
            self.seen[journey_id] = (max(seq, before[0]), max(events, before[1]))
