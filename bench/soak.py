"""``make soak``: ``meahub serve`` (a real process) harvesting a mock provider every 10 s with
injected faults and changing records, while query threads hit ``/sparql`` without pause.

Reports the server's RSS (main process plus its query workers) after warm-up, the queries that
failed, and the harvest outcomes, to ``bench/results/soak.md`` and ``soak.json``::

    python -m bench.soak --minutes 30
"""

from __future__ import annotations

import argparse
import json
import platform
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from bench.harvest_bench import rss_kb
from harvester.demo import Fault, ODataProvider, generate_dataset
from harvester.demo.paced import Paced, serve_providers
from harvester.service.demo_run import free_port

RESULTS = Path(__file__).parent / "results"
QUERIES = sorted((Path(__file__).parent / "queries").glob("*.rq"))
HUB = "http://hub.soak/"


@dataclass
class Tally:
    samples: list[tuple[float, int]] = field(default_factory=list)
    queries: int = 0
    failed_queries: list[str] = field(default_factory=list)
    runs: dict[str, str] = field(default_factory=dict)
    flagged_seen: bool = False
    stop: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument("--interval", default="10s", help="harvest interval")
    parser.add_argument("--decisions", type=int, default=300)
    parser.add_argument("--query-threads", type=int, default=2)
    args = parser.parse_args()
    dataset = generate_dataset(
        treaties=("cbd", "cms", "ramsar"), decisions=args.decisions, meetings=20, contacts=0,
        reports=0, plans=0, sites=0,
    )  # fmt: skip
    holder: dict[str, Paced] = {}

    def build(base: str) -> dict[str, Paced]:
        inner = ODataProvider(dataset, base_url=f"{base}/soak/informea.svc")
        holder["soak"] = Paced(inner, 0.01)
        return holder

    with tempfile.TemporaryDirectory() as tmp, serve_providers(build) as base:
        tally = run(Path(tmp), base, holder["soak"], dataset, args)
    write_results(tally, args)


def run(tmp: Path, base: str, provider: Paced, dataset: Any, args: argparse.Namespace) -> Tally:
    port = free_port()
    config = tmp / "meahub.toml"
    config.write_text(_config(tmp, base, port, args.interval), encoding="utf-8")
    log = (tmp / "serve.log").open("wb")
    command = [sys.executable, "-m", "harvester.service.cli", "serve", "--config", str(config)]
    server = subprocess.Popen(command, stdout=log, stderr=log)
    url = f"http://127.0.0.1:{port}"
    tally = Tally()
    try:
        _wait_up(url, server)
        threads = [threading.Thread(target=_query_loop, args=(url, tally), daemon=True)
                   for _ in range(args.query_threads)]  # fmt: skip
        threads.append(threading.Thread(target=_chaos, args=(provider, dataset, tally)))
        for thread in threads:
            thread.start()
        _sample(url, server.pid, tally, args.minutes * 60)
        tally.stop.set()
        for thread in threads:
            thread.join(timeout=60)
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=120)
        log.close()
    return tally


def _config(tmp: Path, base: str, port: int, interval: str) -> str:
    return f"""
[store]
path = "{tmp / "store"}"
[server]
port = {port}
base_iri = "{HUB}"
query_workers = 2
query_timeout = 30
[scheduler]
retry_base = "2s"
flag_after_failures = 2
[[sources]]
name = "soak"
kind = "informea-odata"
url = "{base}/soak/informea.svc"
entities = ["Meetings", "Decisions"]
interval = "{interval}"
retries = 0
rate = 0
"""


