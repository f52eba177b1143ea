"""The Temporal SDK's tracing interceptor, with an update's handler and projection in the
trace of the request that sent the update."""

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import temporalio.worker
from opentelemetry.context import Context
from opentelemetry.trace import SpanKind, Tracer
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from temporalio.api.common.v1 import Payload
from temporalio.contrib.opentelemetry import TracingInterceptor, TracingWorkflowInboundInterceptor

# The SDK's own attach/detach, safe when an evicted workflow's context is finalized elsewhere.
from temporalio.contrib.opentelemetry._context import attached_context

# The trace context only: W3C baggage from an HTTP caller would otherwise travel in the
# Temporal header and be stored, unencrypted, in the journey's history.
_TRACE_CONTEXT_ONLY = TraceContextTextMapPropagator()


class JourneyTracingInterceptor(TracingInterceptor):
    """The SDK's tracing interceptor, with update handlers inside their caller's trace."""

    def __init__(self, tracer: Tracer) -> None:
        super().__init__(tracer)
        self.text_map_propagator = _TRACE_CONTEXT_ONLY

    def workflow_interceptor_class(
        self, input: temporalio.worker.WorkflowInterceptorClassInput
    ) -> type[TracingWorkflowInboundInterceptor]:
        """The workflow side (:class:`_UpdateTracing`)."""
        super().workflow_interceptor_class(input)
        return _UpdateTracing


@dataclass
class _Headers:
    headers: Mapping[str, Payload] = field(default_factory=dict)


class _UpdateTracing(TracingWorkflowInboundInterceptor):
    """An update's validator and handler spans are children of the client's update span.

    The SDK puts them on the workflow's trace with a link to the caller; here they are in
    the caller's trace with a link to the workflow. The journey projects changes from its
    main loop: the first activity started while an update's change waits for its projection
    becomes that update handler's child, so one trace runs from the HTTP request to the
    read-model write. Signals, timers and the run itself stay on the workflow's own trace.
    """

    def __init__(self, next: temporalio.worker.WorkflowInboundInterceptor) -> None:
        super().__init__(next)
        self.text_map_propagator = _TRACE_CONTEXT_ONLY
        self._awaiting_projection: list[Mapping[str, Any]] = []

    def handle_update_validator(self, input: temporalio.worker.HandleUpdateInput) -> None:
        """Validate under a span parented by the caller's update span."""
        caller = self._carrier(input.headers)
        if caller is None:
            super().handle_update_validator(input)
            return
        self._span_under(caller, f"ValidateUpdate:{input.update}")
        self.next.handle_update_validator(input)

    async def handle_update_handler(self, input: temporalio.worker.HandleUpdateInput) -> Any:
        """Run the handler under its own span, parented by the caller's update span."""
        caller = self._carrier(input.headers)
        if caller is None:
            return await super().handle_update_handler(input)
        mine = self._span_under(caller, f"HandleUpdate:{input.update}")
        if mine is None:  # replaying: no span
            return await self.next.handle_update_handler(input)
        self._awaiting_projection.append(mine)
        try:
            with attached_context(self._context(mine)):
                return await self.next.handle_update_handler(input)
        finally:
            if mine in self._awaiting_projection:
                self._awaiting_projection.remove(mine)

    def _completed_span(self, span_name: str, **kwargs: Any) -> None:
        if not (span_name.startswith("StartActivity:") and self._awaiting_projection):
            super()._completed_span(span_name, **kwargs)
            return
        parent = self._awaiting_projection[0]
        self._awaiting_projection.clear()
        with attached_context(self._context(parent)):
            super()._completed_span(span_name, **kwargs)

    def _span_under(self, parent: Mapping[str, Any], name: str) -> Mapping[str, Any] | None:
        """Record a span under ``parent``, linked to the workflow; its carrier."""
        out = _Headers()
        with attached_context(self._context(parent)):
            self._completed_span(
                name,
                link_context_carrier=self._load_workflow_context_carrier(),
                add_to_outbound=out,
                kind=SpanKind.SERVER,
            )
        return self._carrier(out.headers)

    def _carrier(self, headers: Mapping[str, Payload]) -> Mapping[str, Any] | None:
        payload = headers.get(self.header_key)
        if not payload:
            return None
        carrier: Mapping[str, Any] | None = self.payload_converter.from_payloads([payload])[0]
        return carrier or None

    def _context(self, carrier: Mapping[str, Any]) -> Context:
        return self._set_on_context(self.text_map_propagator.extract(carrier))
