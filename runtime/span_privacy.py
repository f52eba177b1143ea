"""What of a span may leave the process: an allow-list with no PHI and no ids (DESIGN 5)."""

from collections.abc import Sequence
from typing import Any

from opentelemetry.sdk.trace import Event, ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult
from opentelemetry.trace import Link, Status
from opentelemetry.util.types import Attributes

# Everything else is dropped: url.path / http.target / http.url / url.query hold journey and
# client ids, client.address / net.peer.* / user_agent.original identify the caller, captured
# headers may hold credentials, and the Temporal interceptor's temporalWorkflowID,
# temporalRunID, temporalUpdateID and temporalActivityID name the journey.
KEPT_ATTRIBUTES = frozenset(
    {
        "http.method",
        "http.request.method",
        "http.route",
        "http.status_code",
        "http.response.status_code",
        "http.scheme",
        "url.scheme",
        "http.flavor",
        "network.protocol.version",
        "error.type",
    }
)
# An exception event keeps its type; its message and stack trace may quote ids or input.
KEPT_EVENT_ATTRIBUTES = frozenset({"exception.type", "exception.escaped"})


def _kept(attributes: Attributes, allowed: frozenset[str]) -> dict[str, Any]:
    return {k: v for k, v in (attributes or {}).items() if k in allowed}


def scrub(span: ReadableSpan) -> ReadableSpan:
    """``span`` with only the allowed attributes, event attributes and no status text.

    Span names are kept: they are route templates (``POST /journeys/{journey_id}/notes``) or
    Temporal type and handler names (``HandleUpdate:add_note``).
    """
    return ReadableSpan(
        name=span.name,
        context=span.context,
        parent=span.parent,
        resource=span.resource,
        attributes=_kept(span.attributes, KEPT_ATTRIBUTES),
        events=[
            Event(e.name, _kept(e.attributes, KEPT_EVENT_ATTRIBUTES), e.timestamp)
            for e in span.events
        ],
        links=[Link(link.context) for link in span.links],
        kind=span.kind,
        # The description is an exception's text ("RPCError: ... journey-J-..."): dropped.
        status=Status(span.status.status_code),
        start_time=span.start_time,
        end_time=span.end_time,
        instrumentation_scope=span.instrumentation_scope,
    )


class ScrubbingSpanExporter(SpanExporter):
    """Hands ``inner`` only scrubbed copies of the spans (:func:`scrub`)."""

    def __init__(self, inner: SpanExporter) -> None:
        self._inner = inner

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        """Export the scrubbed copies."""
        return self._inner.export([scrub(s) for s in spans])

    def shutdown(self) -> None:
        """Shut the inner exporter down."""
        self._inner.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        """Flush the inner exporter."""
        return self._inner.force_flush(timeout_millis)
