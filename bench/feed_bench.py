"""The change feed's costs (issue 15), standalone (not yet a part of ``make bench``):

1. what the feed adds to a harvest: the same generated source harvested into a fresh on-disk
   store with ``[feed] enabled = false`` and ``true``, alternately, ``--runs`` times each
   (median seconds, and the ratio; the target is at most 1.10);
2. page latency: ``GET /ldes/page/<n>`` in process (Starlette's test client) over that store,
   each full page once uncached then once from the final-page cache, and the newest page
   (median and p95 ms);
3. catching up: hub B (``kind = "ldes"``) following the whole feed of hub A (every member one
   change), against writing A's dump and bulk-loading it into a fresh store (seconds, ratio).

    python -m bench.feed_bench [--decisions 2000] [--runs 2] [--out bench/results/feed.json]
"""

from __future__ import annotations

import argparse
import gzip
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import pyoxigraph as ox
from starlette.testclient import TestClient

from harvester.demo import Dataset, ODataProvider, generate_dataset
from harvester.feed import FeedReader, FeedTerms
from harvester.http import Fetcher, RateLimiter, RetryPolicy, build_client
from harvester.service.runtime import Runtime
from harvester.settings import ServerSettings, settings_from_mapping
from harvester.sources import ADAPTERS
from harvester.store.dumps import NQUADS_DUMP, write_dumps
from sparql import create_app

BASE = "http://hub.bench/"
PROVIDER = "http://prov.bench/informea.svc"


def _settings(
    directory: Path, *, feed: bool, base: str = BASE, sources: list[Any] | None = None
) -> Any:
    table: dict[str, Any] = {
        "server": {"base_iri": base},
        "store": {"path": str(directory / "store"), "state_dir": str(directory / "state")},
        "feed": {"enabled": feed},
        "sources": sources
        or [{"name": "prov", "kind": "informea-odata", "url": PROVIDER, "rate": 0}],
    }
    return settings_from_mapping(table)


def _harvest(runtime: Runtime, dataset: Dataset) -> float:
    config = runtime.settings.sources[0]
    provider = ODataProvider(dataset, base_url=PROVIDER)
    client = build_client(
        user_agent="bench",
        timeout=30,
        connect_timeout=5,
        transport=httpx.MockTransport(provider.handle),
    )
    fetcher = Fetcher(
        client, source=config.name, policy=RetryPolicy.from_source(config), limiter=RateLimiter(0)
    )
    started = time.perf_counter()
    runtime.harvester(config.kind).harvest(config, ADAPTERS[config.kind](config, fetcher))
    return time.perf_counter() - started


def harvest_cost(dataset: Dataset, runs: int) -> dict[str, Any]:
    times: dict[bool, list[float]] = {False: [], True: []}
    for _ in range(runs):
        for feed in (False, True):
            with tempfile.TemporaryDirectory() as directory:
                runtime = Runtime.open(_settings(Path(directory), feed=feed))
                try:
                    times[feed].append(_harvest(runtime, dataset))
                finally:
                    runtime.close()
    without, with_feed = statistics.median(times[False]), statistics.median(times[True])
    return {
        "without_feed_s": without,
        "with_feed_s": with_feed,
        "ratio": with_feed / without,
        "runs": times,
    }


def _ms(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {
        "median_ms": 1000 * statistics.median(ordered),
        "p95_ms": 1000 * ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))],
    }


def page_latency(runtime: Runtime) -> dict[str, Any]:
    client = TestClient(create_app(runtime.store, ServerSettings(base_iri=BASE)))
    reader = FeedReader(runtime.store, FeedTerms(BASE))
    state = reader.state()
    newest = reader.newest_page(state)
    cold: list[float] = []
    warm: list[float] = []
    latest: list[float] = []
    for number in range(1, newest):
        for bucket in (cold, warm):
            started = time.perf_counter()
            assert client.get(f"/ldes/page/{number}").status_code == 200
            bucket.append(time.perf_counter() - started)
    for _ in range(max(5, newest)):
        started = time.perf_counter()
        assert client.get(f"/ldes/page/{newest}").status_code == 200
        latest.append(time.perf_counter() - started)
    return {
        "members": state.count,
        "page_size": state.page_size,
        "full_pages": newest - 1,
        "full_page_uncached": _ms(cold) if cold else None,
        "full_page_cached": _ms(warm) if warm else None,
        "newest_page": _ms(latest),
    }


def catch_up(runtime: Runtime, directory: Path) -> dict[str, Any]:
    """B follows A's whole feed, against A's dump written and bulk-loaded."""
    app = TestClient(create_app(runtime.store, ServerSettings(base_iri=BASE)))

    def handle(request: httpx.Request) -> httpx.Response:
        answer = app.get(
            request.url.raw_path.decode(), headers={"Accept": request.headers["accept"]}
        )
        return httpx.Response(answer.status_code, headers=answer.headers, content=answer.content)

    source = [{"name": "hub-a", "kind": "ldes", "url": f"{BASE}ldes", "rate": 0}]
    follower = Runtime.open(
        _settings(directory / "b", feed=True, base="http://mirror.bench/", sources=source)
    )
    try:
        started = time.perf_counter()
        report = follower.harvest(
            follower.settings.sources[0], transport=httpx.MockTransport(handle)
        )
        follow_s = time.perf_counter() - started
    finally:
        follower.close()
    started = time.perf_counter()
    write_dumps(runtime.store, directory / "dumps", force=True)
    fresh = ox.Store(str(directory / "loaded"))
    with gzip.open(directory / "dumps" / NQUADS_DUMP) as dump:
        fresh.bulk_load(dump.read(), format=ox.RdfFormat.N_QUADS)
    fresh.optimize()
    dump_s = time.perf_counter() - started
    return {
        "changes": report.counts["added"],
        "status": report.status.value,
        "follow_s": follow_s,
        "dump_and_load_s": dump_s,
        "ratio": follow_s / dump_s,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--decisions", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    dataset = generate_dataset(
        treaties=("cbd", "cms", "ramsar", "stockholm"),
        seed=11,
        decisions=args.decisions,
        meetings=max(8, args.decisions // 50),
        contacts=args.decisions // 10,
        reports=args.decisions // 10,
        plans=args.decisions // 40,
        sites=args.decisions // 50,
    )
    result: dict[str, Any] = {
        "decisions": args.decisions,
        "harvest": harvest_cost(dataset, args.runs),
    }
    with tempfile.TemporaryDirectory() as name:
        directory = Path(name)
        runtime = Runtime.open(_settings(directory / "a", feed=True))
        try:
            _harvest(runtime, dataset)
            result["pages"] = page_latency(runtime)
            result["catch_up"] = catch_up(runtime, directory)
        finally:
            runtime.close()
    text = json.dumps(result, indent=2, default=str)
    print(text)
    if args.out is not None:
        args.out.write_text(text + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
