"""Turn every expected failure into one line on stderr and a non-zero exit."""

import asyncio
import functools
import os
import sys
from collections.abc import Callable, Coroutine
from typing import Any, ParamSpec, TypeVar

import click
import typer
from pydantic import ValidationError
from rich.console import Console

from models.errors import RejectionCode

P = ParamSpec("P")
R = TypeVar("R")

err_console = Console(stderr=True)

EXIT_FAILED = 1
EXIT_REJECTED = 3

# Refusals about the input itself, not the journey's state or the actor's authority: asking
# again with other values will help, so they exit 1 (invalid value) like a value the CLI
# rejects before sending, not 3 (refused).
INPUT_CODES = frozenset({RejectionCode.INVALID_ANSWERS})


def fail(message: str, code: int = EXIT_FAILED) -> typer.Exit:
    """Print ``error: message`` and return the exit to raise."""
    err_console.print(f"[red]error:[/red] {message}", highlight=False, soft_wrap=True)
    return typer.Exit(code)


def invalid(option: str, message: str) -> typer.Exit:
    """A bad option value: ``error: --option: message`` and exit 1 (not click's usage box)."""
    return fail(f"{option}: {message}")


def describe_validation(exc: ValidationError) -> str:
    """The first invalid field and why, e.g. ``dimensions.d1: ...``."""
    first = exc.errors()[0]
    where = ".".join(str(p) for p in first["loc"])
    return f"{where}: {first['msg']}" if where else first["msg"]


def run(coro_fn: Callable[P, Coroutine[Any, Any, R]]) -> Callable[P, R]:
    """Run an async command, mapping known errors to a one-line message."""

    @functools.wraps(coro_fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return asyncio.run(coro_fn(*args, **kwargs))
        except (typer.Exit, click.exceptions.Exit, click.exceptions.Abort):
            # All are RuntimeErrors: without this, a deliberate exit would print "error: N".
            raise
        except KeyboardInterrupt:
            raise typer.Exit(130) from None
        except Exception as exc:
            exit_ = _translate(exc)
            if exit_ is None:
                raise
            raise exit_ from None

    return wrapper


def _translate(exc: Exception) -> typer.Exit | None:
    """The one-line message and exit for a known error; None for anything else."""
    if isinstance(exc, ValidationError):
        return fail(describe_validation(exc))
    # Imported only now: they load Temporal, SQLAlchemy and YAML, which a command that never
    # reaches them (--help, a bad value) should not wait for. A command that raised one of
    # these has already imported its module, so this costs nothing then.
    from temporalio.service import RPCError

    from clinical.policy_loader import PolicyError
    from service.access import AccessDeniedError
    from service.journeys import CommandRejectedError, JourneyError

    if isinstance(exc, CommandRejectedError):
        code = EXIT_FAILED if exc.code in INPUT_CODES else EXIT_REJECTED
        return fail(f"rejected ({exc.code}): {exc.message}", code)
    if isinstance(exc, AccessDeniedError):
        return fail(f"refused ({exc.code}): {exc.message}", EXIT_REJECTED)
    if isinstance(exc, JourneyError | PolicyError):
        return fail(str(exc))
    if isinstance(exc, RPCError):
        return fail(f"Temporal refused the request: {exc.message}")
    if isinstance(exc, OSError | RuntimeError):
        return fail(first_line(exc))
    return None


def first_line(exc: BaseException) -> str:
    """The first line of an error, naming Temporal when it cannot be reached."""
    text = str(exc).strip().splitlines()
    message = text[0] if text else type(exc).__name__
    if "Failed client connect" in message:
        return f"cannot reach Temporal: {message}"
    return message


def flush_and_exit(code: int) -> None:
    """Leave without the interpreter's finalizers (see temporalio/sdk-python#300).

    Spans still batched (``journeys api`` and ``up`` with tracing on) are sent first; a
    command that never loaded the tracing module has none.
    """
    tracing = sys.modules.get("runtime.tracing")
    if tracing is not None:
        tracing.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
