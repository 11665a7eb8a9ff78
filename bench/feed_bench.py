"""The change feed's costs (issue 15); a section of ``make bench`` (``bench.suite``) and
standalone:

1. what the feed adds to a harvest: the same generated source harvested into a fresh on-disk
   store with ``[feed] enabled = false`` and ``true``, alternately, ``--runs`` times each
   (median wall and CPU seconds, and their ratios; the target is at most 1.10);
2. page latency: ``GET /ldes/page/<n>`` in process (Starlette's test client) over hub A's
   store, each full page once uncached then once from the final-page cache, and the newest page
   (median and p95 ms);
3. catching up on ``--changes`` changes: hub A harvests a generated source of about that many
   records (each one member; the suite's mix of decisions, focal points and reports); hub B
   (``kind = "ldes"``, on disk) follows A's whole feed, against a new portal downloading A's
   dump (``GET /dumps/latest.nq.gz``, written beforehand as after every harvest) and
   bulk-loading it into a fresh on-disk store (seconds, ratio; B's records are checked
   against A's).

    python -m bench.feed_bench [--decisions 2000] [--runs 2] [--changes 5000]
                               [--out bench/results/feed.json]
"""

from __future__ import annotations

import argparse
import gzip
import json
import resource
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
MEA = "https://w3id.org/mea/ontology#"
TREATIES = ("cbd", "cms", "ramsar", "stockholm")
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


def _cpu() -> float:
    """CPU seconds of this process (every thread) and of its children waited for (the
    transform workers, once their pool is shut down)."""
    own, children = (
        resource.getrusage(resource.RUSAGE_SELF),
        resource.getrusage(resource.RUSAGE_CHILDREN),
    )
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _one_harvest(dataset: Dataset, feed: bool) -> tuple[float, float]:
    """Wall seconds of the harvest, and CPU seconds of it with its store opened and closed."""
    with tempfile.TemporaryDirectory() as directory:
        cpu = _cpu()
        runtime = Runtime.open(_settings(Path(directory), feed=feed))
        try:
            wall = _harvest(runtime, dataset)
        finally:
            runtime.close()
        return wall, _cpu() - cpu


