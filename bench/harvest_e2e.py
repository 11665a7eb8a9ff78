"""``make bench`` (harvest part, issue 14): what a user runs, ``meahub harvest --config``, timed as
a process from start to exit over a multi-source mock, against the engine's floor in the same run.

1. A mock in its own process on loopback (:mod:`bench.multi_mock`): the four provider flavours of
   ``harvester.demo`` (BRS WCF, Olingo with server paging and a leaked ``__next`` host, CBD
   JayData, the CBD decision-tracking API with paragraph trees) at their default paging; at
   ``--scale 1`` about 26,500 records, 18,400 of them decisions with HTML paragraphs.
2. ``meahub harvest --config meahub.toml`` (the venv's console script) into a fresh store, the
   four sources at the default page size (``rate = 0``: a loopback mock needs no politeness
   limit). Wall time from start to exit, peak RSS of the process tree and CPU per thread and per
   child process, sampled from ``/proc``; records from ``--json`` where the command has it, else
   from ``meahub status --json``. A dump writer the command leaves running after its exit is
   waited for and timed on its own (so the next step does not run beside it).
3. The engine floor: the harvested store's quads exported as N-Quads, then pyoxigraph
   ``Store(path).bulk_load(...)`` + ``optimize()`` of exactly those quads into a fresh store, in a
   process of its own: floor records/s = records / those seconds.
4. The same command again, nothing changed at the source.
5. ``meahub serve`` over that store while the user-story queries (``sparql/queries/*.rq``) run
   in a loop: p95 latency idle, then during a harvest of the four sources asked for through the
   admin API (``POST /admin/harvest/{source}``) after ``--serve-share`` of the records changed at
   the source, until the runs and the dumps written after them are done.
6. Step 2 again at a quarter of the scale (peak RSS at both sizes).

Results: ``bench/results/harvest-e2e.md`` and ``.json``, with the issue's targets met or missed.

    python -m bench.harvest_e2e [--scale 1.0] [--small-ratio 0.25] [--serve-share 0.1]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from bench.e2e_serve import measure_serve
from bench.e2e_setup import config_text, mock
from bench.proc_watch import cpu_summary, process_cpu_seconds, run_watched, wait_detached

RESULTS = Path(__file__).parent / "results"
BIN = Path(sys.executable).parent
OUTCOMES = ("added", "updated", "unchanged", "deleted", "failed")
_RETRY = re.compile(r"\bretry \d+ of \d+")


# -- the harvest command -----------------------------------------------------------------------


def harvest_has_json() -> bool:
    """Whether this ``meahub harvest`` has ``--json`` (issue 12 adds it)."""
    done = subprocess.run([str(BIN / "meahub"), "harvest", "--help"], capture_output=True)
    return b"--json" in done.stdout


def harvest_command(config: Path, *, json_output: bool, py_spy: Path | None = None) -> list[str]:
    command = [str(BIN / "meahub"), "harvest", "--config", str(config)]
    command += ["--json"] if json_output else []
    if py_spy is None:
        return command
    spy = [str(BIN / "py-spy"), "record", "--subprocesses", "--threads", "--idle", "--rate", "50"]
    return [*spy, "--format", "raw", "-o", str(py_spy), "--", *command]


def runs_summary(document: dict[str, Any]) -> dict[str, Any]:
    """Records and outcomes summed over the sources of a ``meahub harvest --json`` or
    ``meahub status --json`` document, with each source's status, counts and seconds."""
    totals = dict.fromkeys(OUTCOMES, 0)
    sources: dict[str, Any] = {}
    for name, run in (document.get("sources") or {}).items():
        counts = {k: int((run.get("counts") or {}).get(k, 0)) for k in OUTCOMES}
        for k in OUTCOMES:
            totals[k] += counts[k]
        sources[name] = {
            "status": run.get("status"),
            "counts": counts,
            "seconds": _run_seconds(run),
            "requests": run.get("requests"),
            "notes": list(run.get("notes") or [])[:5],
        }
    records = totals["added"] + totals["updated"] + totals["unchanged"]
    return {"records": records, "counts": totals, "sources": sources}


