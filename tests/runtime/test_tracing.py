"""Traces: one trace from an HTTP command to its projection, with no PHI and no ids in it.

The real app, a real dev server and a real worker in this process, all built the production
way (``connect``, ``create_worker``, ``create_app``) with tracing on; spans are read from an
in-memory exporter behind the same scrubbing exporter that guards OTLP.
"""

import asyncio
import base64
import itertools
import json
import os
import signal
import subprocess
import sys
import threading
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from pydantic import SecretStr
from temporalio.testing import WorkflowEnvironment

from api.app import create_app
from api.services import ApiServices
from delivery.store import DeliveryStore
from models.commands import AddNote, StartJourney
from models.staff import StaffRole
from readmodel.access import AccessRepository
from readmodel.clients import ClientKeys, ClientStore
from readmodel.consents import ConsentStore
from readmodel.db import create_engine, sessionmaker
from readmodel.migrate import migrate
from readmodel.queries import JourneyQueries
from runtime import tracing
from runtime.client import connect
from runtime.settings import Settings
from service.ids import keyed_update_id, new_journey_id
from service.journeys import JourneyService
from tests.api.conftest import TEAM
from tests.builders import policy
from tests.conftest import TEST_KEY, TEST_KEY_ID
from tests.portpick import free_port
from worker import create_worker
from workflows.temporal_policy import journey_workflow_id

ROOT = Path(__file__).resolve().parents[2]
RECORD = {
    "legal_name": {"given": "Zephyrine", "family": "Vandermolen-Okafor"},
    "date_of_birth": "1983-11-29",
    "identifiers": [{"system": "urn:ehr:mrn", "value": "MRN-5519037"}],
    "phone": "+1 303 555 0177",
}
NOTE = "Zephyrine disclosed fentanyl use after her sister's funeral"
IDEMPOTENCY_KEY = "note-key-4471"


@dataclass
class Traced:
    """The API's HTTP client, what was exported, and what the spans held before scrubbing."""

    http: httpx.AsyncClient
    exported: InMemorySpanExporter
    raw: InMemorySpanExporter
    provider: TracerProvider
    services: ApiServices
    tokens: dict[str, str]

    def as_staff(self, staff: str) -> dict[str, str]:
        """The headers of ``staff``'s requests."""
        return {"Authorization": f"Bearer {self.tokens[staff]}"}


@pytest.fixture(params=[None, 0], ids=["cached", "replayed"])
async def traced(
    dev_env: WorkflowEnvironment, tmp_path: Path, request: pytest.FixtureRequest
) -> AsyncIterator[Traced]:
    """Tracing on; client, worker and app built as in production.

    Once with the journey in the worker's cache, once with none (every workflow task replays
    the history first, as for a journey evicted while it slept).
    """
    assert tracing.active() is None
    exported = InMemorySpanExporter()
    provider = tracing.setup(tracing.API_SERVICE, exporter=exported)
    assert provider is not None
    raw = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(raw))
    try:
        async with _stack(dev_env, tmp_path, request.param) as (services, tokens):
            transport = httpx.ASGITransport(app=create_app(services))
            async with httpx.AsyncClient(transport=transport, base_url="http://api") as http:
                yield Traced(http, exported, raw, provider, services, tokens)
    finally:
        tracing.shutdown()


@asynccontextmanager
async def _stack(
    env: WorkflowEnvironment, directory: Path, cache: int | None
) -> AsyncIterator[tuple[ApiServices, dict[str, str]]]:
    url = f"sqlite+aiosqlite:///{directory / 'journeys.db'}"
    await migrate(url)
    engine = create_engine(url)
    sessions = sessionmaker(engine)
    settings = Settings(
        temporal_namespace=env.client.namespace,
        codec_keys={TEST_KEY_ID: SecretStr(base64.b64encode(TEST_KEY).decode())},
        codec_active_key=TEST_KEY_ID,
    )
    client = await connect(settings, address=env.client.service_client.config.target_host)
    queue = f"traces-{uuid.uuid4().hex[:8]}"
    services = ApiServices(
        journeys=JourneyService(client, queue),
        queries=JourneyQueries(sessions),
        access=AccessRepository(sessions),
        policy=policy(),
        deliveries=DeliveryStore(sessions),
        clients=ClientStore(sessions, ClientKeys.of({TEST_KEY_ID: TEST_KEY}, TEST_KEY_ID)),
        consents=ConsentStore(sessions),
    )
    tokens = {
        "th-chen": await services.access.add_staff("th-chen", StaffRole.CLINICIAN),
        "ops-1": await services.access.add_staff("ops-1", StaffRole.OPERATIONS),
    }
    try:
        async with create_worker(client, queue, sessions, max_cached_workflows=cache):
            yield services, tokens
    finally:
        await engine.dispose()


