"""``make bench``: the benchmark suite of issue 6, in one run and on the same generated data.

0. Harvest as users run it (issue 14, ``bench.harvest_e2e``, first in the report):
   ``meahub harvest --config`` as a process over the four demo provider flavours at their
   default paging (about 26,500 records at ``--scale 1``), against ``bulk_load`` + ``optimize``
   of the same quads (the engine floor); a no-change re-harvest; query p95 while ``meahub
   serve`` harvests; peak RSS at full and ``--small-ratio`` scale. Also written alone to
   ``bench/results/harvest-e2e.md`` and ``.json``.
1. Harvest, single source (secondary): a mock InforMEA provider (``bench.mock_server``, its
   own process, loopback HTTP) serves the default mix (50,000 decisions with paragraphs,
   200,000 national reports, 30,000 focal points, one meeting per 50 decisions; ``--scale``
   multiplies it); MEA Hub harvests it into an embedded store in a fresh process (records/s,
   quads/s, peak RSS of that process and, sampled from ``/proc``, of its transform worker
   processes). Again at a quarter of the scale, for RSS growth. The peer: pyoxigraph
   ``bulk_load`` of the very same quads (the harvested store's dump) in a fresh process.
2. Linking: the Aichi linker over the paragraphs of the same generated decisions.
3. Endpoint: the user-story queries (``bench/queries/*.rq``) through ``meahub serve`` over the
   harvested store and through ``oxigraph serve`` over ``oxigraph load`` of its dump: median and
   p95 latency, throughput at concurrency 1, 8 and 32 (``bench.endpoint_bench``'s client).
   Then the analyst pages (``bench.pages_bench``, issue 16): median and p95 server time per
   page kind over HTTP, one screenshot per kind in ``bench/results/pages/``. Then full-text
   search (``bench.search_bench``, issue 17) on the same store: the index rebuilt (build time),
   p50/p95 of each search against the SPARQL ``CONTAINS`` scan it replaces (ratio); and the
   cost the index adds to a harvest, at ``--search-decisions`` generated decisions harvested
   with ``[search] enabled = false`` and true.
4. Export: ``meahub export --format nquads`` of the whole harvested store, in quads/s.
5. Remote backend: the same harvest and queries with ``oxigraph serve`` as the store (at
   ``--remote-scale`` of the default mix: SPARQL Update over HTTP is slower), ``meahub serve``
   over it against that same ``oxigraph serve`` queried directly.
6. Change feed (issue 15, ``bench.feed_bench``): the cost the feed adds to a harvest
   (``--feed-decisions`` generated decisions harvested with ``[feed] enabled = false`` and
   true, ``--feed-runs`` times each, median), page latency, and hub B (``kind = "ldes"``)
   catching up on ``--feed-changes`` changes (times ``--scale``) against downloading the dump
   and bulk-loading it into a fresh store (time ratio).

Results: ``bench/results/suite.md``, ``suite.json`` and ``latency-ratio.png``.

    python -m bench.suite [--scale 1.0] [--remote-scale 0.05] [--runs 20] [--seconds 5]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import (
    endpoint_bench,
    harvest_e2e,
    linking_bench,
    pages_bench,
    remote_bench,
    search_bench,
)
from bench.harvest_bench import TREATIES, Mix, measure_harvest

RESULTS = Path(__file__).parent / "results"
BIN = Path(sys.executable).parent
DEFAULT_MIX = Mix(decisions=50_000, contacts=30_000, reports=200_000)


def scaled(scale: float) -> Mix:
    """The default mix times ``scale`` (at least one decision)."""
    return Mix(
        decisions=max(1, round(DEFAULT_MIX.decisions * scale)),
        contacts=round(DEFAULT_MIX.contacts * scale),
        reports=round(DEFAULT_MIX.reports * scale),
    )


# -- steps, each timed ----------------------------------------------------------------------


def harvest_in_child(mix: Mix, workdir: Path, store: dict[str, Any] | None = None) -> Any:
    """:func:`bench.harvest_bench.measure_harvest` in a fresh process (its own peak RSS)."""
    workdir.mkdir(parents=True, exist_ok=True)
    spec = json.dumps({"mix": asdict(mix), "store": store})
    cmd = [sys.executable, "-m", "bench.suite", "--child", spec, str(workdir)]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def bulk_load_in_child(dump: Path, workdir: Path) -> Any:
    """:func:`bench.harvest_bench.measure_bulk_load` of ``dump`` in a fresh process."""
    workdir.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, "-m", "bench.harvest_bench", "--child", "bulk", str(dump)]
    out = subprocess.run([*cmd, str(workdir)], check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def linking(mix: Mix, threshold: float) -> dict[str, Any]:
    """Paragraphs/s of the linker over the paragraphs of the mock's decisions (same seed and
    arguments as ``bench.mock_server``, so the same decisions)."""
    from harvester.demo import generate_dataset
    from harvester.linking import split_paragraphs

    meetings = mix.meetings if mix.meetings is not None else max(10, mix.decisions // 50)
    dataset = generate_dataset(treaties=TREATIES, decisions=mix.decisions, meetings=meetings,
                               contacts=0, reports=0, plans=0)  # fmt: skip
    texts = [
        paragraph.text
        for record in dataset["Decisions"].values()
        for content in record["content"]
        for paragraph in split_paragraphs(content["value"])
    ]
    del dataset
    return linking_bench.measure_texts(texts, threshold)


def feed(args: Any) -> dict[str, Any]:
    """The change feed's costs (:func:`bench.feed_bench.measure`), at ``--feed-changes`` times
    the scale."""
    from bench import feed_bench

    changes = max(1000, round(args.feed_changes * args.scale))
    return feed_bench.measure(args.feed_decisions, args.feed_runs, changes)


def _feed_verdicts(r: dict[str, Any]) -> list[dict[str, Any]]:
    from bench import feed_bench

    return feed_bench.verdicts(r["feed"]) if "feed" in r else []


def endpoint(ours_cmd: list[str], peer: tuple[str, int], workdir: Path, args: Any) -> Any:
    """Both servers on the same queries: ``peer`` is already up, ``ours_cmd`` is started here
    (``--port`` appended). Returns the results with :func:`endpoint_bench.ratios`."""
    queries = endpoint_bench.load_queries(peer)
    result: dict[str, Any] = {"queries": queries}
    result["oxigraph"] = endpoint_bench.measure(peer, queries, args)
    port = endpoint_bench._free_port()
    with endpoint_bench.server([*ours_cmd, "--port", str(port)], port, workdir / "ours.log") as a:
        result["meahub"] = endpoint_bench.measure(a, queries, args)
    result["ratios"] = endpoint_bench.ratios(result)
    return result


def embedded_endpoint(store_dir: Path, dump: Path, args: Any) -> Any:
    """``meahub serve`` over the harvested store against ``oxigraph serve`` over its dump."""
    config = endpoint_bench._write_config(store_dir, port=0)
    load_seconds = endpoint_bench.load_peer(dump, store_dir / "oxigraph")
    port = endpoint_bench._free_port()
    peer_cmd = [str(BIN / "oxigraph"), "serve", "--location", str(store_dir / "oxigraph")]
    peer_cmd += ["--bind", f"127.0.0.1:{port}", "--union-default-graph"]
    ours_cmd = [str(BIN / "meahub"), "serve", "--config", str(config), "--no-scheduler"]
    with endpoint_bench.server(peer_cmd, port, store_dir / "peer.log") as peer:
        result = endpoint(ours_cmd, peer, store_dir, args)
    queries = result["queries"]
    result["floor"] = endpoint_bench.measure_floor(store_dir / "store", queries, store_dir, args)
    result["ratios"] = endpoint_bench.ratios(result)
    shutil.rmtree(store_dir / "oxigraph")
    return result | {"peer_load_seconds": load_seconds}


def export(store_dir: Path) -> dict[str, Any]:
    """``meahub export --format nquads`` of the whole store to a file: quads/s, end to end
    (process start, store open, serialisation, writing)."""
    config, out = store_dir / "meahub.toml", store_dir / "export.nq"
    cmd = [str(BIN / "meahub"), "export", "--config", str(config), "--format", "nquads"]
    started = time.perf_counter()
    subprocess.run([*cmd, "--output", str(out)], check=True)
    seconds = time.perf_counter() - started
    quads = _count_lines(out)
    size = out.stat().st_size
    out.unlink()
    peer = export_peer(store_dir / "store", out)
    mine = {"quads": quads, "seconds": seconds, "quads_per_s": quads / seconds, "bytes": size}
    return mine | {"peer": peer, "ratio": mine["quads_per_s"] / peer["quads_per_s"]}


def export_peer(store: Path, out: Path) -> dict[str, Any]:
    """The peer: pyoxigraph's own ``Store.dump`` of the same (live) generation to a file, in a
    process of its own, timed the same way (start-up included)."""
    from harvester.store.embedded import live_generation_dir

    script = (
        "import sys, pyoxigraph as ox; "
        "ox.Store.read_only(sys.argv[1]).dump(sys.argv[2], format=ox.RdfFormat.N_QUADS)"
    )
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", script, str(live_generation_dir(store)), str(out)],
                   check=True)  # fmt: skip
    seconds = time.perf_counter() - started
    quads = _count_lines(out)
    out.unlink()
    return {"quads": quads, "seconds": seconds, "quads_per_s": quads / seconds}


def _count_lines(path: Path) -> int:
    lines = 0
    with path.open("rb") as f:
        while chunk := f.read(1 << 22):
            lines += chunk.count(b"\n")
    return lines


def remote(mix: Mix, workdir: Path, args: Any) -> dict[str, Any]:
    """Harvest ``mix`` into ``oxigraph serve`` as a remote store, then ``meahub serve`` over it
    against that ``oxigraph serve`` queried directly."""
    workdir.mkdir(parents=True)
    process, base = remote_bench.start_oxigraph(workdir / "oxigraph")
    try:
        store = {"query_url": f"{base}/query", "update_url": f"{base}/update"}
        store |= {"state_dir": str(workdir / "state")}
        harvest = harvest_in_child(mix, workdir, store | {"dump": False})
        config = _remote_config(workdir, store)
        ours_cmd = [str(BIN / "meahub"), "serve", "--config", str(config), "--no-scheduler"]
        peer = ("127.0.0.1", int(base.rsplit(":", 1)[1]))
        served = endpoint(ours_cmd, peer, workdir, args)
    finally:
        process.terminate()
        process.wait(30)
    return {"harvest": harvest, "endpoint": served}


def _remote_config(workdir: Path, store: dict[str, Any]) -> Path:
    config = workdir / "meahub.toml"
    config.write_text(
        f'[store]\nquery_url = "{store["query_url"]}"\nupdate_url = "{store["update_url"]}"\n'
        f'state_dir = "{store["state_dir"]}"\n\n'
        '[server]\nhost = "127.0.0.1"\nport = 0\nquery_timeout = 120\n\n'
        f'[[sources]]\nname = "bench"\nkind = "informea-odata"\nurl = "{endpoint_bench.BASE}"\n',
        encoding="utf-8",
    )
    return config


# -- the run --------------------------------------------------------------------------------


def timed(steps: dict[str, float], name: str, fn: Any, *fn_args: Any) -> Any:
    """``fn(*fn_args)``, its wall time kept in ``steps[name]``."""
    print(f"[suite] {name}...", file=sys.stderr, flush=True)
    started = time.perf_counter()
    value = fn(*fn_args)
    steps[name] = round(time.perf_counter() - started, 1)
    print(f"[suite] {name}: {steps[name]} s", file=sys.stderr, flush=True)
    return value


def run(args: Any) -> dict[str, Any]:
    """Every step, in order, in one temporary directory."""
    big_mix, small_mix = scaled(args.scale), scaled(args.scale * args.small_ratio)
    steps: dict[str, float] = {}
    result: dict[str, Any] = {"steps_seconds": steps}
    e2e_args = harvest_e2e.parser().parse_args(
        ["--scale", str(args.scale), "--small-ratio", str(args.small_ratio)]
    )
    command = f"python -m bench.harvest_e2e --scale {args.scale} --small-ratio {args.small_ratio}"
    result["harvest_e2e"] = timed(steps, "harvest_e2e", harvest_e2e.measure, e2e_args, command)
    with tempfile.TemporaryDirectory(prefix="meahub-suite-") as tmp:
        work = Path(tmp)
        big = timed(steps, "harvest", harvest_in_child, big_mix, work / "big")
        small = timed(steps, "harvest_quarter", harvest_in_child, small_mix, work / "small")
        shutil.rmtree(work / "small")
        dump = Path(big["dump"])
        peer = timed(steps, "bulk_load", bulk_load_in_child, dump, work / "peer")
        shutil.rmtree(work / "peer")
        result |= {"harvest": big, "harvest_quarter": small, "bulk_load": peer}
        result["linking"] = timed(steps, "linking", linking, big_mix, args.threshold)
        result["endpoint"] = timed(steps, "endpoint", embedded_endpoint, work / "big", dump, args)
        dump.unlink()
        result["pages"] = timed(steps, "pages", pages_bench.measure_store, work / "big", args.runs)
        result["search"] = timed(steps, "search", search_bench.measure_store_dir, work / "big",
                                 args.runs)  # fmt: skip
        result["search"] |= timed(steps, "search_harvest", search_bench.harvest_cost,
                                  work / "search", args.search_decisions)  # fmt: skip
        shutil.rmtree(work / "search")
        result["export"] = timed(steps, "export", export, work / "big")
        shutil.rmtree(work / "big")
        remote_mix = scaled(args.remote_scale)
        result["remote"] = timed(steps, "remote", remote, remote_mix, work / "remote", args)
    result["feed"] = timed(steps, "feed", feed, args)  # issue 15
    return result


def machine() -> dict[str, Any]:
    """Where and with what the suite ran."""
    import pyoxigraph

    oxigraph = subprocess.run([str(BIN / "oxigraph"), "--version"], capture_output=True)
    return {
        "nproc": os.cpu_count(),
        "memory_gb": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "pyoxigraph": pyoxigraph.__version__,
        "oxigraph_cli": oxigraph.stdout.decode().strip(),
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
    }


# -- targets --------------------------------------------------------------------------------


def target(name: str, value: float, goal: str, met: bool | None, unit: str = "") -> Any:
    """One row of the verdict table (``met`` None: reported, no target)."""
    return {"name": name, "value": value, "unit": unit, "target": goal, "met": met}


def verdicts(r: dict[str, Any]) -> list[dict[str, Any]]:
    """Every measured number against its target from issue 6."""
    big, small, peer = r["harvest"], r["harvest_quarter"], r["bulk_load"]
    share = big["quads_per_s"] / peer["quads_per_s"]
    rss, rss_small = big["total_peak_rss_mb"], small["total_peak_rss_mb"]
    growth = rss / rss_small
    within = abs(growth - 1) <= 0.2
    rows = list(r["harvest_e2e"]["verdicts"]) if "harvest_e2e" in r else []
    rows += [
        target("single-source harvest records/s (secondary)", big["records_per_s"], ">= 2,000",
               big["records_per_s"] >= 2000),
        target("single-source harvest quads/s (secondary)", big["quads_per_s"], "-", None),
        target("pyoxigraph bulk_load quads/s (peer)", peer["quads_per_s"], "-", None),
        target("single-source harvest quads/s / bulk_load quads/s", share, ">= 0.50",
               share >= 0.5, "x"),
        target("single-source harvest peak RSS, harvester + workers", rss, "< 1024", rss < 1024,
               "MB"),
        target("peak RSS, full vs quarter scale", growth, "within 20%", within, "x"),
        target("linking paragraphs/s", r["linking"]["paragraphs_per_second"], "-", None),
        target("export quads/s", r["export"]["quads_per_s"], ">= 200,000",
               r["export"]["quads_per_s"] >= 200_000),
        target("pyoxigraph Store.dump quads/s (peer)", r["export"]["peer"]["quads_per_s"], "-",
               None),
        target("export quads/s / Store.dump quads/s", r["export"]["ratio"], "-", None, "x"),
    ]  # fmt: skip
    rows += _endpoint_verdicts("embedded", r["endpoint"])
    rows += _feed_verdicts(r)  # issue 15
    rows += r.get("pages", {}).get("verdicts", [])  # issue 16's analyst pages
    rows += search_bench.verdicts(r["search"]) if "search" in r else []  # issue 17
    remote = r["remote"]
    rows.append(target("remote: harvest records/s (smaller scale)",
                       remote["harvest"]["records_per_s"], ">= 2,000",
                       remote["harvest"]["records_per_s"] >= 2000))  # fmt: skip
    rows += _endpoint_verdicts("remote", remote["endpoint"])
    return rows


def _endpoint_verdicts(label: str, e: dict[str, Any]) -> list[dict[str, Any]]:
    ratios = e["ratios"]
    rows = [
        target(f"{label}: median latency ratio, {name}", value, "<= 1.10", value <= 1.1, "x")
        for name, value in ratios["latency_median_ratio_per_query"].items()
    ]
    for n in endpoint_bench.CONCURRENCY:
        value = ratios[f"throughput_ratio_c{n}"]
        goal, met = (">= 0.90", value >= 0.9) if n == 8 else ("-", None)
        rows.append(target(f"{label}: throughput ratio, concurrency {n}", value, goal, met, "x"))
    return rows


# -- the report -----------------------------------------------------------------------------


def _fmt(value: float) -> str:
    return f"{value:.2f}" if abs(value) < 100 else f"{value:,.0f}"


def _met(met: bool | None) -> str:
    return "-" if met is None else ("met" if met else "**MISSED**")


def report_markdown(r: dict[str, Any]) -> str:
    """``suite.md``: the verdicts first, then the detail tables."""
    m, big, small = r["machine"], r["harvest"], r["harvest_quarter"]
    lines = [
        "# MEA Hub benchmark suite (issue 6)",
        "",
        f"Command: `{r['command']}`, wall time {r['wall_seconds'] / 60:.1f} min "
        f"(steps, s: {', '.join(f'{k} {v}' for k, v in r['steps_seconds'].items())}).",
        "",
        f"Machine: {m['nproc']} cores (nproc), {m['memory_gb']} GB, {m['platform']}; Python "
        f"{m['python']}, pyoxigraph {m['pyoxigraph']}, {m['oxigraph_cli']}; {m['date']}.",
        "",
        f"Data: mix {_mix(big['mix'])} -> {big['records']:,} records, {big['quads']:,} quads; "
        f"quarter scale {_mix(small['mix'])} -> {small['records']:,} records; remote backend "
        f"{_mix(r['remote']['harvest']['mix'])} -> {r['remote']['harvest']['records']:,} records.",
        "",
        "## Verdicts",
        "",
        "| measure | value | target | verdict |",
        "|---|---:|---|---|",
    ]
    lines += [
        f"| {v['name']} | {_fmt(v['value'])}{v['unit'] and ' ' + v['unit']} | {v['target']} "
        f"| {_met(v['met'])} |"
        for v in r["verdicts"]
    ]
    missed = [v["name"] for v in r["verdicts"] if v["met"] is False]
    lines += ["", f"Missed: {len(missed)} of {sum(v['met'] is not None for v in r['verdicts'])}."]
    lines += _e2e_section(r) + _harvest_section(r)
    lines += _endpoint_section("Endpoint, embedded store", r["endpoint"])
    lines += _endpoint_section("Endpoint, remote store (oxigraph serve)", r["remote"]["endpoint"])
    if "feed" in r:
        from bench import feed_bench

        lines += ["", "## Change feed (issue 15)", "", *feed_bench.report_lines(r["feed"])]
    if "pages" in r:
        lines += ["", "## Analyst pages (issue 16)", "", *pages_bench.report_lines(r["pages"])]
    if "search" in r:
        lines += ["", "## Full-text search (issue 17)", "", *search_bench.report_lines(r["search"])]
    lines += _notes()
    return "\n".join(lines) + "\n"


def _mix(mix: dict[str, Any]) -> str:
    counts = (mix["decisions"], mix["reports"], mix["contacts"])
    return "{:,} decisions / {:,} reports / {:,} contacts".format(*counts)


def _e2e_section(r: dict[str, Any]) -> list[str]:
    """The end-to-end harvest first (its detail is in ``harvest-e2e.md``)."""
    if "harvest_e2e" not in r:
        return []
    e2e = r["harvest_e2e"]
    first, again, floor = e2e["harvest"], e2e["reharvest"], e2e["floor"]
    lines = [
        "",
        "## Harvest as users run it: `meahub harvest --config` (detail: harvest-e2e.md)",
        "",
        f"- first harvest, {first['records']:,} records of four sources: {first['seconds']:.1f} s, "
        f"**{first['records_per_s']:,.0f} records/s**; engine floor (bulk_load + optimize of "
        f"the same {floor['quads']:,} quads) {floor['records_per_s']:,.0f} records/s: "
        f"**{first['records_per_s'] / floor['records_per_s']:.2f}x**",
        f"- no-change re-harvest: {again['seconds']:.1f} s "
        f"({again['seconds'] / first['seconds']:.2f}x of the first)",
    ]
    if "serve" in e2e:
        ratio = e2e["serve"]["p95_ratio"]
        lines.append(f"- query p95 during a harvest in meahub serve: {ratio:.2f}x of idle")
    return lines


def _harvest_section(r: dict[str, Any]) -> list[str]:
    rows = [("full scale", r["harvest"]), ("quarter scale", r["harvest_quarter"])]
    rows.append(("remote store, smaller scale", r["remote"]["harvest"]))
    peer, exp, link = r["bulk_load"], r["export"], r["linking"]
    lines = [
        "",
        "## Harvest of one source (Runtime.harvest, page_size 500; secondary), bulk load, "
        "linking, export",
        "",
        "| run | records | quads | s | records/s | quads/s | RSS harvester (ru_maxrss) MB "
        "| RSS workers (sampled) MB | RSS harvester + workers MB |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    lines += [
        f"| harvest, {name} | {h['records']:,} | {h['quads']:,} | {h['seconds']:.1f} "
        f"| {h['records_per_s']:,.0f} | {h['quads_per_s']:,.0f} | {h['peak_rss_mb']:.0f} "
        f"| {h['sampled_peak_rss_workers_mb']:.0f} | {h['total_peak_rss_mb']:.0f} |"
        for name, h in rows
    ]
    lines += [
        f"| pyoxigraph bulk_load, same quads | - | {peer['quads']:,} | {peer['seconds']:.1f} "
        f"| - | {peer['quads_per_s']:,.0f} | {peer['peak_rss_mb']:.0f} | - | - |",
        f"| meahub export --format nquads | - | {exp['quads']:,} | {exp['seconds']:.1f} | - "
        f"| {exp['quads_per_s']:,.0f} | - | - | - |",
        f"| pyoxigraph Store.dump, same store (peer) | - | {exp['peer']['quads']:,} "
        f"| {exp['peer']['seconds']:.1f} | - | {exp['peer']['quads_per_s']:,.0f} | - | - | - |",
        "",
        f"Linking: {link['paragraphs']:,} paragraphs of the same decisions, {link['links']:,} "
        f"links kept, {link['seconds']} s, **{link['paragraphs_per_second']:,} paragraphs/s** "
        "(one process; the harvest above links too, in its transform workers).",
    ]
    return lines


def _endpoint_section(title: str, e: dict[str, Any]) -> list[str]:
    ours, peer, ratios = e["meahub"], e["oxigraph"], e["ratios"]
    lines = [
        "",
        f"## {title}",
        "",
        *endpoint_bench.latency_table(ours, peer, ratios),
        "",
        "The verdicts use the repeated query (as the targets' median of sequential requests "
        "is); a query asked for the first time is always evaluated in a worker process "
        "(first-time columns: each request's text made new by a numbered comment).",
        *endpoint_bench.floor_lines(ratios),
    ]
    lines += ["", "| throughput, query mix | meahub req/s | oxigraph req/s | ratio |"]
    lines.append("|---|---:|---:|---:|")
    for n in endpoint_bench.CONCURRENCY:
        a, b = ours[f"throughput_c{n}"], peer[f"throughput_c{n}"]
        lines.append(f"| concurrency {n} | {a:.1f} | {b:.1f} | {a / b:.2f}x |")
    return lines


def _notes() -> list[str]:
    return [
        "",
        "## How it was measured",
        "",
        "- Harvest: end to end over loopback HTTP from the mock provider process (listing, "
        "paging, mapping, shapes, linking, hashing, raw archive, atomic commit); records/s counts "
        "added + updated + unchanged records. RSS: the harvesting process's `ru_maxrss`, and its "
        "descendants (transform workers, their fork server) read from `/proc` every 0.25 s; "
        "the total is the larger of `ru_maxrss` and the sampled sum (the RSS targets use it).",
        "- The peer `bulk_load` reads the harvested store's N-Quads dump (the same quads) into a "
        "fresh on-disk store in its own process.",
        "- Endpoint: `oxigraph serve --union-default-graph` over `oxigraph load` + `optimize` of "
        "the same dump; the same query texts to both; `http.client` keep-alive GET, JSON results, "
        "no result caches. Remote: `meahub serve` over the remote store, against the same "
        "`oxigraph serve` process queried directly.",
        "- Export: `meahub export --format nquads --output FILE`, timed as a process (start-up "
        "included), against pyoxigraph's own `Store.dump` of the same generation to a file, "
        "also timed as a process.",
        "- Throughput counts the requests done in `--seconds` per level (each client finishes "
        "its last request): with multi-second queries in the mix that is few requests, so the "
        "throughput ratios are coarse.",
        "- The remote backend runs at `--remote-scale` of the default mix (SPARQL Update over "
        "HTTP is slower than the embedded bulk path); its harvest has no transform workers at "
        "that size.",
    ]


# -- the plot -------------------------------------------------------------------------------


def plot(r: dict[str, Any], path: Path) -> None:
    """Bars of the median latency ratio per query, embedded and remote, with the 1.1x target."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    embedded = r["endpoint"]["ratios"]["latency_median_ratio_per_query"]
    remote_ = r["remote"]["endpoint"]["ratios"]["latency_median_ratio_per_query"]
    names = list(embedded)
    xs = range(len(names))
    fig, ax = plt.subplots(figsize=(10, 5))
    for offset, ratios, label in ((-0.2, embedded, "embedded"), (0.2, remote_, "remote")):
        bars = ax.bar([x + offset for x in xs], [ratios[n] for n in names], 0.4, label=label)
        ax.bar_label(bars, fmt="%.2f", fontsize=8)
    ax.axhline(1.1, color="red", linestyle="--", label="target 1.1x")
    ax.axhline(1.0, color="grey", linewidth=0.8)
    ax.set_xticks(list(xs), [n.split("-", 1)[1] for n in names], rotation=20, ha="right")
    ax.set_ylabel("median latency, meahub serve / oxigraph serve")
    sizes = (r["harvest"]["quads"], r["remote"]["harvest"]["quads"])
    title = "Latency ratio per user-story query ({:,} quads embedded, {:,} remote)"
    ax.set_title(title.format(*sizes))
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