def _run_seconds(run: dict[str, Any]) -> float | None:
    if run.get("duration_seconds") is not None:
        return float(run["duration_seconds"])
    try:
        started = datetime.fromisoformat(str(run["started"]))
        return (datetime.fromisoformat(str(run["ended"])) - started).total_seconds()
    except (KeyError, TypeError, ValueError):
        return None


def last_json(text: str) -> dict[str, Any] | None:
    """The JSON document a command printed on stdout (None when there is none)."""
    text = text.strip()
    start = text.find("{")
    if start < 0:
        return None
    try:
        value = json.loads(text[start:])
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def status_document(config: Path) -> dict[str, Any]:
    done = subprocess.run(
        [str(BIN / "meahub"), "status", "--json", "--config", str(config)],
        capture_output=True,
        text=True,
        check=True,
    )
    return last_json(done.stdout) or {}


def measure_harvest(
    config: Path,
    workdir: Path,
    label: str,
    *,
    json_output: bool,
    py_spy: Path | None = None,
    mock_pid: int | None = None,
) -> dict[str, Any]:
    """One ``meahub harvest`` run: seconds, records (and their source), RSS, CPU (and the
    mock's, ``mock_pid``, over the run: the machine's cores are shared); then the dump writers
    it left running after its exit, waited for (so that the next step does not run beside
    them) and timed on their own."""
    command = harvest_command(config, json_output=json_output, py_spy=py_spy)
    mock_before = process_cpu_seconds(mock_pid) if mock_pid else None
    done = run_watched(command, workdir, label)
    mock_after = process_cpu_seconds(mock_pid) if mock_pid else None
    dumps = wait_detached("harvester.store.dumps", str(workdir / "store"))
    serialised = dump_parts_serialised(workdir / "state" / "dumps.log")
    status = status_document(config)
    printed = last_json(done.stdout) if json_output else None
    summary = runs_summary(printed or status)
    return {
        "command": " ".join(command),
        "returncode": done.returncode,
        "seconds": done.seconds,
        "records": summary["records"],
        "records_per_s": summary["records"] / done.seconds,
        "records_from": "harvest --json" if printed else "status --json",
        "counts": summary["counts"],
        "sources": summary["sources"],
        "store_quads": status.get("quads"),
        "peak_rss_mb": done.watch.peak_rss_kb / 1024,
        "peak_processes": done.watch.peak_processes,
        "cpu_seconds": done.cpu_seconds,
        "mock_cpu_seconds": (
            None if mock_before is None or mock_after is None else mock_after - mock_before
        ),
        "cpu": cpu_summary(done.watch, done.main_pid),
        "dumps_after_exit": {
            "processes": dumps.processes,
            "seconds": dumps.seconds,
            "cpu_seconds": dumps.cpu_seconds,
            "peak_rss_mb": dumps.peak_rss_kb / 1024,
        },
        "dump_parts_serialised": serialised,
        "retries_logged": len(_RETRY.findall(done.stderr)),
        "stderr_tail": done.stderr[-2000:],
        "profile": str(py_spy) if py_spy else None,
    }


_SERIALISED = re.compile(r"wrote dumps of .*\(parts serialised: (.*)\)\s*$")


def dump_parts_serialised(log: Path) -> list[str] | None:
    """The dump parts the last dump writer serialised, from its log line ``wrote dumps of N
    quads to DIR (parts serialised: a, b)``; None when there is no such line."""
    try:
        lines = log.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return None
    for line in reversed(lines):
        match = _SERIALISED.search(line)
        if match:
            names = match.group(1).strip()
            return [] if names == "none" else [n.strip() for n in names.split(",")]
    return None


