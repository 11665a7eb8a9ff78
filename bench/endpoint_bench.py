"""``make bench`` (endpoint part): the user-story queries through ``meahub serve`` and through
``oxigraph serve`` over the same data, in the same run.

1. Generate an InforMEA-style dataset (:func:`harvester.demo.generate_dataset`), harvest it into
   an on-disk MEA Hub store (the real pipeline, over an in-process mock transport), and dump it
   as N-Quads.
2. ``oxigraph load`` the dump into a store of its own, ``oxigraph optimize`` it, and start
   ``oxigraph serve --union-default-graph`` (our default graph is the union too).
3. Start ``meahub serve --no-scheduler`` over the harvested store.
4. For each query of ``bench/queries/*.rq``: median and p95 latency of sequential requests to
   each server; then throughput of the query mix at concurrency 1, 8 and 32. The client is lean:
   ``http.client`` on keep-alive connections, one thread per connection.

    python -m bench.endpoint_bench [--decisions 10000] [--runs 40] [--seconds 6]

Results go to ``bench/results/endpoint.md`` and ``.json``. Targets: our latency <= 1.2x
Oxigraph's, our throughput at concurrency 8 >= 0.8x.
"""

from __future__ import annotations

import argparse
import http.client
import json
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

ROOT = Path(__file__).parent.parent
RESULTS = Path(__file__).parent / "results"
QUERIES = Path(__file__).parent / "queries"
BIN = Path(sys.executable).parent
TREATIES = ("cbd", "cms", "ramsar", "cites", "whc", "itpgrfa", "stockholm")
ACCEPT = "application/sparql-results+json"
BASE = "http://bench.test/informea.svc"


# -- data -----------------------------------------------------------------------------------


def harvest(workdir: Path, decisions: int) -> tuple[Path, Path, dict[str, Any]]:
    """Harvest a generated dataset into ``workdir/store``; returns the config, the dump and
    facts about the data."""
    import httpx

    from harvester.demo import ODataProvider, generate_dataset
    from harvester.service.runtime import Runtime

    config = _write_config(workdir, port=0)
    settings = _settings(config)
    dataset = generate_dataset(
        treaties=TREATIES,
        decisions=decisions,
        meetings=max(10, decisions // 50),
        contacts=decisions // 5,
        reports=decisions // 3,
        plans=decisions // 20,
        sites=decisions // 30,
    )
    provider = ODataProvider(dataset, base_url=BASE)
    started = time.perf_counter()
    with Runtime.open(settings) as runtime:
        report = runtime.harvest(
            settings.sources[0], transport=httpx.MockTransport(provider.handle)
        )
        facts = {"quads": len(runtime.store), "harvest_seconds": time.perf_counter() - started}
        facts["records"] = sum(report.counts[k] for k in ("added", "updated", "unchanged"))
        dump = workdir / "dump.nq"
        with dump.open("wb") as out:
            runtime.store.dump(out, _nquads())
    return config, dump, facts


def _nquads() -> Any:
    import pyoxigraph as ox

    return ox.RdfFormat.N_QUADS


def _write_config(workdir: Path, port: int) -> Path:
    config = workdir / "meahub.toml"
    config.write_text(
        f'[store]\npath = "{workdir / "store"}"\nstate_dir = "{workdir / "state"}"\n\n'
        f'[server]\nhost = "127.0.0.1"\nport = {port}\nquery_timeout = 120\n\n'
        f'[[sources]]\nname = "bench"\nkind = "informea-odata"\nurl = "{BASE}"\nrate = 0\n'
        "page_size = 500\n",
        encoding="utf-8",
    )
    return config


def _settings(config: Path) -> Any:
    from harvester.settings import load_settings

    return load_settings(config)


def load_peer(dump: Path, location: Path) -> float:
    """``oxigraph load`` + ``optimize``; returns the seconds taken."""
    started = time.perf_counter()
    oxigraph = str(BIN / "oxigraph")
    subprocess.run([oxigraph, "load", "--location", str(location), "--file", str(dump)], check=True)
    subprocess.run([oxigraph, "optimize", "--location", str(location)], check=True)
    return time.perf_counter() - started


# -- servers --------------------------------------------------------------------------------


@contextmanager
def server(command: list[str], port: int, log: Path) -> Iterator[tuple[str, int]]:
    with log.open("wb") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT)
        try:
            _wait_until_up(port, process)
            yield "127.0.0.1", port
        except Exception:
            print(log.read_text(errors="replace")[-3000:], file=sys.stderr)
            raise
        finally:
            process.terminate()
            process.wait(timeout=30)