# -- entry point ----------------------------------------------------------------------------


def _child(spec: str, workdir: str) -> None:
    parsed = json.loads(spec)
    store = parsed["store"]
    dump = store.pop("dump", True) if store else True
    result = measure_harvest(Mix(**parsed["mix"]), Path(workdir), store, dump=dump)
    result["total_peak_rss_mb"] = max(result["peak_rss_mb"], result["sampled_peak_rss_total_mb"])
    print(json.dumps(result))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.suite", description=__doc__)
    parser.add_argument("--scale", type=float, default=1.0, help="of the default mix")
    parser.add_argument("--small-ratio", type=float, default=0.25, help="second RSS size")
    parser.add_argument("--remote-scale", type=float, default=0.05, help="of the default mix")
    parser.add_argument("--feed-changes", type=int, default=50_000,
                        help="changes the feed's consumer catches up on, at --scale 1")  # fmt: skip
    parser.add_argument("--feed-decisions", type=int, default=2000,
                        help="generated decisions for the feed's harvest cost")  # fmt: skip
    parser.add_argument("--feed-runs", type=int, default=2, help="harvests with and without")
    parser.add_argument("--runs", type=int, default=20, help="requests per query for latency")
    parser.add_argument("--seconds", type=float, default=5.0, help="per throughput level")
    parser.add_argument("--threshold", type=float, default=0.5, help="linker threshold")
    parser.add_argument("--search-decisions", type=int, default=5000,
                        help="generated decisions for the search index's harvest cost")  # fmt: skip
    parser.add_argument("--results", type=Path, default=RESULTS)
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        _child(*args.child)
        return
    started = time.perf_counter()
    command = "make bench  (python -m bench.suite " + " ".join(sys.argv[1:]) + ")"
    result = {"command": command.replace(" )", ")"), **run(args)}
    result["wall_seconds"] = round(time.perf_counter() - started, 1)
    result["machine"] = machine()
    result["verdicts"] = verdicts(result)
    args.results.mkdir(parents=True, exist_ok=True)
    (args.results / "suite.json").write_text(json.dumps(result, indent=2) + "\n")
    harvest_e2e.write_results(result["harvest_e2e"], args.results)
    markdown = report_markdown(result)
    (args.results / "suite.md").write_text(markdown)
    plot(result, args.results / "latency-ratio.png")
    print(markdown)


if __name__ == "__main__":
    main()
