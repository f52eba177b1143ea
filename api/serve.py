"""Serve the API inside a process that already handles its own signals (``journeys up``)."""

import contextlib
from collections.abc import Generator

import uvicorn

from api.app import create_app
from runtime.settings import Settings


class EmbeddedServer(uvicorn.Server):
    """A uvicorn server that leaves SIGINT/SIGTERM to the host process."""

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        """The host stops us by setting ``should_exit``."""
        yield


def api_server(settings: Settings) -> EmbeddedServer:
    """The API and dashboard on the configured host and port."""
    config = uvicorn.Config(
        create_app(),
        host=settings.api_host,
        port=settings.api_port,
        log_config=None,
        access_log=False,
        lifespan="on",
    )
    return EmbeddedServer(config)
