"""Metrics of real processes after real traffic: ``python worker.py`` and ``journeys api`` on the
dev server, commands over the API, deliveries to a webhook that answers and one that never
does, and a journey start whose input no worker can read (its workflow task fails).

Every label of every scrape (the application's and the Temporal SDK's, worker and API) must
come from a bounded vocabulary, and no journey, client or staff id may appear anywhere. The
operator's kit (ops/) must name only metrics these processes export.
"""

import asyncio
import http.server
import re
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from clinical.policy_loader import load_policy
from models.delivery import DeliveryStatus, ExternalChannel
from models.journey import Phase, Priority
from models.work import TaskKind
from runtime import metrics
from runtime.client import connect
from runtime.settings import Settings
from tests.integration.test_cli_journey import BIN, ROOT, TEAM, journeys, stack
from tests.portpick import free_port
from tests.promql import (
    PROMETHEUS_SERIES,
    alert_expressions,
    dashboard_expressions,
    exported_names,
    metric_names,
)

__all__ = ["stack"]  # the module-scoped dev server fixture

Scrapes = dict[str, str]


@dataclass
class Traffic:
    """The four scrapes after the traffic, the ids it used, and its task queue."""

    scrapes: Scrapes
    ids: list[str]
    queue: str


_SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)")
_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')
_NUMBER = re.compile(r"^(\+Inf|-?\d+(\.\d+)?(e[+-]?\d+)?)$")
RATINGS = "d1=3,d2=2,d3=0,d4=0,d5=0,d6=0"  # recommends 3.7-WM


class _Sink(http.server.BaseHTTPRequestHandler):
    """A webhook receiver that takes everything."""

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *_: object) -> None:
        """Quiet."""


def _allowed(queue: str) -> dict[str, Callable[[str], bool]]:
    """Every label name any of our processes may export, with the values it may take."""
    policy = load_policy(None)

    def one_of(*values: object) -> Callable[[str], bool]:
        allowed = {str(v) for v in values}
        return allowed.__contains__

    def matches(pattern: str) -> Callable[[str], bool]:
        return lambda value: re.fullmatch(pattern, value) is not None

    escalations = [k.value for k in metrics.ESCALATION_KINDS]
    return {
        # The application's vocabularies.
        "command": one_of(*metrics.COMMAND_NAMES),
        "outcome": one_of(*metrics.COMMAND_OUTCOMES, *metrics.PROJECTION_OUTCOMES),
        "kind": one_of(*(k.value for k in TaskKind), *escalations, "other"),
        "priority": one_of(*(p.value for p in Priority), "other"),
        "channel": one_of(*(c.value for c in ExternalChannel), "other"),
        "status": one_of(*(s.value for s in DeliveryStatus)),
        "permanent": one_of("true", "false"),
        "phase": one_of(*(p.value for p in Phase if p.is_open), "other"),
        "level_of_care": one_of(*(lv.code for lv in policy.levels_of_care), "none", "other"),
        "le": lambda value: _NUMBER.match(value) is not None,
        # prometheus_client's process and interpreter metrics.
        "generation": one_of("0", "1", "2"),
        "implementation": one_of("CPython"),
        "major": matches(r"\d+"),
        "minor": matches(r"\d+"),
        "patchlevel": matches(r"\d+"),
        "version": matches(r"\d+\.\d+\.\d+"),
        # The Temporal SDK's.
        "namespace": one_of("default"),
        "task_queue": one_of(queue),
        "service_name": one_of("temporal-core-sdk"),
        "workflow_type": one_of("ClientJourneyWorkflow", "DeliveryWorkflow"),
        "activity_type": one_of("project_journey", "deliver_message", "park_delivery"),
        "poller_type": one_of(
            "workflow_task", "sticky_workflow_task", "activity_task", "nexus_task"
        ),
        "worker_type": one_of(
            "WorkflowWorker", "ActivityWorker", "LocalActivityWorker", "NexusWorker"
        ),
        "eager": one_of("true", "false"),
        "failure_reason": matches(r"[A-Za-z]+"),
        "operation": matches(r"[A-Z][A-Za-z]+"),
        "status_code": matches(r"[A-Z_]+"),
    }


def _samples(text: str) -> Iterator[tuple[str, dict[str, str], float]]:
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        found = _SAMPLE.match(line)
        assert found, line
        labels = dict(_LABEL.findall(found.group(2) or ""))
        yield found.group(1), labels, float(found.group(3))