def harvest_cost(dataset: Dataset, runs: int) -> dict[str, Any]:
    """The harvest with the feed off and on, alternately: median wall time and CPU time. On a
    shared machine the wall time swings with the other users' load (+-50 % here); the CPU time
    much less, so both ratios are given."""
    wall: dict[bool, list[float]] = {False: [], True: []}
    cpu: dict[bool, list[float]] = {False: [], True: []}
    for _ in range(runs):
        for feed in (False, True):
            seconds, used = _one_harvest(dataset, feed)
            wall[feed].append(seconds)
            cpu[feed].append(used)
    without, with_feed = statistics.median(wall[False]), statistics.median(wall[True])
    cpu_without, cpu_with = statistics.median(cpu[False]), statistics.median(cpu[True])
    return {
        "without_feed_s": without,
        "with_feed_s": with_feed,
        "ratio": with_feed / without,
        "cpu_without_feed_s": cpu_without,
        "cpu_with_feed_s": cpu_with,
        "cpu_ratio": cpu_with / cpu_without,
        "runs": {"without": wall[False], "with": wall[True]},
        "cpu_runs": {"without": cpu[False], "with": cpu[True]},
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


def _records(store: Any) -> int:
    rows = store.query(f"SELECT (COUNT(DISTINCT ?r) AS ?n) WHERE {{ ?r <{MEA}harvestSource> ?s }}")
    return int(next(iter(rows))["n"].value)


def _app(runtime: Runtime, dumps: Path) -> TestClient:
    return TestClient(create_app(runtime.store, ServerSettings(base_iri=BASE, dumps_dir=dumps)))


def catch_up(runtime: Runtime, directory: Path) -> dict[str, Any]:
    """B follows A's whole feed, against A's dump downloaded and bulk-loaded."""
    dumps = directory / "dumps"
    started = time.perf_counter()
    write_dumps(runtime.store, dumps, force=True)
    dump_write_s = time.perf_counter() - started
    app = _app(runtime, dumps)

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
        same = _records(follower.store) == _records(runtime.store)
    finally:
        follower.close()
    started = time.perf_counter()
    body = app.get(f"/dumps/{NQUADS_DUMP}").content
    fresh = ox.Store(str(directory / "loaded"))
    fresh.bulk_load(gzip.decompress(body), format=ox.RdfFormat.N_QUADS)
    fresh.optimize()
    load_s = time.perf_counter() - started
    return {
        "changes": FeedReader(runtime.store, FeedTerms(BASE)).state().count,
        "applied": report.counts["added"] + report.counts["updated"] + report.counts["deleted"],
        "requests": report.requests,
        "status": report.status.value,
        "records_equal": same,
        "follow_s": follow_s,
        "changes_per_s": report.counts["added"] / follow_s,
        "dump_write_s": dump_write_s,
        "dump_mb": len(body) / 1e6,
        "download_and_load_s": load_s,
        "ratio": follow_s / load_s,
    }


def generated(decisions: int) -> Dataset:
    """The harvest-cost source: every entity set, ``decisions`` decisions."""
    return generate_dataset(
        treaties=TREATIES,
        seed=11,
        decisions=decisions,
        meetings=max(8, decisions // 50),
        contacts=decisions // 10,
        reports=decisions // 10,
        plans=decisions // 40,
        sites=decisions // 50,
    )


def changes_dataset(changes: int) -> Dataset:
    """A source of about ``changes`` records (each one member), in the proportions of the
    suite's default mix (``bench.suite.DEFAULT_MIX``: 50 decisions, 30 focal points and 200
    national reports in 281, one meeting per 50 decisions)."""
    share = changes / 281
    decisions = max(1, round(50 * share))
    return generate_dataset(
        treaties=TREATIES, seed=11, decisions=decisions, meetings=max(1, decisions // 50),
        contacts=round(30 * share), reports=round(200 * share), plans=0,
    )  # fmt: skip


def measure_catch_up(changes: int) -> dict[str, Any]:
    """Hub A harvests about ``changes`` records; its pages' latency; B catching up on them."""
    with tempfile.TemporaryDirectory() as name:
        directory = Path(name)
        runtime = Runtime.open(_settings(directory / "a", feed=True))
        try:
            harvest_s = _harvest(runtime, changes_dataset(changes))
            pages = page_latency(runtime)
            result = catch_up(runtime, directory)
        finally:
            runtime.close()
    return {"pages": pages, "catch_up": {**result, "setup_harvest_s": harvest_s}}


def measure(decisions: int, runs: int, changes: int) -> dict[str, Any]:
    """The three measurements (what ``bench.suite`` calls)."""
    result: dict[str, Any] = {
        "decisions": decisions,
        "harvest": harvest_cost(generated(decisions), runs),
    }
    return result | measure_catch_up(changes)


def verdicts(result: dict[str, Any]) -> list[dict[str, Any]]:
    """The feed's numbers against the issue's targets."""
    harvest, pages, catch = result["harvest"], result["pages"], result["catch_up"]
    cached = pages["full_page_cached"] or pages["newest_page"]

    def row(name: str, value: float, unit: str, goal: str, met: bool | None) -> dict[str, Any]:
        return {"name": f"feed: {name}", "value": value, "unit": unit, "target": goal, "met": met}

    return [
        row("harvest time with / without the feed", harvest["ratio"], "x", "<= 1.10",
            harvest["ratio"] <= 1.10),
        row("harvest CPU time with / without the feed", harvest["cpu_ratio"], "x", "<= 1.10",
            harvest["cpu_ratio"] <= 1.10),
        row("full page, uncached, median", (pages["full_page_uncached"] or {}).get("median_ms", 0),
            "ms", "-", None),
        row("full page, cached, median", cached["median_ms"], "ms", "-", None),
        row("newest page, median", pages["newest_page"]["median_ms"], "ms", "-", None),
        row(f"catch up on {catch['changes']:,} changes / dump download + load",
            catch["ratio"], "x", "-", None),
        row("catch-up mirror equals the hub (records)", float(catch["records_equal"]), "",
            "1 (true)", bool(catch["records_equal"])),
    ]  # fmt: skip


def report_lines(result: dict[str, Any]) -> list[str]:
    """The feed's section of the suite's report."""
    harvest, pages, catch = result["harvest"], result["pages"], result["catch_up"]
    lines = [
        f"Harvest of {result['decisions']:,} generated decisions (every entity set) into a fresh "
        f"on-disk store, {len(harvest['runs']['with'])} runs each, alternately: "
        f"{harvest['without_feed_s']:.2f} s without the feed, {harvest['with_feed_s']:.2f} s "
        f"with it (median): **{harvest['ratio']:.2f}x** (target <= 1.10); CPU time (every "
        f"thread and the transform workers) {harvest['cpu_without_feed_s']:.2f} s and "
        f"{harvest['cpu_with_feed_s']:.2f} s: **{harvest['cpu_ratio']:.2f}x**.",
        "",
        "| page | median ms | p95 ms |",
        "|---|---:|---:|",
    ]
    for key, label in (("full_page_uncached", "full page, first request"),
                       ("full_page_cached", "full page, cached (final)"),
                       ("newest_page", "newest page")):  # fmt: skip
        timing = pages[key]
        if timing:
            lines.append(f"| {label} | {timing['median_ms']:.1f} | {timing['p95_ms']:.1f} |")
    lines += [
        "",
        f"Catching up: hub B follows all {catch['changes']:,} changes of hub A "
        f"({pages['page_size']} per page, {catch['requests']} requests, in process) in "
        f"{catch['follow_s']:.1f} s ({catch['changes_per_s']:,.0f} changes/s; mirror equals hub: "
        f"{catch['records_equal']}), against downloading A's dump ({catch['dump_mb']:.1f} MB "
        f"gzip) and bulk-loading it into a fresh store in {catch['download_and_load_s']:.1f} s: "
        f"**{catch['ratio']:.1f}x** (A wrote the dump in {catch['dump_write_s']:.1f} s, after its "
        f"{catch['setup_harvest_s']:.1f} s harvest).",
    ]
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--decisions", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--changes", type=int, default=5000, help="changes to catch up on")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    result = measure(args.decisions, args.runs, args.changes)
    text = json.dumps(result, indent=2, default=str)
    print(text)
    print("\n".join(report_lines(result)), file=sys.stderr)
    if args.out is not None:
        args.out.write_text(text + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