def _wait_until_up(port: int, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server on port {port} exited with {process.returncode}")
        try:
            _request(http.client.HTTPConnection("127.0.0.1", port, timeout=5), "ASK {}")
            return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"server on port {port} did not start")


def _free_port() -> int:
    from harvester.service.demo_run import free_port

    return free_port()


# -- the client -----------------------------------------------------------------------------


def _request(conn: http.client.HTTPConnection, query: str) -> bytes:
    conn.request("GET", "/sparql?" + urlencode({"query": query}), headers={"Accept": ACCEPT})
    response = conn.getresponse()
    body = response.read()
    if response.status != 200:
        raise RuntimeError(f"HTTP {response.status}: {body[:300]!r}")
    return body


def latency(
    address: tuple[str, int], query: str, runs: int, *, fresh: bool = False
) -> dict[str, float]:
    """Median and p95 of ``runs`` sequential requests of ``query`` (after 3 warm-up ones).
    ``fresh``: each request's text is new (a numbered comment before the query), as a query
    asked for the first time is: meahub then never answers it in-process (see
    ``[server].inline_query_ms``)."""
    conn = http.client.HTTPConnection(*address, timeout=120)
    for _ in range(3):
        _request(conn, query)
    times = []
    for n in range(runs):
        text = f"# request {n} {time.perf_counter_ns()}\n{query}" if fresh else query
        started = time.perf_counter()
        _request(conn, text)
        times.append(time.perf_counter() - started)
    conn.close()
    times.sort()
    return {
        "median_ms": statistics.median(times) * 1000,
        "p95_ms": times[min(len(times) - 1, int(len(times) * 0.95))] * 1000,
    }


def throughput(address: tuple[str, int], queries: list[str], clients: int, seconds: float) -> float:
    """Requests per second of the query mix, ``clients`` connections in parallel."""
    done = [0] * clients
    stop = time.monotonic() + seconds

    def client(index: int) -> None:
        conn = http.client.HTTPConnection(*address, timeout=120)
        n = index
        while time.monotonic() < stop:
            _request(conn, queries[n % len(queries)])
            n += 1
            done[index] += 1
        conn.close()

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sum(done) / (time.monotonic() - started)


# -- the run --------------------------------------------------------------------------------


def load_queries(address: tuple[str, int]) -> dict[str, str]:
    """The ``.rq`` files, with their placeholders bound to records of the data."""
    country = _first(address, _PICK_COUNTRY, "c")
    decision = _first(address, _PICK_DECISION, "d")
    queries = {}
    for path in sorted(QUERIES.glob("*.rq")):
        text = path.read_text(encoding="utf-8")
        text = text.replace("<urn:bench:country>", f"<{country}>")
        queries[path.stem] = text.replace("<urn:bench:decision>", f"<{decision}>")
    return queries


_PICK_COUNTRY = (
    "SELECT ?c (COUNT(*) AS ?n) WHERE { ?x <https://w3id.org/mea/ontology#country> ?c } "
    "GROUP BY ?c ORDER BY DESC(?n) LIMIT 1"
)
_PICK_DECISION = (
    "SELECT ?d WHERE { ?d a <https://w3id.org/mea/ontology#Decision> } ORDER BY ?d LIMIT 1"
)


def _first(address: tuple[str, int], query: str, var: str) -> str:
    body = _request(http.client.HTTPConnection(*address, timeout=120), query)
    return str(json.loads(body)["results"]["bindings"][0][var]["value"])


#: client connections in parallel for the throughput of the query mix
CONCURRENCY = (1, 8, 32)


def measure(address: tuple[str, int], queries: dict[str, str], args: Any) -> dict[str, Any]:
    """Latency per query (``args.runs`` sequential requests), then the query mix's throughput
    for ``args.seconds`` at each level of :data:`CONCURRENCY`."""
    result = measure_latency(address, queries, args)
    mix = list(queries.values())
    for clients in CONCURRENCY:
        result[f"throughput_c{clients}"] = throughput(address, mix, clients, args.seconds)
    return result


