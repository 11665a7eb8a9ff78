"""Query latency while ``meahub serve`` harvests (for ``bench.harvest_e2e``): one client sends the
user-story queries (``sparql/queries/*.rq``) in a loop, idle and then while every source runs,
asked for through the admin API, until the runs and the dumps written after them are done."""

from __future__ import annotations

import http.client
import json
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from bench.e2e_setup import config_text, http_get, http_request, source_names

__all__ = ["QueryLoop", "latency_stats", "measure_serve", "percentile"]

ROOT = Path(__file__).parent.parent
QUERIES = ROOT / "sparql" / "queries"
BIN = Path(sys.executable).parent
TOKEN = "bench-e2e-admin-token"
#: the server's query timeout in this phase: a query slower than this is left out anyway
QUERY_TIMEOUT = 60


def percentile(values: Sequence[float], share: float) -> float:
    """Nearest-rank percentile (``share`` 0.95: p95) of a non-empty sequence."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * share))]


def latency_stats(samples: Sequence[tuple[str, float]]) -> dict[str, Any]:
    """p50/p95 in ms, of all samples and per query name."""
    names = sorted({name for name, _ in samples})
    per_query = {}
    for name in names:
        times = [t for n, t in samples if n == name]
        per_query[name] = _stats(times)
    return {"all": _stats([t for _, t in samples]), "per_query": per_query}


def _stats(times: Sequence[float]) -> dict[str, float]:
    if not times:
        return {"n": 0, "p50_ms": float("nan"), "p95_ms": float("nan")}
    return {
        "n": len(times),
        "p50_ms": percentile(times, 0.5) * 1000,
        "p95_ms": percentile(times, 0.95) * 1000,
    }


def load_queries() -> dict[str, str]:
    return {p.stem: p.read_text(encoding="utf-8") for p in sorted(QUERIES.glob("*.rq"))}


class QueryLoop:
    """Sends the queries one after the other, in a loop, on one keep-alive connection."""

    def __init__(self, port: int, queries: dict[str, str]) -> None:
        self.port, self.queries = port, queries
        self.errors: list[str] = []
        self._conn = http.client.HTTPConnection("127.0.0.1", port, timeout=180)

    def one(self, name: str) -> float | None:
        query = self.queries[name]
        started = time.perf_counter()
        try:
            self._conn.request("GET", "/sparql?" + urlencode({"query": query}),
                               headers={"Accept": "application/sparql-results+json"})  # fmt: skip
            response = self._conn.getresponse()
            body = response.read()
        except (OSError, http.client.HTTPException) as exc:
            self.errors.append(f"{name}: {exc}")
            self._conn.close()
            self._conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=180)
            return None
        elapsed = time.perf_counter() - started
        if response.status != 200:
            self.errors.append(f"{name}: HTTP {response.status} {body[:200]!r}")
            return None
        return elapsed

    def warm_up(self, slow: float) -> dict[str, str]:
        """Each query once; those that fail or take more than ``slow`` seconds are left out of
        the loop (one minute-long query would make every round last a minute and be the p95
        by itself). Returns why each was left out."""
        left_out = {}
        for name in list(self.queries):
            errors = len(self.errors)
            elapsed = self.one(name)
            if elapsed is None:
                left_out[name] = "failed: " + "; ".join(self.errors[errors:])[:300]
            elif elapsed > slow:
                left_out[name] = f"took {elapsed:.1f} s (more than {slow:g} s)"
            if name in left_out:
                del self.queries[name]
        return left_out

    def run(self, until: Callable[[], bool], min_rounds: int = 1) -> list[tuple[str, float]]:
        """Rounds over every query until ``until()`` is true (and ``min_rounds`` are done)."""
        samples: list[tuple[str, float]] = []
        rounds = 0
        while rounds < min_rounds or not until():
            for name in self.queries:
                elapsed = self.one(name)
                if elapsed is not None:
                    samples.append((name, elapsed))
            rounds += 1
        return samples


@dataclass
class ServedHarvest:
    """The runs asked of the server, followed until they and their dumps are done."""

    port: int
    run_ids: dict[str, str]
    dumps: Path
    done: threading.Event = field(default_factory=threading.Event)
    runs: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0

    def follow(self, started: float, wait: float = 1800) -> None:
        """Poll the runs every half second until they and the dumps are done (or ``wait``)."""
        deadline = time.monotonic() + wait
        try:
            while time.monotonic() < deadline and not self._poll():
                time.sleep(0.5)
        finally:
            self.seconds = time.perf_counter() - started
            self.done.set()

    def _poll(self) -> bool:
        for name, run_id in self.run_ids.items():
            url = f"http://127.0.0.1:{self.port}/admin/runs/{run_id}"
            try:
                status, body = http_get(url, {"Authorization": f"Bearer {TOKEN}"})
            except OSError as exc:
                self.runs[name] = {"status": f"unreachable: {exc}"}
                continue
            self.runs[name] = json.loads(body) if status == 200 else {"status": status}
        return all(_finished(r) for r in self.runs.values()) and self._dumps_written()

    def _dumps_written(self) -> bool:
        """The dumps were written after the last run that changed the store ended (their
        manifest's ``written``; no manifest, or no ``written``: nothing to wait for)."""
        changed = [r for r in self.runs.values() if _changed(r)]
        if not changed:
            return True
        try:
            written = json.loads((self.dumps / "latest.json").read_text())["written"]
        except (OSError, ValueError, KeyError):
            return not (self.dumps / "latest.json").exists()
        last = max(datetime.fromisoformat(str(r["ended"])) for r in changed)
        return bool(datetime.fromisoformat(str(written)) >= last)


def _finished(run: dict[str, Any]) -> bool:
    return run.get("status") not in ("queued", "running", None) and "ended" in run


def _changed(run: dict[str, Any]) -> bool:
    counts = (run.get("report") or {}).get("counts") or {}
    return any(counts.get(k) for k in ("added", "updated", "deleted")) and "ended" in run


@contextmanager
def server(config: Path, port: int, workdir: Path) -> Iterator[subprocess.Popen[bytes]]:
    log = workdir / "serve.log"
    with log.open("wb") as out:
        process = subprocess.Popen([str(BIN / "meahub"), "serve", "--config", str(config)],
                                   cwd=workdir, stdout=out, stderr=subprocess.STDOUT)  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        while True:
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"meahub serve did not start: {log.read_text()[-2000:]}")
            try:
                if http_get(f"http://127.0.0.1:{port}/sparql?query=ASK%7B%7D")[0] == 200:
                    break
            except OSError:
                time.sleep(0.3)
        yield process
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=120)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def measure_serve(
    base: str, workdir: Path, share: float, idle_seconds: float, slow: float = 10.0
) -> dict[str, Any]:
    """Query latency idle, then during a harvest of every source asked of the server, after
    ``share`` of the records changed at the source."""
    from harvester.service.demo_run import free_port

    port = free_port()
    config = workdir / "serve.toml"
    text = config_text(base, workdir, port=port, token=TOKEN, query_timeout=QUERY_TIMEOUT)
    config.write_text(text, encoding="utf-8")
    queries = load_queries()
    with server(config, port, workdir):
        loop = QueryLoop(port, queries)
        left_out = loop.warm_up(slow)
        idle_until = time.monotonic() + idle_seconds
        idle = loop.run(lambda: time.monotonic() > idle_until, min_rounds=3)
        status, body = http_request("POST", f"{base}/_bench/revise?share={share}")
        revised = json.loads(body)["revised"] if status == 200 else None
        started = time.perf_counter()
        harvest = ServedHarvest(port, _trigger_all(port, source_names(base)), workdir / "dumps")
        follower = threading.Thread(target=harvest.follow, args=(started,), daemon=True)
        follower.start()
        during = loop.run(harvest.done.is_set)
        follower.join()
    idle_stats, during_stats = latency_stats(idle), latency_stats(during)
    return {
        "revised_records": revised,
        "share": share,
        "harvest_seconds": harvest.seconds,
        "runs": {n: _run_brief(r) for n, r in harvest.runs.items()},
        "idle": idle_stats,
        "during": during_stats,
        "p95_ratio": during_stats["all"]["p95_ms"] / idle_stats["all"]["p95_ms"],
        "p95_ratio_per_query": {
            name: during_stats["per_query"][name]["p95_ms"] / s["p95_ms"]
            for name, s in idle_stats["per_query"].items()
            if name in during_stats["per_query"]
        },
        "left_out": left_out,
        "query_errors": loop.errors[:20],
    }


def _trigger_all(port: int, names: Sequence[str]) -> dict[str, str]:
    run_ids = {}
    for name in names:
        url = f"http://127.0.0.1:{port}/admin/harvest/{name}"
        status, body = http_request("POST", url, {"Authorization": f"Bearer {TOKEN}"})
        if status != 202:
            raise RuntimeError(f"the server refused to harvest {name}: {status} {body[:300]!r}")
        run_ids[name] = json.loads(body)["run_id"]
    return run_ids


def _run_brief(run: dict[str, Any]) -> dict[str, Any]:
    report = run.get("report") or {}
    return {"status": run.get("status"), "counts": report.get("counts"),
            "started": run.get("started"), "ended": run.get("ended")}  # fmt: skip
