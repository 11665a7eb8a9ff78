"""``make bench``: harvest throughput of MEA Hub over a local InforMEA-style mock, measured
against pyoxigraph's own ``bulk_load`` of the very same quads, in the same run.

Each measurement runs in a fresh subprocess so peak RSS (``ru_maxrss``) belongs to it alone. The
mock provider (``bench.mock_server``, generated Olingo-style data) runs in a process of its own
on a loopback port, so the harvester is measured end to end over real HTTP: listing, paging,
mapping, shape checks, hashing, raw archive, and the atomic commit (a staged generation).

    python -m bench.harvest_bench [--decisions 20000] [--small 5000]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).parent / "results"
TREATIES = ("cbd", "cms", "ramsar", "cites", "whc", "itpgrfa", "stockholm")


def measure_harvest(decisions: int, workdir: Path) -> dict[str, Any]:
    """Harvest ``decisions`` decisions (plus their meetings) from a mock provider process."""
    with mock_provider(decisions) as url:
        return _harvest(url, decisions, workdir)


@contextmanager
def mock_provider(decisions: int) -> Iterator[str]:
    from harvester.demo_run import free_port

    port = free_port()
    command = [sys.executable, "-m", "bench.mock_server", "--decisions", str(decisions)]
    process = subprocess.Popen([*command, "--port", str(port)])
    url = f"http://127.0.0.1:{port}/bench/informea.svc"
    try:
        _wait_until_up(url + "/$metadata")
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)


def _wait_until_up(url: str) -> None:
    import httpx

    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            httpx.get(url, timeout=2)
            return
        except httpx.TransportError:
            time.sleep(0.2)
    raise RuntimeError(f"mock provider at {url} did not start")


def _harvest(url: str, decisions: int, workdir: Path) -> dict[str, Any]:
    from harvester.runtime import Runtime
    from harvester.settings import settings_from_mapping

    settings = settings_from_mapping(
        {
            "store": {"path": str(workdir / "store")},
            "sources": [
                {
                    "name": "bench",
                    "kind": "informea-odata",
                    "url": url,
                    "entities": ["Meetings", "Decisions"],
                    "rate": 0,
                    "page_size": 500,
                }
            ],
        }
    )
    with Runtime.open(settings) as runtime:
        before = len(runtime.store)
        start = time.perf_counter()
        report = runtime.harvest(settings.sources[0])
        seconds = time.perf_counter() - start
        quads = len(runtime.store) - before
        dump = workdir / "harvested.nq"
        with dump.open("wb") as out:
            runtime.store.dump(out, _nquads())
    records = sum(report.counts[k] for k in ("added", "updated", "unchanged"))
    return {
        "decisions": decisions,
        "records": records,
        "failed": report.counts["failed"],
        "quads": quads,
        "seconds": seconds,
        "records_per_s": records / seconds,
        "quads_per_s": quads / seconds,
        "peak_rss_mb": _peak_rss_mb(),
        "dump": str(dump),
    }


def measure_bulk_load(dump: Path, workdir: Path) -> dict[str, Any]:
    """The peer: pyoxigraph ``bulk_load`` of the same quads into a fresh on-disk store."""
    import pyoxigraph as ox

    store = ox.Store(str(workdir / "peer"))
    start = time.perf_counter()
    store.bulk_load(path=str(dump), format=ox.RdfFormat.N_QUADS)
    seconds = time.perf_counter() - start
    quads = len(store)
    return {
        "quads": quads,
        "seconds": seconds,
        "quads_per_s": quads / seconds,
        "peak_rss_mb": _peak_rss_mb(),
    }


def _nquads() -> Any:
    import pyoxigraph as ox

    return ox.RdfFormat.N_QUADS


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _child(kind: str, arg: str, workdir: Path) -> dict[str, Any]:
    cmd = [sys.executable, "-m", "bench.harvest_bench", "--child", kind, arg, str(workdir)]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return dict(json.loads(out.strip().splitlines()[-1]))


def run(decisions: int, small: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="meahub-bench-") as tmp:
        big_dir, small_dir, peer_dir = (Path(tmp) / n for n in ("big", "small", "peer"))
        for d in (big_dir, small_dir, peer_dir):
            d.mkdir()
        big = _child("harvest", str(decisions), big_dir)
        little = _child("harvest", str(small), small_dir)
        peer = _child("bulk", big["dump"], peer_dir)
    return {
        "harvest": big,
        "harvest_small": little,
        "bulk_load": peer,
        "ratio_quads_per_s": big["quads_per_s"] / peer["quads_per_s"],
        "rss_ratio_big_vs_small": big["peak_rss_mb"] / little["peak_rss_mb"],
    }


def report_markdown(result: dict[str, Any], command: str) -> str:
    big, little, peer = result["harvest"], result["harvest_small"], result["bulk_load"]
    return "\n".join(
        [
            "# Harvest benchmark",
            "",
            f"Command: `{command}`",
            "",
            "| run | records | quads | seconds | records/s | quads/s | peak RSS MB |",
            "|---|---:|---:|---:|---:|---:|---:|",
            _row(f"meahub harvest, {big['decisions']} decisions", big),
            _row(f"meahub harvest, {little['decisions']} decisions", little),
            f"| pyoxigraph bulk_load (peer), same quads | - | {peer['quads']} "
            f"| {peer['seconds']:.2f} | - | {peer['quads_per_s']:.0f} "
            f"| {peer['peak_rss_mb']:.0f} |",
            "",
            "- harvest quads/s as a share of bulk_load quads/s: "
            f"**{result['ratio_quads_per_s']:.2f}x**",
            f"- peak RSS, {big['decisions']} vs {little['decisions']} decisions: "
            f"**{result['rss_ratio_big_vs_small']:.2f}x**",
            "",
        ]
    )


def _row(name: str, r: dict[str, Any]) -> str:
    return (
        f"| {name} | {r['records']} | {r['quads']} | {r['seconds']:.2f} | "
        f"{r['records_per_s']:.0f} | {r['quads_per_s']:.0f} | {r['peak_rss_mb']:.0f} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--decisions", type=int, default=20_000)
    parser.add_argument("--small", type=int, default=5_000)
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        kind, arg, workdir = args.child
        fn = measure_harvest if kind == "harvest" else measure_bulk_load
        value: Any = int(arg) if kind == "harvest" else Path(arg)
        print(json.dumps(fn(value, Path(workdir))))
        return
    result = run(args.decisions, args.small)
    command = "make bench  (python -m bench.harvest_bench " + " ".join(sys.argv[1:]) + ")"
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "harvest.json").write_text(json.dumps(result, indent=2) + "\n")
    markdown = report_markdown(result, command)
    (RESULTS / "harvest.md").write_text(markdown)
    print(markdown)


if __name__ == "__main__":
    main()
