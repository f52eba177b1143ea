"""Traces: OpenTelemetry spans from an HTTP command through its update to its projection.

Off unless the standard ``OTEL_*`` variables ask for it (:func:`configured`); then one
provider per process (:func:`setup`) sends spans over OTLP/HTTP, through
:class:`runtime.span_privacy.ScrubbingSpanExporter` only: an allow-list of attributes with no
PHI and no journey, client, workflow, run, update or activity id (DESIGN section 5).

The OpenTelemetry SDK, the exporter and the instrumentations are imported only when tracing
is on (``PLC0415`` below): commands that never trace start as fast as before.
"""

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING

import structlog

if TYPE_CHECKING:
    from fastapi import FastAPI
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SpanExporter
    from temporalio.contrib.opentelemetry import TracingInterceptor

log = structlog.get_logger(__name__)

API_SERVICE = "recovery-journeys-api"
WORKER_SERVICE = "recovery-journeys-worker"


def configured(environ: Mapping[str, str]) -> bool:
    """Whether the ``OTEL_*`` variables turn tracing on.

    On with ``OTEL_TRACES_EXPORTER=otlp``, or with ``OTEL_EXPORTER_OTLP_ENDPOINT`` or
    ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`` set and no ``OTEL_TRACES_EXPORTER``; always off
    with ``OTEL_SDK_DISABLED=true`` or ``OTEL_TRACES_EXPORTER=none``.
    """
    if environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return False
    names = {n.strip().lower() for n in environ.get("OTEL_TRACES_EXPORTER", "").split(",")}
    names.discard("")
    if names - {"otlp", "none"}:
        log.warning("tracing.exporter_unsupported", supported="otlp")
    if names:
        return "otlp" in names
    return bool(
        environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
        or environ.get("OTEL_EXPORTER_OTLP_ENDPOINT")
    )


_provider: "TracerProvider | None" = None


def setup(
    service: str,
    *,
    environ: Mapping[str, str] | None = None,
    exporter: "SpanExporter | None" = None,
) -> "TracerProvider | None":
    """Set tracing up for this process once; later calls return the same provider.

    Args:
        service: ``service.name`` unless ``OTEL_SERVICE_NAME`` names one.
        environ: the variables to read (``os.environ`` when not given).
        exporter: where spans go instead of OTLP (tests); tracing is then on regardless.

    Returns:
        The provider, or None when tracing is off (nothing is installed).
    """
    global _provider  # noqa: PLW0603 - one provider per process
    if _provider is not None:
        return _provider
    env = os.environ if environ is None else environ
    if exporter is None and not configured(env):
        return None
    name = env.get("OTEL_SERVICE_NAME") or service
    _provider = _provider_for(name, exporter)
    log.info("tracing.started", service=name)
    return _provider


def _provider_for(service: str, exporter: "SpanExporter | None") -> "TracerProvider":
    """A provider sending batches through the scrubbing exporter (OTLP unless ``exporter``)."""
    import opentelemetry.trace  # noqa: PLC0415
    from opentelemetry.sdk.resources import SERVICE_NAME, Resource  # noqa: PLC0415
    from opentelemetry.sdk.trace import TracerProvider  # noqa: PLC0415
    from opentelemetry.sdk.trace.export import BatchSpanProcessor  # noqa: PLC0415

    from runtime.span_privacy import ScrubbingSpanExporter  # noqa: PLC0415

    if exporter is None:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import (  # noqa: PLC0415
            OTLPSpanExporter,
        )

        exporter = OTLPSpanExporter()
    # shutdown_on_exit (the default): the batch is sent when the interpreter exits normally.
    provider = TracerProvider(resource=Resource.create({SERVICE_NAME: service}))
    provider.add_span_processor(BatchSpanProcessor(ScrubbingSpanExporter(exporter)))
    if isinstance(
        opentelemetry.trace.get_tracer_provider(), opentelemetry.trace.ProxyTracerProvider
    ):
        opentelemetry.trace.set_tracer_provider(provider)
    return provider


def active() -> "TracerProvider | None":
    """The provider :func:`setup` made, None when tracing is off."""
    return _provider


def flush() -> None:
    """Send the spans still batched (an app stopping; uvicorn may end the process by signal)."""
    if _provider is not None:
        _provider.force_flush()


def shutdown() -> None:
    """Flush and stop the provider (before ``os._exit``, which skips exit handlers)."""
    global _provider  # noqa: PLW0603 - one provider per process
    if _provider is not None:
        _provider.shutdown()
        _provider = None


def interceptors() -> list["TracingInterceptor"]:
    """The Temporal tracing interceptor when tracing is on (client and its workers)."""
    if _provider is None:
        return []
    from runtime.temporal_tracing import JourneyTracingInterceptor  # noqa: PLC0415

    return [JourneyTracingInterceptor(_provider.get_tracer("temporalio.contrib.opentelemetry"))]


def instrument_app(app: "FastAPI") -> None:
    """Trace the app's requests when tracing is on: one server span per request."""
    if _provider is None:
        return
    from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor  # noqa: PLC0415
    from opentelemetry.metrics import NoOpMeterProvider  # noqa: PLC0415

    FastAPIInstrumentor.instrument_app(
        app,
        tracer_provider=_provider,
        # Request metrics are not this module's: no meter, no second set of labels.
        meter_provider=NoOpMeterProvider(),
        exclude_spans=["receive", "send"],
        # The health probe every few seconds would drown the traces that matter.
        excluded_urls="/health$",
    )
