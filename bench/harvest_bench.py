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
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).parent / "results"
TREATIES = ("cbd", "cms", "ramsar", "cites", "whc", "itpgrfa", "stockholm")


@dataclass(frozen=True)
class Mix:
    """The records a mock provider serves (``meetings`` None: one per 50 decisions)."""

    decisions: int
    contacts: int = 0
    reports: int = 0
    meetings: int | None = None

    def server_args(self) -> list[str]:
        """The ``bench.mock_server`` arguments that generate this mix."""
        args = ["--decisions", str(self.decisions), "--contacts", str(self.contacts)]
        args += ["--reports", str(self.reports)]
        return args + ([] if self.meetings is None else ["--meetings", str(self.meetings)])

    def entities(self) -> list[str]:
        """The entity sets to harvest: those the mix fills."""
        extra = [("Contacts", self.contacts), ("CountryReports", self.reports)]
        return ["Meetings", "Decisions", *(name for name, n in extra if n)]


def measure_harvest(
    mix: int | Mix,
    workdir: Path,
    store: dict[str, Any] | None = None,
    *,
    dump: bool = True,
) -> dict[str, Any]:
    """Harvest ``mix`` (a number of decisions, plus their meetings, or a :class:`Mix`) from a
    mock provider process into ``store`` (default: an embedded store in ``workdir/store``),
    sampling the RSS of this process and of its transform workers while it runs."""
    mix = mix if isinstance(mix, Mix) else Mix(mix)
    with mock_provider(mix) as (url, mock_pid), RssSampler(exclude=mock_pid) as rss:
        result = _harvest(url, mix, workdir, store, dump=dump, rss=rss)
    return result | rss.summary()


@contextmanager
def mock_provider(mix: int | Mix) -> Iterator[tuple[str, int]]:
    """A ``bench.mock_server`` process on a free loopback port: its base URL and process id."""
    from harvester.service.demo_run import free_port

    mix = mix if isinstance(mix, Mix) else Mix(mix)
    port = free_port()
    command = [sys.executable, "-m", "bench.mock_server", *mix.server_args()]
    process = subprocess.Popen([*command, "--port", str(port)])
    url = f"http://127.0.0.1:{port}/bench/informea.svc"
    try:
        _wait_until_up(url + "/$metadata")
        yield url, process.pid
    finally:
        process.terminate()
        process.wait(timeout=30)


class RssSampler:
    """Samples, from ``/proc``, the resident memory of this process and of its descendants
    (the transform worker processes and their fork server) every ``interval`` seconds."""

    def __init__(self, exclude: int | None = None, interval: float = 0.25) -> None:
        self._exclude, self._interval = exclude, interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self.peak_total = self.peak_self = self.peak_workers = 0
        self.worker_pids: set[int] = set()

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        """Stop sampling (idempotent)."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()

    def _loop(self) -> None:
        while not self._stop.wait(self._interval):
            self.sample()

    def sample(self) -> None:
        """One reading: this process, its descendants, their sum."""
        me = os.getpid()
        others = descendants(me, skip=self._exclude)
        mine, theirs = rss_kb(me), sum(rss_kb(p) for p in others)
        self.worker_pids.update(others)
        self.peak_self = max(self.peak_self, mine)
        self.peak_workers = max(self.peak_workers, theirs)
        self.peak_total = max(self.peak_total, mine + theirs)

    def summary(self) -> dict[str, Any]:
        """Peaks in MB (sampled), and how many descendant processes were seen."""
        return {
            "sampled_peak_rss_self_mb": self.peak_self / 1024,
            "sampled_peak_rss_workers_mb": self.peak_workers / 1024,
            "sampled_peak_rss_total_mb": self.peak_total / 1024,
            "worker_processes_seen": len(self.worker_pids),
        }


def _parents() -> dict[int, int]:
    parents = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            parents[int(entry)] = int(stat.rsplit(")", 1)[1].split()[1])
    return parents


def descendants(pid: int, skip: int | None = None) -> list[int]:
    """Process ids below ``pid`` in the process tree, leaving out ``skip`` and its subtree."""
    parents, found, frontier = _parents(), [], [pid]
    while frontier:
        children = [c for c, p in parents.items() if p in frontier and c != skip]
        found += children
        frontier = children
    return found


def rss_kb(pid: int) -> int:
    """A process's resident set size in KiB (0 when it is gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


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


def _harvest(
    url: str,
    mix: Mix,
    workdir: Path,
    store: dict[str, Any] | None,
    *,
    dump: bool,
    rss: RssSampler | None = None,
) -> dict[str, Any]:
    """The harvest itself; RSS peaks are taken before the dump (the peer's input) is written."""
    from harvester.service.runtime import Runtime
    from harvester.settings import settings_from_mapping

    settings = settings_from_mapping(
        {
            "store": store or {"path": str(workdir / "store")},
            "sources": [
                {
                    "name": "bench",
                    "kind": "informea-odata",
                    "url": url,
                    "entities": mix.entities(),
                    "rate": 0,
                    "page_size": 500,
                }
            ],
        }
    )
    path = workdir / "harvested.nq"
    with Runtime.open(settings) as runtime:
        before = len(runtime.store)
        start = time.perf_counter()
        report = runtime.harvest(settings.sources[0])
        seconds = time.perf_counter() - start
        quads = len(runtime.store) - before
        peak_rss_mb = _peak_rss_mb()
        if rss is not None:
            rss.stop()
        if dump:
            with path.open("wb") as out:
                runtime.store.dump(out, _nquads())
    records = sum(report.counts[k] for k in ("added", "updated", "unchanged"))
    return {
        "decisions": mix.decisions,
        "mix": asdict(mix),
        "records": records,
        "failed": report.counts["failed"],
        "quads": quads,
        "seconds": seconds,
        "records_per_s": records / seconds,
        "quads_per_s": quads / seconds,
        "peak_rss_mb": peak_rss_mb,
        "dump": str(path) if dump else None,
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