def dump_state(workdir: Path) -> dict[str, Any]:
    """The dump files beside the store: size and modification time of each."""
    folder = workdir / "dumps"
    files = sorted(folder.glob("latest.*")) if folder.is_dir() else []
    return {p.name: {"bytes": p.stat().st_size, "mtime_ns": p.stat().st_mtime_ns} for p in files}


# -- the engine floor --------------------------------------------------------------------------

_EXPORT = (
    "import sys, pyoxigraph as ox; "
    "ox.Store.read_only(sys.argv[1]).dump(sys.argv[2], format=ox.RdfFormat.N_QUADS)"
)
_FLOOR = """
import json, resource, sys, time
import pyoxigraph as ox
def cpu():  # this process's CPU seconds, every thread (the loader's, RocksDB's compactions)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime
store = ox.Store(sys.argv[2])
cpu_before = cpu()
started = time.perf_counter()
store.bulk_load(path=sys.argv[1], format=ox.RdfFormat.N_QUADS, lenient=True)  # as the harvester
loaded = time.perf_counter()
store.optimize()
done = time.perf_counter()
print(json.dumps({"bulk_load_seconds": loaded - started, "optimize_seconds": done - loaded,
                  "cpu_seconds": cpu() - cpu_before, "quads": len(store)}))
"""


def measure_floor(store: Path, workdir: Path, records: int) -> dict[str, Any]:
    """Export the live generation's quads, then bulk_load + optimize them into a fresh store in
    a process of its own."""
    from harvester.store.embedded import live_generation_dir

    dump = workdir / "floor.nq"
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", _EXPORT, str(live_generation_dir(store)), str(dump)],
                   check=True)  # fmt: skip
    export_seconds = time.perf_counter() - started
    done = run_watched([sys.executable, "-c", _FLOOR, str(dump), str(workdir / "floor-store")],
                       workdir, "floor")  # fmt: skip
    if done.returncode != 0:
        raise RuntimeError(f"the floor load failed: {done.stderr[-2000:]}")
    timing = json.loads(done.stdout.strip().splitlines()[-1])
    seconds = timing["bulk_load_seconds"] + timing["optimize_seconds"]
    size = dump.stat().st_size
    dump.unlink()
    return {
        **timing,
        "seconds": seconds,
        "process_seconds": done.seconds,
        "export_seconds": export_seconds,
        "nquads_bytes": size,
        "records_per_s": records / seconds,
        "quads_per_s": timing["quads"] / seconds,
        "peak_rss_mb": done.watch.peak_rss_kb / 1024,
    }


def _floor_cpu(floor: dict[str, Any], first: dict[str, Any]) -> str:
    """The CPU the floor's load took against the harvest's (its tree's and the mock's)."""
    use = first.get("machine_use")
    if not floor.get("cpu_seconds") or use is None:
        return ""
    ratio = use["cpu_seconds"] / floor["cpu_seconds"]
    return (
        f" The floor's load took {floor['cpu_seconds']:.1f} CPU-s; the harvest "
        f"{use['cpu_seconds']:.1f} (its process tree and the mock), {ratio:.1f}x."
    )


# -- the run -----------------------------------------------------------------------------------


def _step(steps: dict[str, float], name: str) -> Any:
    print(f"[harvest-e2e] {name}...", file=sys.stderr, flush=True)
    started = time.perf_counter()

    def end() -> None:
        steps[name] = round(time.perf_counter() - started, 1)
        print(f"[harvest-e2e] {name}: {steps[name]} s", file=sys.stderr, flush=True)

    return end


def code_version() -> dict[str, Any]:
    """The commit measured, and how many files of the package differ from it (the harvester
    is installed editable: uncommitted changes are measured too)."""
    root = Path(__file__).parent.parent
    try:
        head = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], check=True,
                              capture_output=True, text=True).stdout.strip()  # fmt: skip
        dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--",
                                "harvester", "sparql", "mappings", "ontology"], check=True,
                               capture_output=True, text=True).stdout.splitlines()  # fmt: skip
    except (OSError, subprocess.CalledProcessError):
        return {"head": None, "dirty_files": None}
    return {"head": head, "dirty_files": len(dirty)}


