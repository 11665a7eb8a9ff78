"""Overhead of the query worker process hop against in-process evaluation on a thread:
``python -m bench.worker_overhead STORE_DIR [--calls 2000]`` (an on-disk MEA Hub store).

Both paths answer the same cheap query through :func:`sparql.evaluate.run`; the figure is the
median latency of one call, awaited from an asyncio event loop as the endpoint does.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from starlette.concurrency import run_in_threadpool

from harvester.store.embedded import MeaStore
from sparql.evaluate import Answer, Failure, Job, format_key, run
from sparql.negotiation import RESULTS_JSON
from sparql.workers import WorkerPool

QUERY = "ASK { ?s ?p ?o }"


async def _median_ms(call: Callable[[], Awaitable[Answer | Failure]], calls: int) -> float:
    for _ in range(50):
        await call()
    times = []
    for _ in range(calls):
        start = time.perf_counter()
        await call()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


async def _measure(path: Path, calls: int) -> dict[str, float]:
    job = Job(QUERY, results=(format_key(RESULTS_JSON), "application/sparql-results+json"))
    store = MeaStore(path)

    def in_process(text: str, default: object, named: object) -> object:
        return store.query(text)

    pool = WorkerPool(path, size=1, timeout=10)
    pool.start()
    try:
        thread = await _median_ms(lambda: run_in_threadpool(run, in_process, job), calls)
        worker = await _median_ms(lambda: pool.run(job), calls)
    finally:
        pool.close()
        store.close()
    return {"in_process_thread_ms": thread, "worker_process_ms": worker}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("store", type=Path)
    parser.add_argument("--calls", type=int, default=2000)
    args = parser.parse_args()
    result = asyncio.run(_measure(args.store, args.calls))
    for name, value in result.items():
        print(f"{name}: {value:.3f}")


if __name__ == "__main__":
    main()
