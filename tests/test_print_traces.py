"""ops/print_traces.py: the development trace printer receives real OTLP/HTTP exports."""

import subprocess
import sys
from pathlib import Path

import httpx
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

SCRIPT = Path(__file__).resolve().parents[1] / "ops" / "print_traces.py"


def test_an_exported_trace_is_printed_as_a_tree() -> None:
    proc = subprocess.Popen(
        [sys.executable, str(SCRIPT), "--port", "0"], stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline().strip()
        assert first.startswith("listening on http://127.0.0.1:")
        endpoint = first.removeprefix("listening on ")
        provider = TracerProvider(
            resource=Resource.create({"service.name": "recovery-journeys-api"})
        )
        provider.add_span_processor(SimpleSpanProcessor(OTLPSpanExporter(endpoint=endpoint)))
        tracer = provider.get_tracer("test")
        with (
            tracer.start_as_current_span("POST /journeys/{journey_id}/notes"),
            tracer.start_as_current_span("StartWorkflowUpdate:add_note"),
        ):
            pass
        provider.shutdown()
        # Each span is exported on its own (simple processor): two requests, two trees.
        lines = [proc.stdout.readline().rstrip("\n") for _ in range(4)]
        assert lines[0].startswith("trace ")
        assert lines[1].startswith("  StartWorkflowUpdate:add_note  [recovery-journeys-api, ")
        assert lines[2] == lines[0]  # the same trace
        assert lines[3].startswith("  POST /journeys/{journey_id}/notes  [recovery-journeys-api, ")
        # Anything but a trace export is refused.
        assert (
            httpx.post(endpoint.replace("/v1/traces", "/v1/metrics"), content=b"x").status_code
            == 404
        )
        assert httpx.post(endpoint, content=b"\xff\x00garbage").status_code == 400
    finally:
        proc.terminate()
        proc.wait(timeout=10)
