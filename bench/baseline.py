"""Baselines measured on the same server in the same run as the journeys.

- a bare workflow with one no-op activity (throughput floor for admissions);
- an update whose handler writes one row through a local activity (latency floor for
  commands: the least any command answered after its projection can cost here).
"""

import asyncio
import sqlite3
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

from temporalio import activity, workflow


@activity.defn(name="bench_noop")
async def noop() -> None:
    """Does nothing."""


@workflow.defn(name="BenchNoop")
class NoopWorkflow:
    """Starts, runs one activity, ends."""

    @workflow.run
    async def run(self) -> None:
        await workflow.execute_activity(noop, start_to_close_timeout=timedelta(seconds=30))


class RowWriter:
    """Writes one row per call into a SQLite file, on one thread (as the projection writer)."""

    def __init__(self, path: Path) -> None:
        self._thread = ThreadPoolExecutor(1, thread_name_prefix="bench-writer")
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute("CREATE TABLE IF NOT EXISTS rows (n INTEGER PRIMARY KEY)")

    def _write(self, n: int) -> None:
        with self._db:
            self._db.execute("INSERT OR IGNORE INTO rows (n) VALUES (?)", (n,))

    @activity.defn(name="bench_write_row")
    async def write(self, n: int) -> None:
        """Insert row ``n`` (once)."""
        await asyncio.get_running_loop().run_in_executor(self._thread, self._write, n)

    def close(self) -> None:
        """Stop the thread and close the file."""
        self._thread.shutdown(wait=True)
        self._db.close()


@workflow.defn(name="BenchUpdateFloor")
class UpdateFloorWorkflow:
    """Stays open; each update writes one row through a local activity, then answers."""

    def __init__(self) -> None:
        self._done = False

    @workflow.run
    async def run(self) -> None:
        await workflow.wait_condition(lambda: self._done and workflow.all_handlers_finished())

    @workflow.update
    async def write(self, n: int) -> int:
        """Write row ``n``; answers once it is written."""
        await workflow.execute_local_activity_method(
            RowWriter.write, n, start_to_close_timeout=timedelta(seconds=30)
        )
        return n

    @workflow.signal
    def finish(self) -> None:
        """Let the run end."""
        self._done = True
