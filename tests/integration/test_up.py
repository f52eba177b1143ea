"""``journeys up``: embedded server and worker, the URLs, a clean stop; or a configured cluster."""

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from runtime.devserver import EmbeddedTemporal
from tests.integration.test_cli_journey import TEAM, journeys
from tests.portpick import free_port

BIN = Path(sys.executable).parent
ROOT = Path(__file__).resolve().parents[2]


def _up(env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [str(BIN / "journeys"), "up"], env=env, cwd=ROOT, text=True,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )  # fmt: skip


def _wait_for(proc: subprocess.Popen[str], marker: str, seconds: float = 60) -> str:
    """Read output until ``marker`` appears (bounded)."""
    assert proc.stdout is not None
    seen: list[str] = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line and proc.poll() is not None:
            break
        seen.append(line)
        if marker in line:
            return "".join(seen)
    raise AssertionError(f"{marker!r} not seen: {''.join(seen)[-2000:]}")


def test_up_serves_journeys_and_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    port, ui_port = free_port(), free_port()
    env = {
        **os.environ,
        "JOURNEYS_DATA_DIR": str(tmp_path / "data"),
        "JOURNEYS_TEMPORAL_PORT": str(port),
        "JOURNEYS_TEMPORAL_UI_PORT": str(ui_port),
        "JOURNEYS_LOG_FORMAT": "json",
    }
    for name in ("TEMPORAL_ADDRESS", "JOURNEYS_TEMPORAL_ADDRESS", "JOURNEYS_DATABASE_URL"):
        env.pop(name, None)
    proc = _up(env)
    try:
        banner = _wait_for(proc, "worker.started")
        assert f"127.0.0.1:{port}" in banner
        assert f"http://127.0.0.1:{ui_port}" in banner
        journey = journeys(env, "start", *TEAM, "--by", "ops-1").stdout.strip()
        assert journeys(env, "check", "--worker").returncode == 0
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
    key_file = tmp_path / "data" / "codec-keys.json"
    assert key_file.stat().st_mode & 0o077 == 0
    assert (tmp_path / "data" / "temporal.db").exists()

    # Started again on the same data directory, the journey is still there.
    proc = _up(env)
    try:
        _wait_for(proc, "worker.started")
        shown = journeys(env, "show", journey, "--json").stdout
        assert '"phase": "intake"' in shown
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=60) == 0
    finally:
        if proc.poll() is None:
            proc.kill()


async def test_up_with_temporal_address_uses_that_cluster(tmp_path: Path) -> None:
    cluster = EmbeddedTemporal(tmp_path / "cluster", free_port(), free_port())
    env = {
        **os.environ,
        "JOURNEYS_DATA_DIR": str(tmp_path / "data"),
        "TEMPORAL_ADDRESS": cluster.address,
        "JOURNEYS_LOG_FORMAT": "json",
    }
    async with cluster:
        proc = _up(env)
        try:
            banner = await asyncio.to_thread(_wait_for, proc, "worker.started")
            assert cluster.address in banner
            assert "the cluster's own UI" in banner
            proc.send_signal(signal.SIGTERM)
            assert await asyncio.to_thread(proc.wait, 60) == 0
        finally:
            if proc.poll() is None:
                proc.kill()
    assert not (tmp_path / "data" / "temporal.db").exists()


def test_up_says_so_when_the_cluster_cannot_be_reached(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "JOURNEYS_DATA_DIR": str(tmp_path / "data"),
        "TEMPORAL_ADDRESS": f"127.0.0.1:{free_port()}",
        "JOURNEYS_LOG_FORMAT": "json",
    }
    proc = _up(env)
    output, _ = proc.communicate(timeout=120)
    assert proc.returncode == 1
    assert "cannot reach Temporal" in output
    assert "Traceback" not in output
    assert not (tmp_path / "data" / "temporal.db").exists()
