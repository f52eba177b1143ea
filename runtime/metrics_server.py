"""Serve Prometheus metrics: the application's registry and the Temporal SDK's own endpoint.

Each process serves its own registry on its own ports (``python worker.py`` the worker's,
``journeys api`` the API's, ``journeys up`` the worker's for both): nothing is shared between
processes, so several workers on one host each need ports of their own. The SDK's metrics
(pollers, task slots, workflow task failures, request latencies) come from the SDK runtime the
process's Temporal clients are connected with, one runtime per process.

A port that cannot be bound is logged and skipped: metrics never stop journeys (Prometheus
sees the target down).
"""

import threading
from dataclasses import dataclass
from enum import StrEnum

import structlog
from prometheus_client import start_http_server
from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig

from runtime import metrics
from runtime.log import core_logging
from runtime.settings import Settings

log = structlog.get_logger(__name__)


class Role(StrEnum):
    """Which ports a process serves on."""

    WORKER = "worker"
    API = "api"


@dataclass(frozen=True)
class Endpoints:
    """What one process serves: its URLs, and the SDK runtime its Temporal clients use."""

    app_url: str | None
    sdk_url: str | None
    runtime: Runtime | None


def ports(settings: Settings, role: Role) -> tuple[int, int]:
    """The application and SDK metrics ports of a role (0: that endpoint is off)."""
    if not settings.metrics_enabled:
        return 0, 0
    if role is Role.WORKER:
        return settings.worker_metrics_port, settings.sdk_metrics_port
    return settings.api_metrics_port, settings.api_sdk_metrics_port


def urls(settings: Settings, role: Role) -> tuple[str | None, str | None]:
    """Where a role's application and SDK metrics are scraped (None: off)."""
    app, sdk = ports(settings, role)
    return _url(settings, app), _url(settings, sdk)


class _Process:
    """The endpoints of this process, started once (one SDK runtime per process)."""

    lock = threading.Lock()
    started: Endpoints | None = None


def start_metrics(settings: Settings, role: Role) -> Endpoints:
    """Serve this process's metrics; later calls (any role) return the first call's endpoints.

    ``journeys up`` runs the worker and the API in one process: whichever starts first (the
    worker) decides the ports, and the API's Temporal client shares its SDK runtime.
    """
    with _Process.lock:
        if _Process.started is None:
            _Process.started = serve(settings, role)
        return _Process.started


def serve(settings: Settings, role: Role) -> Endpoints:
    """Start the role's endpoints now (tests; processes call :func:`start_metrics`)."""
    app_port, sdk_port = ports(settings, role)
    metrics.prime()
    app_url = _serve_app(settings, app_port)
    runtime = _sdk_runtime(settings, sdk_port)
    sdk_url = _url(settings, sdk_port) if runtime is not None else None
    return Endpoints(app_url=app_url, sdk_url=sdk_url, runtime=runtime)


def _serve_app(settings: Settings, port: int) -> str | None:
    if port == 0:
        return None
    try:
        start_http_server(port, addr=settings.metrics_host)
    except OSError as exc:
        log.warning("metrics.not_served", port=port, error=type(exc).__name__)
        return None
    return _url(settings, port)


def _sdk_runtime(settings: Settings, port: int) -> Runtime | None:
    if port == 0:
        return None
    prometheus = PrometheusConfig(bind_address=f"{settings.metrics_host}:{port}")
    try:
        return Runtime(telemetry=TelemetryConfig(logging=core_logging(), metrics=prometheus))
    except ValueError:
        # The core says so when the port is taken; the default runtime serves the clients.
        log.warning("metrics.sdk_not_served", port=port)
        return None


def _url(settings: Settings, port: int) -> str | None:
    return f"http://{settings.metrics_host}:{port}/metrics" if port else None