def _value(text: str, name: str, **labels: str) -> float:
    """The sum of a metric's samples whose labels include ``labels``."""
    return sum(v for n, have, v in _samples(text) if n == name and labels.items() <= have.items())


def _scrape(urls: dict[str, str]) -> Scrapes:
    return {name: httpx.get(url, timeout=10).text for name, url in urls.items()}


def _wait(urls: dict[str, str], done: Callable[[Scrapes], bool], seconds: float = 90) -> Scrapes:
    """Scrape until ``done`` holds (bounded); the last scrapes either way."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            scrapes = _scrape(urls)
            if done(scrapes) or time.monotonic() > deadline:
                return scrapes
        except httpx.TransportError:
            if time.monotonic() > deadline:
                raise
        time.sleep(1)


@pytest.fixture(scope="module")
def traffic(stack: dict[str, str]) -> Iterator[Traffic]:
    """Worker and API processes with metrics on free ports, after a round of real traffic."""
    sink = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Sink)
    threading.Thread(target=sink.serve_forever, daemon=True).start()
    api_port = free_port()
    ports = {name: free_port() for name in ("worker", "worker_sdk", "api", "api_sdk")}
    env = {
        **stack,
        "JOURNEYS_WEBHOOK_ALLOW_HOSTS": "127.0.0.1",
        "JOURNEYS_DELIVERY_MAX_ATTEMPTS": "1",
        "JOURNEYS_DISPATCH_INTERVAL_S": "0.2",
        "JOURNEYS_API_PORT": str(api_port),
        "JOURNEYS_WORKER_METRICS_PORT": str(ports["worker"]),
        "JOURNEYS_SDK_METRICS_PORT": str(ports["worker_sdk"]),
        "JOURNEYS_API_METRICS_PORT": str(ports["api"]),
        "JOURNEYS_API_SDK_METRICS_PORT": str(ports["api_sdk"]),
    }
    urls = {name: f"http://127.0.0.1:{port}/metrics" for name, port in ports.items()}
    tokens = {
        who: journeys(env, "staff", "add", who, "--role", role).stdout.strip().splitlines()[-1]
        for who, role in (("ops-1", "operations"), ("th-chen", "clinician"),
                          ("dr-ames", "clinician"))
    }  # fmt: skip
    journeys(env, "webhook", "add", "sink", f"http://127.0.0.1:{sink.server_port}/hook")
    journeys(env, "webhook", "add", "nowhere", f"http://127.0.0.1:{free_port()}/hook")
    worker = subprocess.Popen([sys.executable, "worker.py"], env=env, cwd=ROOT)
    api = subprocess.Popen([str(BIN / "journeys"), "api"], env=env, cwd=ROOT)
    try:
        base = f"http://127.0.0.1:{api_port}"
        _wait(urls, lambda s: True)  # both processes serve their endpoints
        ids = _drive(env, base, tokens)
        bad = asyncio.run(_unreadable_start(env))
        scrapes = _wait(urls, _everything_seen)
        asyncio.run(_terminate(env, bad))
        yield Traffic(scrapes, [*ids, bad, *tokens.values()], env["JOURNEYS_TASK_QUEUE"])
    finally:
        for proc in (api, worker):
            proc.terminate()
            proc.wait(timeout=60)
        sink.shutdown()


def _drive(env: dict[str, str], base: str, tokens: dict[str, str]) -> list[str]:
    """Commands over the API: accepted, refused and sent to a journey that does not exist."""
    for _ in range(60):
        if httpx.get(f"{base}/health", timeout=10).status_code == 200:
            break
        time.sleep(0.5)

    def as_(who: str) -> list[str]:
        return ["--api", base, "--token", tokens[who]]

    journey = journeys(env, *as_("ops-1"), "start", *TEAM).stdout.strip()
    journeys(env, *as_("th-chen"), "assess", journey, "--ratings", RATINGS)
    refused = journeys(env, *as_("th-chen"), "decide", journey, "--accept", ok=False)
    assert refused.returncode == 3
    journeys(env, *as_("dr-ames"), "decide", journey, "--accept")
    missing = journeys(env, *as_("dr-ames"), "decide", "J-NOSUCHJOURNEY", "--accept", ok=False)
    assert missing.returncode != 0
    return [journey, "J-NOSUCHJOURNEY", "th-chen", "dr-ames", "ops-1", "cm-diaz", "sv-gray"]


def _settings(env: dict[str, str]) -> Settings:
    return Settings(
        _env_file=None,
        data_dir=Path(env["JOURNEYS_DATA_DIR"]),
        temporal_address=env["TEMPORAL_ADDRESS"],
    )


async def _unreadable_start(env: dict[str, str]) -> str:
    """A journey workflow started with an input no worker can read: its workflow task fails."""
    client = await connect(_settings(env))
    workflow_id = f"journey-J-UNREADABLE{uuid.uuid4().hex[:6].upper()}"
    await client.start_workflow(
        "ClientJourneyWorkflow", {"not": "a journey input"}, id=workflow_id,
        task_queue=env["JOURNEYS_TASK_QUEUE"],
    )  # fmt: skip
    return workflow_id


async def _terminate(env: dict[str, str], workflow_id: str) -> None:
    client = await connect(_settings(env))
    await client.get_workflow_handle(workflow_id).terminate("test over")


def _everything_seen(s: Scrapes) -> bool:
    worker, api, worker_sdk = s["worker"], s["api"], s["worker_sdk"]
    return (
        _value(api, "journeys_commands_total", command="decide", outcome="rejected") >= 1
        and _value(api, "journeys_commands_total", command="decide", outcome="not_found") >= 1
        and _value(api, "journeys_open_journeys", phase="withdrawal_management") >= 1
        and _value(api, "journeys_dead_letters", channel="webhook") >= 1
        and _value(worker, "journeys_deliveries_total", channel="webhook", status="sent") >= 1
        and _value(worker, "journeys_deliveries_total", channel="webhook", status="dead") >= 1
        and _value(worker_sdk, "temporal_workflow_task_execution_failed") >= 1
    )


def test_real_traffic_shows_in_the_worker_and_api_metrics(traffic: Traffic) -> None:
    s = traffic.scrapes
    api, worker = s["api"], s["worker"]
    assert _value(api, "journeys_commands_total", command="start_journey", outcome="accepted") == 1
    assert _value(api, "journeys_commands_total", command="decide", outcome="accepted") == 1
    assert _value(api, "journeys_commands_total", command="decide", outcome="rejected") == 1
    assert _value(api, "journeys_commands_total", command="decide", outcome="not_found") == 1
    assert _value(api, "journeys_command_duration_seconds_count", command="decide") == 3
    assert _value(api, "journeys_open_journeys", phase="withdrawal_management",
                  level_of_care="3.7-WM") == 1  # fmt: skip
    # Commands go through the API: the worker sent none, and it projected every change.
    assert _value(worker, "journeys_commands_total") == 0
    assert _value(worker, "journeys_projections_total", outcome="written") >= 3
    assert _value(worker, "journeys_projection_lag_seconds_count") >= 3
    assert _value(worker, "journeys_delivery_failures_total", channel="webhook") >= 1
    failed = _value(s["worker_sdk"], "temporal_workflow_task_execution_failed",
                    workflow_type="ClientJourneyWorkflow")  # fmt: skip
    assert failed >= 1
    assert _value(s["worker_sdk"], "temporal_num_pollers", poller_type="workflow_task") >= 1
    # The API's client: its start, and its updates (long requests: they wait for the answer).
    api_sdk = s["api_sdk"]
    assert _value(api_sdk, "temporal_request", operation="StartWorkflowExecution") == 1
    assert _value(api_sdk, "temporal_long_request", operation="UpdateWorkflowExecution") >= 3


def test_every_label_comes_from_a_bounded_vocabulary_and_no_id_appears(traffic: Traffic) -> None:
    allowed = _allowed(traffic.queue)
    seen: set[str] = set()
    for endpoint, text in traffic.scrapes.items():
        for name, labels, _ in _samples(text):
            for label, value in labels.items():
                assert label in allowed, (endpoint, name, label)
                assert allowed[label](value), (endpoint, name, label, value)
                seen.add(label)
        for journey_or_person in traffic.ids:
            assert journey_or_person not in text, (endpoint, journey_or_person)
    # The vocabularies were exercised, not just absent.
    assert {"command", "outcome", "phase", "level_of_care", "channel", "status", "kind",
            "workflow_type", "task_queue"} <= seen  # fmt: skip


def test_the_kit_names_only_metrics_these_processes_export(traffic: Traffic) -> None:
    exported = set(PROMETHEUS_SERIES)
    for text in traffic.scrapes.values():
        exported |= exported_names(text)
    for where, expr in {**alert_expressions(), **dashboard_expressions()}.items():
        missing = metric_names(expr) - exported
        assert not missing, (where, missing)
