"""The baselines' own worker process: ``python -m bench.baseline_worker ADDRESS DATA_DIR QUEUE``.

Runs the bare workflow and the update-floor workflow until SIGTERM or SIGINT, in a process of
its own as the journeys worker runs in the same benchmark.
"""

import asyncio
import os
import signal
import sys
from pathlib import Path

from temporalio.worker import Worker

from bench.baseline import NoopWorkflow, RowWriter, UpdateFloorWorkflow, noop
from runtime.client import connect
from runtime.settings import Settings


async def serve(address: str, data_dir: Path, queue: str) -> None:
    """Run the baseline workflows on ``queue`` until told to stop."""
    client = await connect(Settings(temporal_address=address, data_dir=data_dir))
    writer = RowWriter(data_dir / "floor.db")
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        asyncio.get_running_loop().add_signal_handler(sig, stop.set)
    try:
        async with Worker(
            client,
            task_queue=queue,
            workflows=[NoopWorkflow, UpdateFloorWorkflow],
            activities=[noop, writer.write],
        ):
            await stop.wait()
    finally:
        writer.close()


if __name__ == "__main__":
    asyncio.run(serve(sys.argv[1], Path(sys.argv[2]), sys.argv[3]))
    sys.stdout.flush()
    os._exit(0)  # the SDK can abort at interpreter exit (temporalio/sdk-python#300)