def _wait_up(url: str, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit("meahub serve exited at start-up")
        try:
            if httpx.get(url + "/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise SystemExit("meahub serve did not start")


def _query_loop(url: str, tally: Tally) -> None:
    texts = [q.read_text(encoding="utf-8") for q in QUERIES]
    accept = {"Accept": "application/sparql-results+json"}
    with httpx.Client(timeout=60) as client:
        index = 0
        while not tally.stop.is_set():
            text = texts[index % len(texts)]
            index += 1
            try:
                response = client.post(url + "/sparql", data={"query": text}, headers=accept)
                problem = None if response.status_code == 200 else f"HTTP {response.status_code}"
            except httpx.HTTPError as exc:
                problem = f"{type(exc).__name__}: {exc}"
            with tally.lock:
                tally.queries += 1
                if problem:
                    tally.failed_queries.append(problem)


def _chaos(provider: Paced, dataset: Any, tally: Tally) -> None:
    """Every 25 s some decisions change; every 60 s the provider fails two requests in a row
    (two failed runs: retried with backoff, flagged at two); every 90 s it is slow for a while."""
    inner = provider.inner
    assert isinstance(inner, ODataProvider)
    tick = 0
    ids = sorted(dataset["Decisions"])
    while not tally.stop.wait(5):
        tick += 5
        if tick % 25 == 0:
            for record_id in ids[tick % len(ids) :][:10]:
                dataset.touch("Decisions", record_id, datetime.now(UTC))
        if tick % 60 == 0:
            inner.faults.append(Fault(500, times=2, start=0))
        provider.delay = 0.05 if tick % 90 < 15 else 0.01


def _sample(url: str, pid: int, tally: Tally, seconds: float) -> None:
    started = time.monotonic()
    while time.monotonic() - started < seconds:
        tally.samples.append((time.monotonic() - started, _rss_tree(pid)))
        try:
            status = httpx.get(url + "/status", timeout=30).json()["sources"]["soak"]
        except httpx.HTTPError:
            status = {}
        for entry in status.get("history") or []:
            tally.runs[entry["run_id"]] = entry["status"]
        tally.flagged_seen |= bool(status.get("flagged"))
        time.sleep(5)


def _rss_tree(pid: int) -> int:
    """RSS in kB of a process and its children (the query workers)."""
    total = rss_kb(pid)
    children = Path(f"/proc/{pid}/task/{pid}/children")
    if children.exists():
        for child in children.read_text().split():
            total += rss_kb(int(child))
    return total


def write_results(tally: Tally, args: argparse.Namespace) -> None:
    total = tally.samples[-1][0] if tally.samples else 0
    warm = [kb for t, kb in tally.samples if total * 0.2 <= t <= total * 0.3] or [0]
    tail = [kb for t, kb in tally.samples if t >= total * 0.9] or [0]
    baseline, final = statistics.median(warm), statistics.median(tail)
    growth = (final - baseline) / baseline * 100 if baseline else 0.0
    outcomes: dict[str, int] = {}
    for status in tally.runs.values():
        outcomes[status] = outcomes.get(status, 0) + 1
    result = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "minutes": args.minutes,
        "interval": args.interval,
        "decisions": args.decisions,
        "rss_after_warmup_kb": baseline,
        "rss_end_kb": final,
        "rss_growth_percent": round(growth, 1),
        "rss_max_kb": max((kb for _, kb in tally.samples), default=0),
        "queries": tally.queries,
        "failed_queries": len(tally.failed_queries),
        "failed_query_examples": tally.failed_queries[:5],
        "harvest_outcomes": outcomes,
        "flagged_seen": tally.flagged_seen,
        "machine": f"{platform.machine()} {platform.system()} Python {platform.python_version()}",
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "soak.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    (RESULTS / "soak.md").write_text(_markdown(result), encoding="utf-8")
    print(_markdown(result))


def _markdown(r: dict[str, Any]) -> str:
    verdict_rss = "within" if abs(r["rss_growth_percent"]) <= 10 else "OUTSIDE"
    warm_mb, end_mb = r["rss_after_warmup_kb"] / 1024, r["rss_end_kb"] / 1024
    return f"""# Soak run ({r["date"]})

`python -m bench.soak --minutes {r["minutes"]:g}`: `meahub serve` harvesting a mock provider
({r["decisions"]} decisions) every {r["interval"]}, with injected faults (two failing requests
every 60 s), records changing every 25 s and slow spells, while {r["queries"]} queries ran
(the six `bench/queries/*.rq`, two threads, no pause). {r["machine"]}.

| measure | value | target |
|---|---|---|
| RSS after warm-up (20-30% of the run; server + query workers) | {warm_mb:.0f} MB | |
| RSS at the end (last 10%) | {end_mb:.0f} MB | |
| RSS growth after warm-up | {r["rss_growth_percent"]}% ({verdict_rss} 10%) | within 10% |
| failed queries | {r["failed_queries"]} of {r["queries"]} | 0 |
| harvest outcomes | {", ".join(f"{k}: {v}" for k, v in sorted(r["harvest_outcomes"].items()))} | |
| source flagged at some point | {r["flagged_seen"]} | |
"""


if __name__ == "__main__":
    main()
