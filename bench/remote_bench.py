"""Harvest throughput into the embedded store against a remote ``oxigraph serve``, same data.

The mock provider (``harvester.demo``) is served in-process through ``httpx.MockTransport``, so
both runs pay the same mapping, shape-checking and hashing costs; only the store differs: a
RocksDB store on disk (staged generation, published at once) against ``oxigraph serve
--union-default-graph`` on a loopback port over a temporary directory (SPARQL Update requests of
``batch_quads`` quads each).

    python -m bench.remote_bench [--decisions 2000] [--batch-quads 10000]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from harvester.demo import ODataProvider, generate_dataset
from harvester.service.demo_run import free_port
from harvester.service.runtime import Runtime
from harvester.settings import Settings, settings_from_mapping

RESULTS = Path(__file__).parent / "results"
URL = "http://bench.test/informea.svc"
TREATIES = ("cbd", "cms", "ramsar", "cites", "whc", "itpgrfa", "stockholm")


def _settings(store: dict[str, Any]) -> Settings:
    source = {"name": "bench", "kind": "informea-odata", "url": URL, "rate": 0}
    return settings_from_mapping({"store": store, "sources": [source]})


def _harvest(settings: Settings, provider: ODataProvider) -> dict[str, Any]:
    with Runtime.open(settings) as runtime:
        started = time.perf_counter()
        transport = httpx.MockTransport(provider.handle)
        report = runtime.harvest(settings.sources[0], transport=transport)
        seconds = time.perf_counter() - started
        quads = len(runtime.store)
    records = report.counts["added"]
    return {
        "records": records,
        "quads": quads,
        "seconds": round(seconds, 2),
        "records_per_s": round(records / seconds),
        "quads_per_s": round(quads / seconds),
    }


def start_oxigraph(location: Path) -> tuple[subprocess.Popen[bytes], str]:
    """``oxigraph serve --union-default-graph`` over ``location`` on a free loopback port:
    the process and its base URL (``/query``, ``/update``, ``/store``)."""
    port = free_port()
    binary = str(Path(sys.executable).parent / "oxigraph")
    command = [binary, "serve", "--location", str(location), "--bind", f"127.0.0.1:{port}"]
    process = subprocess.Popen([*command, "--union-default-graph"], stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            httpx.get(f"{base}/query", params={"query": "ASK {}"}, timeout=1)
            return process, base
        except httpx.TransportError:
            time.sleep(0.05)
    raise RuntimeError("oxigraph serve did not start")


def run(decisions: int, batch_quads: int) -> dict[str, Any]:
    data = generate_dataset(
        treaties=TREATIES,
        seed=3,
        decisions=decisions,
        meetings=decisions // 10,
        contacts=decisions // 4,
        reports=decisions // 4,
        plans=decisions // 20,
        sites=decisions // 20,
    )
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        provider = ODataProvider(data, base_url=URL)
        embedded = _harvest(_settings({"path": str(work / "store")}), provider)
        process, base = start_oxigraph(work / "oxigraph")
        try:
            store = {"query_url": f"{base}/query", "update_url": f"{base}/update"}
            store |= {"state_dir": str(work / "state-remote"), "batch_quads": batch_quads}
            remote = _harvest(_settings(store), ODataProvider(data, base_url=URL))
        finally:
            process.terminate()
            process.wait(30)
    return {
        "decisions": decisions,
        "batch_quads": batch_quads,
        "embedded": embedded,
        "remote": remote,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--decisions", type=int, default=2000)
    parser.add_argument("--batch-quads", type=int, default=10_000)
    args = parser.parse_args()
    result = run(args.decisions, args.batch_quads)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "remote.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    sys.stdout.write(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