@contextmanager
def _workdir(keep: Path | None) -> Iterator[Path]:
    """``keep`` (made fresh, left afterwards), else a temporary directory."""
    if keep is not None:
        shutil.rmtree(keep, ignore_errors=True)
        keep.mkdir(parents=True)
        yield keep
        return
    with tempfile.TemporaryDirectory(prefix="meahub-e2e-") as tmp:
        yield Path(tmp)


def run(args: Any) -> dict[str, Any]:
    """Every step, in order, in one working directory."""
    steps: dict[str, float] = {}
    json_output = harvest_has_json()
    result: dict[str, Any] = {"scale": args.scale, "steps_seconds": steps}
    result["load_before"] = os.getloadavg()
    result["code"] = code_version()
    with _workdir(args.keep) as work:
        big, small = work / "big", work / "small"
        big.mkdir()
        small.mkdir()
        with mock(args.scale, work / "mock.log") as (base, mock_pid, served):
            result["served"] = served
            config = big / "meahub.toml"
            config.write_text(config_text(base, big), encoding="utf-8")
            end = _step(steps, "harvest")
            first = measure_harvest(config, big, "first", json_output=json_output,
                                    py_spy=args.py_spy, mock_pid=mock_pid)  # fmt: skip
            end()
            first["machine_use"] = machine_use(first, os.cpu_count() or 1)
            dumps_before = dump_state(big)
            end = _step(steps, "floor")
            result["floor"] = measure_floor(big / "store", big, first["records"])
            end()
            end = _step(steps, "re-harvest")
            second = measure_harvest(config, big, "second", json_output=json_output,
                                     mock_pid=mock_pid)  # fmt: skip
            end()
            second["dumps_rewritten"] = dump_state(big) != dumps_before
            result |= {"harvest": first, "reharvest": second}
            if args.serve_share is not None:
                end = _step(steps, "serve")
                result["serve"] = measure_serve(
                    base, big, args.serve_share, args.idle_seconds, args.slow_query_seconds
                )
                end()
        with mock(args.scale * args.small_ratio, work / "mock-small.log") as (base, _, served):
            config = small / "meahub.toml"
            config.write_text(config_text(base, small), encoding="utf-8")
            end = _step(steps, "harvest-quarter")
            result["harvest_quarter"] = measure_harvest(config, small, "quarter",
                                                        json_output=json_output)  # fmt: skip
            result["harvest_quarter"]["scale"] = args.scale * args.small_ratio
            end()
    result["load_after"] = os.getloadavg()
    return result


# -- targets and the report --------------------------------------------------------------------


def target(name: str, value: float, goal: str, met: bool | None, unit: str = "") -> Any:
    """One row of the verdict table (``met`` None: reported, no target)."""
    return {"name": name, "value": value, "unit": unit, "target": goal, "met": met}


