"""The HTTP load generator, run as its own process: ``python -m bench.load URL PATH N C``.

Sends N GET requests to PATH with at most C in flight (bounded in count, and in time by the
client timeout) and prints one JSON line: requests per second and latency percentiles in ms.
"""

import asyncio
import json
import os
import sys
import time

import httpx

from bench.stats import percentile


async def _load(url: str, token: str, path: str, count: int, concurrency: int) -> dict[str, float]:
    latencies: list[float] = []
    failures = 0
    gate = asyncio.Semaphore(concurrency)
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=url, headers=headers, timeout=30) as http:
        await http.get(path)  # warm-up, not counted

        async def one() -> None:
            nonlocal failures
            async with gate:
                started = time.perf_counter()
                try:
                    response = await http.get(path)
                except httpx.HTTPError:  # a timeout or a dropped connection is a failure too
                    failures += 1
                    return
                latencies.append((time.perf_counter() - started) * 1000)
                failures += response.status_code != 200

        started = time.perf_counter()
        await asyncio.gather(*(one() for _ in range(count)))
        elapsed = time.perf_counter() - started
    return {
        "requests": count,
        "failures": failures,
        "rps": count / elapsed,
        "p50_ms": percentile(latencies, 50),
        "p95_ms": percentile(latencies, 95),
    }


def main() -> None:
    """Entry point."""
    # The token comes in the environment: never on a command line (ps, error messages).
    token = os.environ["BENCH_LOAD_TOKEN"]
    url, path, count, concurrency = sys.argv[1:5]
    result = asyncio.run(_load(url, token, path, int(count), int(concurrency)))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
