"""Serve an app with uvicorn on 127.0.0.1 inside the test's event loop."""

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import uvicorn
from fastapi import FastAPI

from api.serve import EmbeddedServer
from tests.portpick import free_port


@asynccontextmanager
async def served(app: FastAPI, **tls: str) -> AsyncIterator[str]:
    """Yield the base URL while the app is served; stop it afterwards.

    ``tls`` (uvicorn's ``ssl_certfile`` and ``ssl_keyfile``) serves https instead of http.
    """
    port = free_port()
    server = EmbeddedServer(
        uvicorn.Config(
            app,
            host="127.0.0.1",
            port=port,
            log_config=None,
            access_log=False,
            **tls,  # type: ignore[arg-type]
        )
    )
    serving = asyncio.create_task(server.serve())
    for _ in range(200):  # uvicorn exposes only a flag; bounded wait for it
        if server.started:
            break
        await asyncio.sleep(0.05)
    try:
        yield f"{'https' if tls else 'http'}://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await serving