def measure_latency(address: tuple[str, int], queries: dict[str, str], args: Any) -> dict[str, Any]:
    """Median and p95 latency of each query, repeated and asked for the first time."""
    return {
        "queries": {name: latency(address, q, args.runs) for name, q in queries.items()},
        "first_time": {
            name: latency(address, q, args.runs, fresh=True) for name, q in queries.items()
        },
    }


def measure_floor(store: Path, queries: dict[str, str], workdir: Path, args: Any) -> Any:
    """Latency of the queries through :mod:`bench.floor_server` over the store at ``store``:
    the least a Python front answering through pyoxigraph can cost."""
    port = _free_port()
    command = [sys.executable, "-m", "bench.floor_server", str(store), str(port)]
    with server(command, port, workdir / "floor.log") as address:
        return measure_latency(address, queries, args)


def run(args: Any) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="meahub-endpoint-bench-") as tmp:
        workdir = Path(tmp)
        config, dump, facts = harvest(workdir, args.decisions)
        facts["peer_load_seconds"] = load_peer(dump, workdir / "peer")
        ours_port, peer_port = _free_port(), _free_port()
        ours_cmd = [str(BIN / "meahub"), "serve", "--config", str(config), "--no-scheduler"]
        ours_cmd += ["--port", str(ours_port)]
        peer_cmd = [str(BIN / "oxigraph"), "serve", "--location", str(workdir / "peer")]
        peer_cmd += ["--bind", f"127.0.0.1:{peer_port}", "--union-default-graph"]
        with server(peer_cmd, peer_port, workdir / "peer.log") as peer:
            queries = load_queries(peer)
            oxigraph = measure(peer, queries, args)
        with server(ours_cmd, ours_port, workdir / "ours.log") as ours:
            meahub = measure(ours, queries, args)
        floor = measure_floor(workdir / "store", queries, workdir, args)
    return {
        "data": facts,
        "queries": queries,
        "meahub": meahub,
        "oxigraph": oxigraph,
        "floor": floor,
    }


def ratios(result: dict[str, Any]) -> dict[str, Any]:
    ours, peer = result["meahub"], result["oxigraph"]
    per_query = {
        name: ours["queries"][name]["median_ms"] / peer["queries"][name]["median_ms"]
        for name in ours["queries"]
    }
    first = {
        name: ours["first_time"][name]["median_ms"] / peer["first_time"][name]["median_ms"]
        for name in ours["first_time"]
    }
    return _floor_ratios(result) | {
        "latency_median_ratio_per_query": per_query,
        "latency_median_ratio_geomean": statistics.geometric_mean(per_query.values()),
        "first_time_median_ratio_per_query": first,
        "first_time_median_ratio_geomean": statistics.geometric_mean(first.values()),
        "throughput_ratio_c1": ours["throughput_c1"] / peer["throughput_c1"],
        **{
            f"throughput_ratio_c{n}": ours[f"throughput_c{n}"] / peer[f"throughput_c{n}"]
            for n in CONCURRENCY
        },
    }


def _floor_ratios(result: dict[str, Any]) -> dict[str, Any]:
    """The floor's latency ratios to ``oxigraph serve`` (none when it was not measured)."""
    floor, peer = result.get("floor"), result["oxigraph"]
    if floor is None:
        return {}
    ratios: dict[str, Any] = {}
    for kind, label in (("queries", "latency"), ("first_time", "first_time")):
        per_query = {
            name: floor[kind][name]["median_ms"] / peer[kind][name]["median_ms"]
            for name in floor[kind]
        }
        ratios[f"floor_{label}_median_ratio_per_query"] = per_query
        ratios[f"floor_{label}_median_ratio_geomean"] = statistics.geometric_mean(
            per_query.values()
        )
    return ratios


