"""Run the embedded dev server for integration tests; prints ``ready`` once it serves."""

import asyncio
import signal
import sys

from runtime.devserver import EmbeddedTemporal
from runtime.settings import Settings


async def main() -> None:
    settings = Settings()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    async with EmbeddedTemporal(
        data_dir=settings.data_dir, port=settings.temporal_port, ui_port=settings.temporal_ui_port
    ):
        print("ready", flush=True)
        await stop.wait()


if __name__ == "__main__":
    asyncio.run(main())
    sys.exit(0)