def _dump(spans: tuple[ReadableSpan, ...]) -> str:
    """Everything a span carries: name, attributes, events, links, status, resource."""
    return "\n".join(s.to_json() for s in spans)


def _one(spans: tuple[ReadableSpan, ...], name: str, trace_id: int | None = None) -> ReadableSpan:
    found = [
        s for s in spans if s.name == name and trace_id in {None, s.context and s.context.trace_id}
    ]
    assert len(found) == 1, (name, sorted(s.name for s in spans))
    return found[0]


def _parent_of(child: ReadableSpan, parent: ReadableSpan) -> bool:
    assert child.parent is not None, child.name
    assert parent.context is not None
    return bool(child.parent.span_id == parent.context.span_id)


async def _command(traced: Traced) -> tuple[str, str]:
    """A client record, a journey for it, and a note with PHI in it; (journey, client) ids."""
    http = traced.http
    added = await http.post("/clients", json=RECORD, headers=traced.as_staff("ops-1"))
    assert added.status_code == 201, added.text
    client_id = added.json()["client_id"]
    opened = await http.post(
        "/journeys",
        json={"care_team": TEAM, "client_id": client_id},
        headers=traced.as_staff("th-chen"),
    )
    assert opened.status_code == 201, opened.text
    journey_id = opened.json()["journey_id"]
    assert traced.provider.force_flush()
    traced.exported.clear()
    traced.raw.clear()
    noted = await http.post(
        f"/journeys/{journey_id}/notes?via={journey_id}",
        json={"text": NOTE},
        # Baggage from the caller stays out of Temporal: its header is stored unencrypted.
        headers={
            **traced.as_staff("th-chen"),
            "Idempotency-Key": IDEMPOTENCY_KEY,
            "baggage": f"client={client_id},note=fentanyl",
        },
    )
    assert noted.status_code == 200, noted.text
    assert traced.provider.force_flush()
    return journey_id, client_id


async def test_one_trace_runs_from_the_request_through_the_update_to_the_projection(
    traced: Traced,
) -> None:
    await _command(traced)
    spans = traced.exported.get_finished_spans()
    request = _one(spans, "POST /journeys/{journey_id}/notes")
    assert request.context is not None
    trace_id = request.context.trace_id
    names = [
        "StartWorkflowUpdate:add_note",
        "HandleUpdate:add_note",
        "StartActivity:project_journey",
        "RunActivity:project_journey",
    ]
    chain = [request, *(_one(spans, name, trace_id) for name in names)]
    for parent, child in itertools.pairwise(chain):
        assert _parent_of(child, parent), (child.name, parent.name)
    assert _parent_of(_one(spans, "ValidateUpdate:add_note", trace_id), chain[1])
    assert request.attributes == {
        "http.method": "POST",
        "http.route": "/journeys/{journey_id}/notes",
        "http.scheme": "http",
        "http.flavor": "1.1",
        "http.status_code": 200,
    }
    # The health probe is not traced; other reads are.
    assert (await traced.http.get("/health")).status_code == 200
    assert (await traced.http.get("/me", headers=traced.as_staff("ops-1"))).status_code == 200
    assert traced.provider.force_flush()
    read = {s.name for s in traced.exported.get_finished_spans()}
    assert "GET /me" in read
    assert "GET /health" not in read


async def test_no_span_carries_phi_or_an_id(traced: Traced, dev_env: WorkflowEnvironment) -> None:
    journey_id, client_id = await _command(traced)
    handle = dev_env.client.get_workflow_handle(journey_workflow_id(journey_id))
    run_id = (await handle.describe()).run_id
    update_id = keyed_update_id("th-chen", "add_note", IDEMPOTENCY_KEY)
    secrets = {
        "journey id": journey_id,
        "client id": client_id,
        "run id": run_id,
        "update id": update_id,
        "idempotency key": IDEMPOTENCY_KEY,
        "given name": "Zephyrine",
        "family name": "Vandermolen",
        "date of birth": "1983-11-29",
        "MRN": "MRN-5519037",
        "phone": "555 0177",
        "note": "fentanyl",
        "token": traced.tokens["th-chen"],
    }
    # Raw bytes: the trace header's payload is plain JSON, the others are encrypted.
    events = (await handle.fetch_history()).events
    history = b"".join(e.SerializeToString() for e in events)
    assert b"_tracer-data" in history
    assert b"traceparent" in history
    assert client_id.encode() not in history
    assert b"fentanyl" not in history
    # A journey that does not exist: the error's text names it.
    missing = await traced.http.post(
        "/journeys/J-NQ3XW7ZK2M/notes", json={"text": NOTE}, headers=traced.as_staff("th-chen")
    )
    assert missing.status_code == 404
    secrets["missing journey id"] = "J-NQ3XW7ZK2M"
    # A command the journey's validator refuses: an update failure, an error span.
    refused = await traced.http.post(
        f"/journeys/{journey_id}/decisions",
        json={
            "accept": False,
            "phase": "treatment",
            "variance_reason": "Zephyrine asked for MRN-5519037",
        },
        headers=traced.as_staff("th-chen"),
    )
    assert refused.status_code == 409, refused.text
    assert traced.provider.force_flush()
    spans = traced.exported.get_finished_spans()
    exported = _dump(spans)
    assert [what for what, value in secrets.items() if value in exported] == []
    assert "ERROR" in {s.status.status_code.name for s in spans}
    # Before scrubbing the spans did hold them: the scrubbing is what keeps them out.
    raw = _dump(traced.raw.get_finished_spans())
    assert [what for what in ("journey id", "run id", "missing journey id")
            if secrets[what] not in raw] == []  # fmt: skip


