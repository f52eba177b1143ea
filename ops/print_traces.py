"""A minimal OTLP/HTTP trace receiver for a development machine: prints each trace as a tree.

Run it, then start the service with ``OTEL_EXPORTER_OTLP_ENDPOINT`` pointing at it::

    .venv/bin/python ops/print_traces.py --port 4318
    OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4318 make run

It listens on 127.0.0.1 only, keeps nothing, and prints what the service exported (span names,
services, durations, parents): the spans have already been through the service's allow-list,
so they carry no PHI and no ids. In production send spans to a real collector instead.
"""

import argparse
import contextlib
import sys
from collections import defaultdict
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from google.protobuf.message import DecodeError
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

MAX_BODY = 16 * 1024 * 1024


def render(request: ExportTraceServiceRequest) -> list[str]:
    """One block per trace in ``request``: its spans indented under their parents."""
    spans: dict[bytes, list[tuple[str, Any]]] = defaultdict(list)
    for resource_spans in request.resource_spans:
        service = next(
            (
                a.value.string_value
                for a in resource_spans.resource.attributes
                if a.key == "service.name"
            ),
            "?",
        )
        for scope in resource_spans.scope_spans:
            for span in scope.spans:
                spans[span.trace_id].append((service, span))
    lines: list[str] = []
    for trace_id, members in spans.items():
        lines.append(f"trace {trace_id.hex()}")
        ids = {span.span_id for _, span in members}
        children: dict[bytes, list[tuple[str, Any]]] = defaultdict(list)
        for service, span in members:
            parent = span.parent_span_id if span.parent_span_id in ids else b""
            children[parent].append((service, span))
        _tree(children, b"", 1, lines)
    return lines


def _tree(
    children: dict[bytes, list[tuple[str, Any]]], parent: bytes, depth: int, lines: list[str]
) -> None:
    for service, span in sorted(children[parent], key=lambda pair: pair[1].start_time_unix_nano):
        took = (span.end_time_unix_nano - span.start_time_unix_nano) / 1e6
        lines.append(f"{'  ' * depth}{span.name}  [{service}, {took:.1f} ms]")
        _tree(children, span.span_id, depth + 1, lines)


class _Receiver(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if self.path != "/v1/traces" or not 0 < length <= MAX_BODY:
            self.send_error(404 if self.path != "/v1/traces" else 413)
            return
        request = ExportTraceServiceRequest()
        try:
            request.ParseFromString(self.rfile.read(length))
        except DecodeError:
            self.send_error(400)
            return
        print("\n".join(render(request)), flush=True)
        body = ExportTraceServiceResponse().SerializeToString()
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        """Requests are not logged; the traces are the output."""


def main(argv: list[str] | None = None) -> int:
    """Serve until interrupted."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=4318, help="port on 127.0.0.1 (4318)")
    port = parser.parse_args(argv).port
    server = ThreadingHTTPServer(("127.0.0.1", port), _Receiver)
    print(f"listening on http://127.0.0.1:{server.server_address[1]}/v1/traces", flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        server.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