def verdicts(r: dict[str, Any]) -> list[dict[str, Any]]:
    """Every measured number against its target from issue 14."""
    first, second, floor = r["harvest"], r["reharvest"], r["floor"]
    share = first["records_per_s"] / floor["records_per_s"]
    again = second["seconds"] / first["seconds"]
    written = sum(second["counts"][k] for k in ("added", "updated", "deleted"))
    rss, rss_small = first["peak_rss_mb"], r["harvest_quarter"]["peak_rss_mb"]
    growth = rss / rss_small
    served = served_total(r["served"])
    rows = [
        target("records harvested / records the sources serve", first["records"] / served,
               "1.00", first["records"] == served, "x"),
        target("meahub harvest records/s (end to end)", first["records_per_s"], ">= 1,000",
               first["records_per_s"] >= 1000),
        target("engine floor records/s (bulk_load + optimize)", floor["records_per_s"], "-", None),
        target("meahub harvest / engine floor", share, ">= 0.75", share >= 0.75, "x"),
        target("no-change re-harvest / first harvest, time", again, "< 0.10", again < 0.1, "x"),
        target("no-change re-harvest: records written", written, "0", written == 0),
        _unchanged_parts(second, set(first["sources"])),
        target("peak RSS, meahub harvest process tree", rss, "< 1024", rss < 1024, "MB"),
        target("peak RSS, full vs quarter scale", growth, "within 20%", abs(growth - 1) <= 0.2,
               "x"),
    ]  # fmt: skip
    if "serve" in r:
        ratio = r["serve"]["p95_ratio"]
        rows.append(target("query p95 during a harvest in meahub serve / idle", ratio, "<= 1.5",
                           ratio <= 1.5, "x"))  # fmt: skip
    return rows


def _unchanged_parts(second: dict[str, Any], sources: set[str]) -> Any:
    """How many sources' dump parts the no-change re-harvest's dump writer serialised again
    (none changed); unknown (reported only) when its log does not say."""
    name = "no-change re-harvest: dump parts of unchanged sources serialised again"
    parts = second.get("dump_parts_serialised")
    if parts is None:
        return target(name, int(second["dumps_rewritten"]), "0 (unknown: files rewritten?)", None)
    again = len(sources & set(parts))
    return target(name, again, "0", again == 0)


def served_total(served: dict[str, dict[str, int]]) -> int:
    """Records the mock serves, over every provider and entity set."""
    return sum(sum(sets.values()) for sets in served.values())


def _code(r: dict[str, Any]) -> str:
    code = r.get("code") or {}
    if not code.get("head"):
        return "not a git checkout"
    return f"{code['head'][:10]}, {code['dirty_files']} changed files in the package"


def _fmt(value: float) -> str:
    return f"{value:.2f}" if abs(value) < 100 else f"{value:,.0f}"


def _met(met: bool | None) -> str:
    return "-" if met is None else ("met" if met else "**MISSED**")


def verdict_lines(rows: list[dict[str, Any]]) -> list[str]:
    lines = ["| measure | value | target | verdict |", "|---|---:|---|---|"]
    lines += [
        f"| {v['name']} | {_fmt(v['value'])}{v['unit'] and ' ' + v['unit']} | {v['target']} "
        f"| {_met(v['met'])} |"
        for v in rows
    ]
    return lines


def report_markdown(r: dict[str, Any]) -> str:
    """``harvest-e2e.md``: the verdicts first, then the detail."""
    first, served = r["harvest"], r["served"]
    decisions = sum(s.get("Decisions", 0) for s in served.values())
    total = served_total(served)
    load = ", ".join(f"{x:.2f}" for x in r["load_before"])
    missed = [v["name"] for v in r["verdicts"] if v["met"] is False]
    lines = [
        "# meahub harvest, end to end (issue 14)",
        "",
        f"Command: `{r['command']}`; steps, s: "
        + ", ".join(f"{k} {v}" for k, v in r["steps_seconds"].items())
        + f". Load average before: {load}. Code: {_code(r)}.",
        "",
        f"Data: {len(served)} sources ({', '.join(served)}), {total:,} records served, "
        f"{decisions:,} of them decisions; {first['records']:,} harvested, "
        f"{first['store_quads'] or 0:,} quads in the store.",
        "",
        "## Verdicts",
        "",
        *verdict_lines(r["verdicts"]),
        "",
        f"Missed: {len(missed)} of {sum(v['met'] is not None for v in r['verdicts'])}.",
        "",
        "## Runs",
        "",
        "| run | seconds | records | records/s | added / updated / unchanged / deleted / failed "
        "| peak RSS MB | CPU s (tree) | dumps after exit: s, CPU s |",
        "|---|---:|---:|---:|---|---:|---:|---:|",
    ]
    for name, key in (("first harvest", "harvest"), ("no-change re-harvest", "reharvest"),
                      ("first harvest, quarter scale", "harvest_quarter")):  # fmt: skip
        h = r[key]
        counts = " / ".join(f"{h['counts'][k]:,}" for k in OUTCOMES)
        after = h.get("dumps_after_exit") or {}
        dumps = f"{after['seconds']:.1f}, {after['cpu_seconds']:.1f}" if after else "-"
        lines.append(
            f"| {name} | {h['seconds']:.1f} | {h['records']:,} | {h['records_per_s']:,.0f} "
            f"| {counts} | {h['peak_rss_mb']:.0f} | {h['cpu_seconds']:.1f} | {dumps} |"
        )
    lines += _floor_lines(r["floor"], first) + _sources_lines(r) + _cpu_lines(first)
    if "serve" in r:
        lines += _serve_lines(r["serve"])
    lines += _notes(r)
    return "\n".join(lines) + "\n"