def report_markdown(result: dict[str, Any], command: str) -> str:
    ours, peer, r = result["meahub"], result["oxigraph"], result["ratios"]
    data = result["data"]
    lines = [
        "# Endpoint benchmark: meahub serve against oxigraph serve, same data, same run",
        "",
        f"Command: `{command}`",
        "",
        f"Data: {data['records']} harvested records, {data['quads']} quads (on disk, both "
        "stores compacted). Client: http.client, keep-alive, GET, Accept: SPARQL JSON.",
        "",
        *latency_table(ours, peer, r),
    ]
    lines += [
        "",
        "| throughput (query mix) | meahub req/s | oxigraph req/s | ratio |",
        "|---|---:|---:|---:|",
        _throughput_row("concurrency 1", ours["throughput_c1"], peer["throughput_c1"]),
        _throughput_row("concurrency 8", ours["throughput_c8"], peer["throughput_c8"]),
        _throughput_row("concurrency 32", ours["throughput_c32"], peer["throughput_c32"]),
        "",
        f"- latency, geometric mean of the median ratios: "
        f"**{r['latency_median_ratio_geomean']:.2f}x** (target <= 1.2x); a query asked for "
        f"the first time (never answered in-process): "
        f"{r['first_time_median_ratio_geomean']:.2f}x",
        f"- throughput at concurrency 8: **{r['throughput_ratio_c8']:.2f}x** (target >= 0.8x)",
        *floor_lines(r),
        "",
    ]
    return "\n".join(lines)


def floor_lines(r: dict[str, Any]) -> list[str]:
    """What the floor (``bench.floor_server``) says about the latency ratios, when measured."""
    if "floor_latency_median_ratio_geomean" not in r:
        return []
    return [
        f"- the floor, a bare Python front over pyoxigraph (`bench/floor_server.py`: same HTTP "
        f"server, no limits, no negotiation, no logging): geometric mean "
        f"**{r['floor_latency_median_ratio_geomean']:.2f}x** of oxigraph serve, first-time "
        f"{r['floor_first_time_median_ratio_geomean']:.2f}x. A ratio below the floor's is "
        "out of reach of any Python server answering through pyoxigraph.",
    ]


def latency_table(ours: dict[str, Any], peer: dict[str, Any], r: dict[str, Any]) -> list[str]:
    """The Markdown rows of the per-query latency table (header included)."""
    floor = r.get("floor_latency_median_ratio_per_query")
    lines = [
        "| query | meahub median ms | meahub p95 ms | oxigraph median ms | oxigraph p95 ms "
        "| ratio (median) | first-time: meahub / oxigraph median ms | first-time ratio |"
        + (" floor ratio (repeated / first-time) |" if floor else ""),
        "|---|---:|---:|---:|---:|---:|---:|---:|" + ("---:|" if floor else ""),
    ]
    for name, q in ours["queries"].items():
        p = peer["queries"][name]
        first = f"{ours['first_time'][name]['median_ms']:.2f} / "
        first += f"{peer['first_time'][name]['median_ms']:.2f}"
        lines.append(
            f"| {name} | {q['median_ms']:.2f} | {q['p95_ms']:.2f} | {p['median_ms']:.2f} "
            f"| {p['p95_ms']:.2f} | {r['latency_median_ratio_per_query'][name]:.2f}x "
            f"| {first} | {r['first_time_median_ratio_per_query'][name]:.2f}x |"
            + (_floor_cell(r, name) if floor else "")
        )
    return lines


def _floor_cell(r: dict[str, Any], name: str) -> str:
    repeated = r["floor_latency_median_ratio_per_query"][name]
    first = r["floor_first_time_median_ratio_per_query"][name]
    return f" {repeated:.2f}x / {first:.2f}x |"


def _throughput_row(name: str, ours: float, peer: float) -> str:
    return f"| {name} | {ours:.0f} | {peer:.0f} | {ours / peer:.2f}x |"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--decisions", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=40)
    parser.add_argument("--seconds", type=float, default=6.0)
    args = parser.parse_args()
    result = run(args)
    result["ratios"] = ratios(result)
    command = "make bench  (python -m bench.endpoint_bench " + " ".join(sys.argv[1:]) + ")"
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "endpoint.json").write_text(json.dumps(result, indent=2) + "\n")
    markdown = report_markdown(result, command)
    (RESULTS / "endpoint.md").write_text(markdown)
    print(markdown)


if __name__ == "__main__":
    main()
