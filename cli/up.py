"""``journeys up``: embedded Temporal (or a configured cluster), the worker, the URLs.

The server, the worker and the embedded Temporal are imported inside the commands: every other
command starts without loading them.
"""

import asyncio
import contextlib
import signal
from typing import TYPE_CHECKING

import typer

from cli import render
from cli.errors import EXIT_FAILED, fail, first_line, flush_and_exit
from runtime.settings import Settings, get_settings

if TYPE_CHECKING:
    from api.serve import EmbeddedServer
    from runtime.metrics_server import Endpoints

app = typer.Typer()


@app.command()
def up() -> None:
    """Start everything: embedded Temporal with its UI (unless TEMPORAL_ADDRESS is set) and
    the worker. Ctrl-C or SIGTERM stops it cleanly; starting again resumes every journey."""
    from runtime.log import configure_logging

    settings = get_settings()
    configure_logging(settings)
    code = 0
    try:
        asyncio.run(_serve(settings))
    except (OSError, RuntimeError) as exc:
        fail(first_line(exc))
        code = EXIT_FAILED
    # Leave without the interpreter's finalizers on every path: the SDK's native runtime can
    # abort at exit after a worker ran (temporalio/sdk-python#300).
    flush_and_exit(code)


async def _serve(settings: Settings) -> None:
    from runtime.devserver import EmbeddedTemporal
    from runtime.files import private_directory
    from runtime.metrics_server import Role, start_metrics

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    # Owner-only: the read model, the Temporal database and the key file live here.
    private_directory(settings.data_dir, tighten=True)
    # One process: the worker's metrics ports serve the API's metrics too.
    metrics = start_metrics(settings, Role.WORKER)
    async with contextlib.AsyncExitStack() as stack:
        if settings.temporal_address is None:
            temporal = EmbeddedTemporal(
                data_dir=settings.data_dir,
                port=settings.temporal_port,
                ui_port=settings.temporal_ui_port,
                codec_endpoint=codec_endpoint(settings),
            )
            await stack.enter_async_context(temporal)
            _announce(settings, temporal.address, temporal.ui_url, metrics)
        else:
            _announce(settings, settings.temporal_address, None, metrics)
        await _run_worker_and_api(settings, stop)
    render.console.print("stopped")


async def _run_worker_and_api(settings: Settings, stop: asyncio.Event) -> None:
    from api.serve import api_server
    from runtime.client import connect
    from runtime.search_attributes import require
    from worker import run_worker

    # Fail fast, with Temporal named, before anything else starts: a cluster without the
    # journeys' search attributes would fail every journey's workflow task.
    await require(await connect(settings))
    web = api_server(settings)
    serving = asyncio.create_task(_serve_api(web, settings))
    # If the API cannot run, nothing should: stop the worker too.
    serving.add_done_callback(lambda _: stop.set())
    try:
        await run_worker(settings, stop)
    finally:
        web.should_exit = True
        await serving


async def _serve_api(web: "EmbeddedServer", settings: Settings) -> None:
    try:
        await web.serve()
    except SystemExit:
        # uvicorn exits when it cannot start (port taken, lifespan failed); say which.
        where = f"{settings.api_host}:{settings.api_port}"
        raise RuntimeError(f"the API could not start on {where}") from None


def codec_endpoint(settings: Settings) -> str:
    """The API's codec endpoint, for the Temporal UI and ``temporal --codec-endpoint``."""
    return f"http://{settings.api_host}:{settings.api_port}/codec"


def _announce(settings: Settings, address: str, ui_url: str | None, metrics: "Endpoints") -> None:
    render.fields(
        "Recovery Journeys is running",
        {
            "Dashboard and API": f"http://{settings.api_host}:{settings.api_port}/",
            "API docs": f"http://{settings.api_host}:{settings.api_port}/docs",
            "First account": "journeys staff add YOUR-ID --role admin (prints a token)",
            "Temporal": address,
            "Temporal UI": ui_url or "(the cluster's own UI)",
            "Codec endpoint": codec_endpoint(settings),
            "Metrics (worker and API)": metrics.app_url or "(off)",
            "Temporal SDK metrics": metrics.sdk_url or "(off)",
            "Namespace": settings.temporal_namespace,
            "Task queue": settings.task_queue,
            "Data directory": str(settings.data_dir.resolve()),
            "Try": "journeys demo --journeys 20, then journeys list --by YOUR-ID",
            "Stop": "Ctrl-C",
        },
    )


@app.command()
def api() -> None:
    """Serve only the HTTP API and the dashboard (workers run elsewhere, e.g. python worker.py)."""
    import uvicorn

    from api.app import create_app
    from runtime.log import configure_logging

    settings = get_settings()
    configure_logging(settings)
    config = uvicorn.Config(
        create_app(),
        host=settings.api_host,
        port=settings.api_port,
        log_config=None,
        access_log=False,
        proxy_headers=True,
    )
    uvicorn.Server(config).run()