def _floor_lines(floor: dict[str, Any], first: dict[str, Any]) -> list[str]:
    return [
        "",
        f"Engine floor: {floor['quads']:,} quads (the harvested store, exported as N-Quads in "
        f"{floor['export_seconds']:.1f} s, {floor['nquads_bytes'] / 2**20:,.0f} MiB): "
        f"`bulk_load` {floor['bulk_load_seconds']:.1f} s + `optimize` "
        f"{floor['optimize_seconds']:.1f} s = {floor['seconds']:.1f} s, "
        f"**{floor['records_per_s']:,.0f} records/s** ({floor['quads_per_s']:,.0f} quads/s; "
        f"peak RSS {floor['peak_rss_mb']:.0f} MB). meahub harvest: {first['seconds']:.1f} s, "
        f"**{first['records_per_s']:,.0f} records/s**.{_floor_cpu(floor, first)}",
    ]


def _sources_lines(r: dict[str, Any]) -> list[str]:
    lines = ["", "| source | served | first: status, records, s | re-harvest: status, records, s "
             "| notes (first run) |", "|---|---:|---|---|---|"]  # fmt: skip
    for name, run in r["harvest"]["sources"].items():
        again = r["reharvest"]["sources"].get(name, {})
        served = sum(r["served"].get(name.removeprefix("demo-"), {}).values())
        notes = "; ".join(run.get("notes") or [])[:300]
        lines.append(
            f"| {name} | {served:,} | {_source_cell(run)} | {_source_cell(again)} | {notes} |"
        )
    for key, label in (("harvest", "first"), ("reharvest", "re-harvest")):
        h = r[key]
        in_sources = sum(s["seconds"] or 0 for s in h["sources"].values())
        if in_sources > h["seconds"]:  # [harvest] parallel_sources > 1: the runs overlapped
            lines.append(
                f"\n{label}: the sources' runs add up to {in_sources:.1f} s, more than the "
                f"command's {h['seconds']:.1f} s: they ran at the same time."
            )
            continue
        lines.append(
            f"\n{label}: {in_sources:.1f} s inside the sources' runs, "
            f"{h['seconds'] - in_sources:.1f} s of the command's {h['seconds']:.1f} s outside "
            "them (start-up; each run's commit, after the end time its report gives; the end of "
            "the command; dumps, where written inline)."
        )
    return lines


def _source_cell(run: dict[str, Any]) -> str:
    if not run:
        return "-"
    counts = run["counts"]
    records = counts["added"] + counts["updated"] + counts["unchanged"]
    seconds = run.get("seconds")
    return f"{run['status']}, {records:,}, {seconds:.1f}" if seconds is not None else "-"


