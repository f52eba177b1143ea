"""Record a journey whose fired wake-up timer reached the workflow with a stale clock.

Run ``.venv/bin/python -m tests.histories.record_stale_clock NAME``: a journey in aftercare (a
deadline seconds away) on worker A, which is killed (SIGKILL) right after; worker B starts and
a query is sent. The query waits on A's sticky queue, then goes to B, which does not hold the
journey: B replays the history with the timer that fired meanwhile and the clock of the
workflow task before it, and keeps the journey. When A's workflow task times out, B takes it
and sends what the workflow decided then. It writes ``NAME.json`` and prints the events around
the fired timer.
"""

import asyncio
import contextlib
import signal
import subprocess
import sys
import tempfile
import uuid
from datetime import UTC, datetime
from pathlib import Path

import yaml
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment

from clinical.policy_loader import DEFAULT_POLICY_PATH, load_policy
from clinical.timers import next_deadline
from models.journey import Phase
from readmodel.db import create_engine, sessionmaker
from readmodel.migrate import migrate
from runtime.search_attributes import ALL_KEYS
from service.journeys import JourneyService
from tests.builders import start_command
from tests.conftest import encrypted_converter
from tests.workflows.driver import JourneyDriver
from worker import create_worker
from workflows.temporal_policy import journey_workflow_id

HERE = Path(__file__).parent
ROOT = HERE.parents[1]
JOURNEY = "J-STALE-CLOCK"
QUERIES = 20  # one a second: past A's sticky timeout (10 s) and B's task


async def run_worker(address: str, queue: str, url: str) -> None:
    """A worker process (``--worker ADDRESS QUEUE URL``) until it is killed; it prints
    ``worker.started`` once it polls."""
    client = await Client.connect(address, data_converter=encrypted_converter())
    async with create_worker(client, queue, sessionmaker(create_engine(url))):
        print("worker.started", flush=True)
        await asyncio.Event().wait()


def spawn_worker(address: str, queue: str, url: str, log: Path) -> "subprocess.Popen[bytes]":
    args = [sys.executable, "-m", "tests.histories.record_stale_clock", "--worker"]
    with log.open("ab") as out:
        return subprocess.Popen([*args, address, queue, url], cwd=ROOT, stdout=out, stderr=out)


def quick_aftercare(tmp: Path) -> Path:
    data = yaml.safe_load(DEFAULT_POLICY_PATH.read_text())
    data["version"] = "stale-clock"
    data["aftercare"].update(check_ins=["PT4S", "PT8S"], grace="PT2S", duration="PT8S")
    data["aftercare"].pop("reassess_after_missed", None)
    (tmp / "policy.yaml").write_text(yaml.safe_dump(data))
    return tmp / "policy.yaml"


async def in_aftercare(
    env: WorkflowEnvironment, queue: str, journey_id: str, tmp: Path
) -> tuple[JourneyService, datetime | None]:
    """Start the journey on ``queue`` under ``quick_aftercare`` and bring it to aftercare;
    returns the service and the journey's next deadline (seconds away)."""
    service = JourneyService(env.client, queue)
    await service.start(start_command(journey_id, load_policy(quick_aftercare(tmp))))
    j = JourneyDriver(env, service, journey_id)
    await j.place(Phase.TREATMENT, "1")
    await j.place(Phase.AFTERCARE, None)
    return service, next_deadline(await j.state())


async def _drive(env: WorkflowEnvironment, tmp: Path, url: str) -> str:
    address = env.client.service_client.config.target_host
    queue = f"stale-{uuid.uuid4().hex[:8]}"
    a = spawn_worker(address, queue, url, tmp / "a.log")
    await asyncio.sleep(4)  # A polls
    service, deadline = await in_aftercare(env, queue, JOURNEY, tmp)
    a.send_signal(signal.SIGKILL)
    a.wait()
    print("A killed at", datetime.now(UTC), "next deadline", deadline)
    b = spawn_worker(address, queue, url, tmp / "b.log")
    try:
        for _ in range(QUERIES):
            await asyncio.sleep(1)
            with contextlib.suppress(RPCError):  # B not polling yet
                await service.state(JOURNEY)
        history = await env.client.get_workflow_handle(journey_workflow_id(JOURNEY)).fetch_history()
    finally:
        b.send_signal(signal.SIGKILL)
        b.wait()
    for e in history.events[-16:]:
        print(e.event_id, e.event_time.ToDatetime().time(), EventType.Name(e.event_type))
    return history.to_json()


async def main() -> str:
    """Drive the journey against a fresh dev server; returns its history as JSON."""
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=str(Path(sys.executable).parent / "temporal"),
        data_converter=encrypted_converter(),
        search_attributes=list(ALL_KEYS),
    )
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        url = f"sqlite+aiosqlite:///{tmp}/history.db"
        await migrate(url)
        try:
            return await _drive(env, tmp, url)
        finally:
            await env.shutdown()


if __name__ == "__main__":
    if sys.argv[1:2] == ["--worker"] and len(sys.argv) == 5:
        asyncio.run(run_worker(*sys.argv[2:5]))
    elif len(sys.argv) != 2 or (HERE / f"{sys.argv[1]}.json").exists():
        sys.exit("usage: python -m tests.histories.record_stale_clock NAME (not recorded yet)")
    else:
        out = HERE / f"{sys.argv[1]}.json"
        out.write_text(asyncio.run(main()))
        print(f"wrote {out}")
