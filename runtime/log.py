"""structlog configured in one place: console on a terminal, JSON lines otherwise.

Everything ends in one handler on stderr (stdout stays free for command output): structlog
loggers, stdlib loggers (SQLAlchemy, uvicorn), the SDK's Python loggers and the SDK core's
native log lines, which are forwarded into the ``temporalio.core`` logger.
"""

import functools
import logging
import sys
import traceback
from collections.abc import MutableMapping
from typing import Any

import structlog
from structlog.types import Processor
from temporalio import activity, workflow
from temporalio.runtime import (
    LogForwardingConfig,
    LoggingConfig,
    Runtime,
    TelemetryConfig,
    TelemetryFilter,
)

from runtime.codec import CodecKeyError
from runtime.settings import Settings

# SQL statements and their parameters carry clinical values; never log them.
_QUIET_LOGGERS = ("sqlalchemy.engine", "aiosqlite")
# Errors whose messages never quote a payload: logged with their message.
PHI_FREE_ERRORS: tuple[type[BaseException], ...] = (CodecKeyError,)


def configure_logging(settings: Settings) -> None:
    """Route structlog, stdlib and Temporal output through one renderer on stderr.

    Call it once at start-up, before the first Temporal client is created: the SDK core
    picks its log destination when its runtime starts.
    """
    shared = _shared_processors()
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    root = logging.getLogger()
    root.handlers[:] = [_handler(shared, _renderer(settings))]
    root.setLevel(settings.log_level.upper())
    for name in _QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
    _route_temporal()


def _shared_processors() -> list[Processor]:
    return [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]


def _renderer(settings: Settings) -> Processor:
    console = settings.log_format == "console" or (
        settings.log_format == "auto" and sys.stderr.isatty()
    )
    if not console:
        return structlog.processors.JSONRenderer()
    # Forced console output into a file or pipe stays free of colour codes.
    return structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())


def _handler(shared: list[Processor], renderer: Processor) -> logging.Handler:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            # Records from stdlib loggers get the same fields, plus their ``extra=`` keywords
            # (the SDK puts workflow and activity ids there).
            foreign_pre_chain=[
                *shared,
                structlog.stdlib.ExtraAdder(),
                _core_fields,
                _sdk_errors_without_messages,
            ],
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                structlog.processors.format_exc_info,
                renderer,
            ],
        )
    )
    return handler


def _core_fields(
    _logger: Any, _method: str, event: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """Turn the SDK core's log entry object into plain fields a JSON line can hold."""
    entry = event.pop("temporal_log", None)
    if entry is not None:
        event["core_target"] = entry.target
        event["core_fields"] = entry.fields
    return event


def _sdk_errors_without_messages(
    _logger: Any, _method: str, event: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """The SDK logs errors raised in workflow and activity code (a failed workflow task, a
    failed activity): keep their types and frames, drop their messages, which can quote
    clinical input (a validation error's ``input_value``, a refusal's reason)."""
    record = event.get("_record")
    exc_info = event.get("exc_info")
    if record is None or not record.name.startswith("temporalio") or not exc_info:
        return event
    error = exc_info[1] if isinstance(exc_info, tuple) else exc_info
    if isinstance(error, BaseException):
        event.pop("exc_info")
        event["exception"] = "".join(_trace_without_messages(error))
    return event


def _trace_without_messages(error: BaseException) -> list[str]:
    trace = traceback.TracebackException.from_exception(error)
    lines: list[str] = []
    for part in _chain(trace):
        lines += part.stack.format()
        kind = part.exc_type.__qualname__ if part.exc_type else "Exception"
        # Our own refusals name no payload; keep their message.
        safe = part.exc_type is not None and issubclass(part.exc_type, PHI_FREE_ERRORS)
        lines.append(f"{kind}: {part}\n" if safe else f"{kind} (message withheld)\n")
    return lines


def _chain(trace: traceback.TracebackException) -> list[traceback.TracebackException]:
    """The exception and its causes, outermost last (as Python prints them)."""
    chain: list[traceback.TracebackException] = []
    current: traceback.TracebackException | None = trace
    while current is not None and len(chain) < 10:
        chain.insert(0, current)
        current = current.__cause__ or (
            None if current.__suppress_context__ else current.__context__
        )
    return chain


def _route_temporal() -> None:
    # Keep event names clean ("journey.phase_changed"); the workflow and activity ids still
    # arrive as the ``temporal_workflow`` / ``temporal_activity`` fields.
    workflow.logger.workflow_info_on_message = False
    activity.logger.activity_info_on_message = False
    _forward_core_logs()


@functools.cache
def core_logging() -> LoggingConfig:
    """The SDK core's logging: through Python logging, not straight to stderr.

    Every SDK runtime of the process uses it (the default one, and the one serving the SDK's
    metrics), so the core's lines always pass the filters above.
    """
    forwarding = LogForwardingConfig(
        logger=logging.getLogger("temporalio.core"),
        append_target_to_name=False,
        prepend_target_on_message=False,
        append_log_fields_to_message=False,
    )
    levels = TelemetryFilter(core_level="WARN", other_level="ERROR")
    return LoggingConfig(filter=levels, forwarding=forwarding)


@functools.cache
def _forward_core_logs() -> None:
    """Make the SDK core log through Python logging instead of straight to stderr (once)."""
    telemetry = TelemetryConfig(logging=core_logging())
    Runtime.set_default(Runtime(telemetry=telemetry), error_if_already_set=False)