def tree_cpu_seconds(run: dict[str, Any]) -> float:
    """CPU seconds of the command's whole tree: its own and its waited-for children's
    (``wait4``), plus the processes it did not wait for (the transform workers, children of
    their fork server), as last sampled from ``/proc``."""
    main = run["cpu"].get("main_pid")
    others = sum(p["cpu_seconds"] for p in run["cpu"]["processes"] if p["pid"] != main)
    return float(run["cpu_seconds"]) + others


def machine_use(run: dict[str, Any], cores: int) -> dict[str, float] | None:
    """The CPU a run kept busy: its process tree's and the mock's seconds, their share of
    ``cores`` over its wall time, and the wall time no overlap could go below on this machine
    (their sum over ``cores``): a run near that bound is bound by its CPU, and only less CPU
    makes it faster."""
    mock_cpu = run.get("mock_cpu_seconds")
    if mock_cpu is None or not run["seconds"]:
        return None
    tree = tree_cpu_seconds(run)
    busy = tree + mock_cpu
    return {
        "tree_cpu_seconds": tree,
        "cpu_seconds": busy,
        "share_of_cores": busy / (run["seconds"] * cores),
        "cpu_bound_seconds": busy / cores,
    }


def _cpu_lines(first: dict[str, Any]) -> list[str]:
    lines = [""]
    use = machine_use(first, os.cpu_count() or 1)
    if use is not None:
        lines += [
            f"The machine's {os.cpu_count()} cores: the command's process tree used "
            f"{use['tree_cpu_seconds']:.1f} CPU-s (transform workers included) and the mock "
            f"{first['mock_cpu_seconds']:.1f}, "
            f"**{use['share_of_cores']:.0%} of the cores over the {first['seconds']:.1f} s**; "
            f"no overlap of that work could end before {use['cpu_bound_seconds']:.1f} s here "
            "(CPU / cores): only less CPU makes the command faster.",
            "",
        ]
    lines += ["CPU of the first harvest (from `/proc`, sampled every 0.2 s):", ""]
    lines += ["| thread of the meahub process | threads | CPU s |", "|---|---:|---:|"]
    lines += [f"| {t['name']} | {t['threads']} | {t['cpu_seconds']:.1f} |"
              for t in first["cpu"]["threads"][:12]]  # fmt: skip
    lines += ["", "| process | CPU s | peak RSS MB |", "|---|---:|---:|"]
    lines += [f"| {p['what'][:90]} | {p['cpu_seconds']:.1f} | {p.get('peak_rss_mb', 0):.0f} |"
              for p in first["cpu"]["processes"][:12]]  # fmt: skip
    return lines


def _serve_lines(s: dict[str, Any]) -> list[str]:
    idle, during = s["idle"], s["during"]
    lines = [
        "",
        "## Queries during a harvest inside meahub serve",
        "",
        f"{s['revised_records']:,} records ({s['share']:.0%}) revised at the source, then every "
        f"source asked for through the admin API; {s['harvest_seconds']:.1f} s until the runs and "
        f"their dumps were done. Query p95 of all requests: idle {idle['all']['p95_ms']:.0f} ms "
        f"({idle['all']['n']} requests), during {during['all']['p95_ms']:.0f} ms "
        f"({during['all']['n']}): **{s['p95_ratio']:.2f}x**.",
        "",
        "| query | idle p50 / p95 ms | during p50 / p95 ms | p95 ratio |",
        "|---|---:|---:|---:|",
    ]
    for name, ratio in s["p95_ratio_per_query"].items():
        a, b = idle["per_query"][name], during["per_query"][name]
        lines.append(
            f"| {name} | {a['p50_ms']:.0f} / {a['p95_ms']:.0f} | {b['p50_ms']:.0f} / "
            f"{b['p95_ms']:.0f} | {ratio:.2f}x |"
        )
    if s["left_out"]:
        lines += ["", "Left out of the loop after their first request (warm-up): "
                  + "; ".join(f"{n}: {why}" for n, why in s["left_out"].items()) + "."]  # fmt: skip
    if s["query_errors"]:
        lines += ["", "Query errors: " + "; ".join(s["query_errors"])]
    return lines


