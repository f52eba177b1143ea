"""``journeys setup`` prepares a fresh namespace; the worker refuses one that is not prepared.

A fresh cluster (``TEMPORAL_ADDRESS``) has none of the journeys' search attributes: without
them every journey's workflow task fails, over and over. The worker says so once and exits.
"""

import asyncio
import os
import signal
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from temporalio.testing import WorkflowEnvironment

from runtime.search_attributes import ALL_KEYS

BIN = Path(sys.executable).parent
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
async def bare_server() -> AsyncIterator[WorkflowEnvironment]:
    """A fresh dev server whose namespace has none of the journeys' search attributes."""
    env = await WorkflowEnvironment.start_local(dev_server_existing_path=str(BIN / "temporal"))
    yield env
    await env.shutdown()


@pytest.fixture
def environ(bare_server: WorkflowEnvironment, tmp_path: Path) -> dict[str, str]:
    """The processes' environment: that server, a data directory and a queue of their own."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JOURNEYS_", "TEMPORAL_"))}
    return env | {
        "TEMPORAL_ADDRESS": bare_server.client.service_client.config.target_host,
        "JOURNEYS_DATA_DIR": str(tmp_path),
        "JOURNEYS_TASK_QUEUE": f"setup-{uuid.uuid4().hex[:8]}",
        "JOURNEYS_LOG_FORMAT": "json",
    }


async def _spawn(environ: dict[str, str], *command: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        *command,
        env=environ,
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


async def _run(environ: dict[str, str], *command: str) -> tuple[int, str, str]:
    proc = await _spawn(environ, *command)
    out, err = await proc.communicate()
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


async def test_worker_refuses_a_namespace_without_the_search_attributes(
    environ: dict[str, str],
) -> None:
    code, _, err = await _run(environ, sys.executable, "worker.py")

    assert code == 2
    [line] = err.strip().splitlines()
    assert "journeys setup" in line
    for key in ALL_KEYS:
        assert key.name in line


async def test_setup_is_idempotent_and_the_worker_then_starts(
    environ: dict[str, str],
) -> None:
    journeys = str(BIN / "journeys")
    code, first, _ = await _run(environ, journeys, "setup")
    assert code == 0, first
    code, second, _ = await _run(environ, journeys, "setup")
    assert code == 0, second
    for key in ALL_KEYS:
        assert f"registered          {key.name}" in first
        assert f"already registered  {key.name}" in second
    assert "4 added" in first
    assert "0 added" in second

    worker = await _spawn(environ, sys.executable, "worker.py")
    assert worker.stderr is not None
    seen: list[bytes] = []
    while b"worker.started" not in (line := await worker.stderr.readline()):
        assert line, b"".join(seen).decode()
        seen.append(line)
    worker.send_signal(signal.SIGTERM)
    await worker.communicate()
    assert worker.returncode == 0