def test_without_otel_settings_nothing_is_set_up() -> None:
    code = (
        "import sys, opentelemetry.trace as t\n"
        "from api.app import create_app\n"
        "from runtime import tracing\n"
        "app = create_app()\n"
        "print(tracing.setup(tracing.WORKER_SERVICE), tracing.active(), tracing.interceptors(),"
        " type(t.get_tracer_provider()).__name__,"
        " getattr(app, '_is_instrumented_by_opentelemetry', False),"
        " 'opentelemetry.sdk.trace' in sys.modules,"
        " 'opentelemetry.exporter.otlp.proto.http.trace_exporter' in sys.modules)\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True,
        check=True, timeout=120,
    )  # fmt: skip
    assert done.stdout.split() == [
        "None", "None", "[]", "ProxyTracerProvider", "False", "False", "False"
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("environ", "on"),
    [
        ({}, False),
        ({"OTEL_SERVICE_NAME": "x"}, False),
        ({"OTEL_TRACES_EXPORTER": "otlp"}, True),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318"}, True),
        ({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://127.0.0.1:4318/v1/traces"}, True),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318", "OTEL_TRACES_EXPORTER": "none"}, False),
        ({"OTEL_TRACES_EXPORTER": "otlp", "OTEL_SDK_DISABLED": "true"}, False),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318", "OTEL_SDK_DISABLED": "TRUE"}, False),
        ({"OTEL_TRACES_EXPORTER": "console"}, False),
    ],
)
def test_the_otel_variables_turn_tracing_on(environ: dict[str, str], on: bool) -> None:
    assert tracing.configured(environ) is on


class _Collector(BaseHTTPRequestHandler):
    received: list[tuple[str, str, bytes]]

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.received.append((self.path, self.headers["Content-Type"], body))
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        """Quiet."""


@pytest.fixture
def collector() -> Iterator[tuple[str, list[tuple[str, str, bytes]]]]:
    """An OTLP/HTTP receiver on 127.0.0.1: its base URL and what it received."""
    received: list[tuple[str, str, bytes]] = []
    handler = type("Collector", (_Collector,), {"received": received})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", received
    finally:
        server.shutdown()
        server.server_close()


def test_spans_go_over_otlp_http_to_the_configured_endpoint(
    collector: tuple[str, list[tuple[str, str, bytes]]], monkeypatch: pytest.MonkeyPatch
) -> None:
    url, received = collector
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", url)
    monkeypatch.delenv("OTEL_SERVICE_NAME", raising=False)
    monkeypatch.delenv("OTEL_TRACES_EXPORTER", raising=False)
    monkeypatch.delenv("OTEL_SDK_DISABLED", raising=False)
    assert tracing.active() is None
    provider = tracing.setup(tracing.WORKER_SERVICE)
    assert provider is not None
    try:
        tracer = provider.get_tracer("test")
        attributes = {"temporalWorkflowID": "journey-J-QQQQ2222QQ", "http.route": "/journeys"}
        with tracer.start_as_current_span("HandleUpdate:add_note", attributes=attributes):
            pass
    finally:
        tracing.shutdown()  # flushes the batch
    assert [(path, kind) for path, kind, _ in received] == [
        ("/v1/traces", "application/x-protobuf")
    ]
    request = ExportTraceServiceRequest.FromString(received[0][2])
    [resource_spans] = request.resource_spans
    resource = {a.key: a.value.string_value for a in resource_spans.resource.attributes}
    assert resource["service.name"] == "recovery-journeys-worker"
    [span] = [s for scope in resource_spans.scope_spans for s in scope.spans]
    assert span.name == "HandleUpdate:add_note"
    assert {a.key: a.value.string_value for a in span.attributes} == {"http.route": "/journeys"}
    assert b"QQQQ2222QQ" not in received[0][2]


def _process_environ(dev_env: WorkflowEnvironment, data: Path) -> dict[str, str]:
    """A service process's environment: the dev server, the test key, no OTEL_* of ours."""
    environ = {k: v for k, v in os.environ.items()
               if not k.startswith(("JOURNEYS_", "TEMPORAL_", "OTEL_"))}  # fmt: skip
    return environ | {
        "TEMPORAL_ADDRESS": dev_env.client.service_client.config.target_host,
        "TEMPORAL_NAMESPACE": dev_env.client.namespace,
        "JOURNEYS_DATA_DIR": str(data),
        "JOURNEYS_TASK_QUEUE": f"traced-{uuid.uuid4().hex[:8]}",
        "JOURNEYS_LOG_FORMAT": "json",
        "JOURNEYS_CODEC_KEYS": json.dumps({TEST_KEY_ID: base64.b64encode(TEST_KEY).decode()}),
    }


async def test_the_worker_process_sends_its_spans_to_the_collector(
    collector: tuple[str, list[tuple[str, str, bytes]]], dev_env: WorkflowEnvironment,
    tmp_path: Path,
) -> None:  # fmt: skip
    """``python worker.py`` with an OTLP endpoint: spans leave it, scrubbed, by its exit."""
    url, received = collector
    environ = _process_environ(dev_env, tmp_path) | {"OTEL_EXPORTER_OTLP_ENDPOINT": url}
    queue = environ["JOURNEYS_TASK_QUEUE"]
    worker = await asyncio.create_subprocess_exec(
        sys.executable, "worker.py", env=environ, cwd=ROOT,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    assert worker.stdout is not None
    log: list[bytes] = []
    while b"worker.started" not in (line := await worker.stdout.readline()):
        assert line, b"".join(log).decode()
        log.append(line)
    journeys = JourneyService(dev_env.client, queue)
    journey_id = new_journey_id()
    start = {"journey_id": journey_id, "care_team": TEAM, "started_by": "th-chen"}
    await journeys.start(
        StartJourney.model_validate_json(
            json.dumps({**start, "policy": policy().model_dump(mode="json")})
        )
    )
    # An update answers once its change is projected: the projection has run by then.
    await journeys.send(journey_id, AddNote(text=NOTE, written_by="th-chen"))
    worker.send_signal(signal.SIGTERM)
    out, _ = await worker.communicate()
    assert worker.returncode == 0, out.decode()
    assert {path for path, _, _ in received} == {"/v1/traces"}
    assert ("recovery-journeys-worker", "RunActivity:project_journey") in _sent_spans(received)
    assert [body for _, _, body in received if journey_id.encode() in body] == []


def _sent_spans(received: list[tuple[str, str, bytes]]) -> set[tuple[str, str]]:
    """(service.name, span name) of every span the collector received."""
    return {
        ({a.key: a.value.string_value for a in rs.resource.attributes}["service.name"], span.name)
        for _, _, body in received
        for rs in ExportTraceServiceRequest.FromString(body).resource_spans
        for scope in rs.scope_spans
        for span in scope.spans
    }


async def test_the_api_process_sends_its_spans_when_it_stops(
    collector: tuple[str, list[tuple[str, str, bytes]]], dev_env: WorkflowEnvironment,
    tmp_path: Path,
) -> None:  # fmt: skip
    """``journeys api`` leaves through ``os._exit``: its last spans are sent before that."""
    url, received = collector
    port = free_port()
    environ = _process_environ(dev_env, tmp_path) | {
        "JOURNEYS_API_PORT": str(port),
        "OTEL_TRACES_EXPORTER": "otlp",
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": f"{url}/v1/traces",
        "OTEL_SERVICE_NAME": "journeys-api-test",
    }
    api = await asyncio.create_subprocess_exec(
        str(Path(sys.executable).parent / "journeys"), "api", env=environ, cwd=ROOT,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    assert api.stdout is not None
    log: list[bytes] = []
    while b"Application startup complete" not in (line := await api.stdout.readline()):
        assert line, b"".join(log).decode()
        log.append(line)
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
        refused = await http.get("/journeys/J-NQ3XW7ZK2M", params={"client": "C-QQQQ2222QQ"})
    assert refused.status_code == 401
    api.send_signal(signal.SIGTERM)
    await api.communicate()
    assert ("journeys-api-test", "GET /journeys/{journey_id}") in _sent_spans(received)
    bodies = b"".join(body for _, _, body in received)
    assert b"NQ3XW7ZK2M" not in bodies
    assert b"QQQQ2222QQ" not in bodies