def _notes(r: dict[str, Any]) -> list[str]:
    return [
        "",
        "## How it was measured",
        "",
        "- The harvest is the console script `meahub harvest --config FILE` in a process of its "
        "own, timed from its start to its exit (start-up, every source, dumps, exit). Records: "
        f"added + updated + unchanged, from `{r['harvest']['records_from']}`. RSS: the sum over "
        "the process and its descendants (transform workers, their fork server), sampled from "
        "`/proc` every 0.2 s. CPU per thread: `/proc/<pid>/task/*/stat` at the last sample.",
        "- Sources: the four demo flavours, default page size (100), `rate = 0` (a loopback "
        "mock needs no politeness limit; the default 20 requests/s would time the limiter).",
        "- Floor: the live generation dumped as N-Quads by pyoxigraph, then `Store(path)."
        "bulk_load(path=..., lenient=True)` (as the harvester loads) + `optimize()` into a "
        "fresh directory in a process of its own; "
        "floor records/s = harvested records / those seconds.",
        "- No-change re-harvest: the same command again, nothing changed at the source.",
        "- Serve: `meahub serve` over the harvested store; one client sends the user-story "
        "queries (`sparql/queries/*.rq`) in a loop on a keep-alive connection, idle for "
        "`--idle-seconds`, then from the admin API requests until every run ended and the "
        "dumps written after the last changing run were in place.",
        "- The machine's two cores are shared with other work: see the load averages.",
    ]


# -- entry point -------------------------------------------------------------------------------


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m bench.harvest_e2e", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    p.add_argument("--scale", type=float, default=1.0, help="of issue 14's mix (26,500 records)")
    p.add_argument("--small-ratio", type=float, default=0.25, help="second size, for RSS")
    p.add_argument(
        "--serve-share",
        type=float,
        default=0.1,
        help="share of records changed at the source before the harvest in meahub serve",
    )
    p.add_argument("--no-serve", dest="serve_share", action="store_const", const=None,
                   help="skip the harvest inside meahub serve")  # fmt: skip
    p.add_argument("--idle-seconds", type=float, default=20.0, help="idle query loop")
    p.add_argument(
        "--slow-query-seconds",
        type=float,
        default=10.0,
        help="a query slower than this at its first request is left out of the loop",
    )
    p.add_argument(
        "--py-spy",
        type=Path,
        default=None,
        help="profile the first harvest with py-spy (raw stacks to this file)",
    )
    p.add_argument("--results", type=Path, default=RESULTS)
    p.add_argument(
        "--keep",
        type=Path,
        default=None,
        help="work in this directory (emptied first) and keep it: stores, logs, stderr",
    )
    return p


def measure(args: argparse.Namespace, command: str) -> dict[str, Any]:
    """Every step (:func:`run`), with the command, the wall time and the verdicts."""
    started = time.perf_counter()
    result = {"command": command, **run(args)}
    result["wall_seconds"] = round(time.perf_counter() - started, 1)
    result["verdicts"] = verdicts(result)
    return result


def write_results(result: dict[str, Any], folder: Path) -> str:
    """``harvest-e2e.json`` and ``.md`` in ``folder``; returns the markdown."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "harvest-e2e.json").write_text(json.dumps(result, indent=2) + "\n")
    markdown = report_markdown(result)
    (folder / "harvest-e2e.md").write_text(markdown)
    return markdown


def _terminated(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)  # so that the mock and the server are stopped on the way out


def main(argv: list[str] | None = None) -> dict[str, Any]:
    signal.signal(signal.SIGTERM, _terminated)
    args = parser().parse_args(argv)
    shown = " ".join(sys.argv[1:] if argv is None else argv)
    result = measure(args, f"python -m bench.harvest_e2e {shown}".strip())
    print(write_results(result, args.results))
    return result


if __name__ == "__main__":
    main()
