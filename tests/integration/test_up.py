"""``journeys up``: embedded server and worker, the URLs, a clean stop; or a configured cluster."""

import asyncio
import json
import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

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


def _ui_settings(ui: str) -> dict[str, Any]:
    """The web UI's settings; the UI may answer a moment after the server's gRPC (bounded)."""
    for _ in range(60):
        try:
            settings: dict[str, Any] = httpx.get(f"{ui}/api/v1/settings", timeout=30).json()
            return settings
        except httpx.TransportError:
            time.sleep(0.5)
    raise AssertionError(f"the Temporal UI at {ui} never answered")


def _token(env: dict[str, str], staff_id: str, role: str) -> str:
    """A new staff account's token (printed once, on the last line)."""
    return journeys(env, "staff", "add", staff_id, "--role", role).stdout.strip().splitlines()[-1]


def _use_the_api(env: dict[str, str], api: str, journey: str) -> None:
    """The API and dashboard are served beside the worker; the CLI can work through them."""
    assert httpx.get(f"{api}/health", timeout=30).json()["status"] == "ok"
    assert httpx.get(f"{api}/", follow_redirects=False, timeout=30).status_code == 303
    created = journeys(env, "staff", "add", "th-chen", "--role", "clinician")
    token = created.stdout.strip().splitlines()[-1]
    assert len(token) >= 40
    duplicate = journeys(env, "staff", "add", "th-chen", "--role", "clinician", ok=False)
    assert duplicate.returncode == 1
    assert "already exists" in duplicate.stderr
    remote = ["--api", api, "--token", token]
    assessed = journeys(
        env, *remote, "assess", journey, "--ratings", "d1=3,d2=2,d3=0,d4=0,d5=0,d6=0"
    )
    assert "3.7-WM" in assessed.stdout
    # Refused in one line with exit code 3: the journey refuses a therapist's withdrawal
    # decision (403 not_authorized), the API an operations account (403 clinical_role_required).
    ops = ["--api", api, "--token", _token(env, "ops-1", "operations")]
    for who, code in ((remote, "not_authorized"), (ops, "clinical_role_required")):
        refused = journeys(env, *who, "decide", journey, "--accept", ok=False)
        assert refused.returncode == 3
        assert f"({code})" in refused.stderr
        assert len(refused.stderr.strip().splitlines()) == 1
    physician = ["--api", api, "--token", _token(env, "dr-ames", "clinician")]
    decided = journeys(env, *physician, "decide", journey, "--accept")
    assert "withdrawal_management" in decided.stdout
    shown = json.loads(journeys(env, *remote, "show", journey, "--json").stdout)
    assert shown["state"]["loc_code"] == "3.7-WM"
    feed = json.loads(journeys(env, *remote, "feed", "th-chen", "--json").stdout)
    assert "phase_changed" in [n["kind"] for n in feed]
    others = journeys(env, *remote, "feed", "dr-ames", ok=False)
    assert "only your own feed" in others.stderr
    refused = journeys(env, *remote, "decide", journey, "--accept", ok=False)
    assert refused.returncode == 3
    bad_token = journeys(env, "--api", api, "--token", "nope", "list", ok=False)
    assert bad_token.returncode == 1
    assert "401" in bad_token.stderr


def _metrics_of_one_process(banner: str, metrics_port: int, sdk_port: int) -> None:
    """The worker's ports serve the whole process: its commands, projections and gauges."""
    app, sdk = (f"http://127.0.0.1:{p}/metrics" for p in (metrics_port, sdk_port))
    assert app in banner
    assert sdk in banner
    text = httpx.get(app, timeout=30).text
    assert 'journeys_commands_total{command="decide",outcome="accepted"} 1.0' in text
    assert 'journeys_projections_total{outcome="written"}' in text
    assert "journeys_open_journeys{" in text
    assert "temporal_num_pollers{" in httpx.get(sdk, timeout=30).text


def test_up_serves_journeys_and_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    port, ui_port, api_port = free_port(), free_port(), free_port()
    metrics_port, sdk_port = free_port(), free_port()
    env = {
        **os.environ,
        "JOURNEYS_DATA_DIR": str(tmp_path / "data"),
        "JOURNEYS_TEMPORAL_PORT": str(port),
        "JOURNEYS_TEMPORAL_UI_PORT": str(ui_port),
        "JOURNEYS_API_PORT": str(api_port),
        "JOURNEYS_WORKER_METRICS_PORT": str(metrics_port),
        "JOURNEYS_SDK_METRICS_PORT": str(sdk_port),
        "JOURNEYS_LOG_FORMAT": "json",
    }
    for name in ("TEMPORAL_ADDRESS", "JOURNEYS_TEMPORAL_ADDRESS", "JOURNEYS_DATABASE_URL"):
        env.pop(name, None)
    proc = _up(env)
    try:
        banner = _wait_for(proc, "worker.started")
        assert f"127.0.0.1:{port}" in banner
        assert f"http://127.0.0.1:{ui_port}" in banner
        # The embedded UI decodes payloads through the API's codec endpoint.
        assert f"http://127.0.0.1:{api_port}/codec" in banner
        ui_settings = _ui_settings(f"http://127.0.0.1:{ui_port}")
        assert ui_settings["Codec"]["Endpoint"] == f"http://127.0.0.1:{api_port}/codec"
        journey = journeys(env, "start", *TEAM, "--by", "ops-1").stdout.strip()
        assert journeys(env, "check", "--worker").returncode == 0
        _use_the_api(env, f"http://127.0.0.1:{api_port}", journey)
        _metrics_of_one_process(banner, metrics_port, sdk_port)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
    key_file = tmp_path / "data" / "codec-keys.json"
    assert key_file.stat().st_mode & 0o077 == 0
    assert (tmp_path / "data" / "temporal.db").exists()
    # Plan text, notes and secrets: the data directory and its files are owner-only.
    data = tmp_path / "data"
    assert stat.S_IMODE(data.stat().st_mode) == 0o700
    for name in ("journeys.db", "temporal.db", "temporal-server.log", "codec-keys.json"):
        assert stat.S_IMODE((data / name).stat().st_mode) == 0o600, name

    # Started again on the same data directory, the journey is still there.
    proc = _up(env)
    try:
        _wait_for(proc, "worker.started")
        shown = journeys(env, "show", "--by", "sv-gray", journey, "--json").stdout
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
        "JOURNEYS_API_PORT": str(free_port()),
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
    assert stat.S_IMODE((tmp_path / "data").stat().st_mode) == 0o700


def test_up_says_so_when_the_cluster_cannot_be_reached(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "JOURNEYS_DATA_DIR": str(tmp_path / "data"),
        "TEMPORAL_ADDRESS": f"127.0.0.1:{free_port()}",
        "JOURNEYS_API_PORT": str(free_port()),
        "JOURNEYS_LOG_FORMAT": "json",
    }
    proc = _up(env)
    output, _ = proc.communicate(timeout=120)
    assert proc.returncode == 1
    assert "cannot reach Temporal" in output
    assert "Traceback" not in output
    assert not (tmp_path / "data" / "temporal.db").exists()
