"""The end-to-end harvest bench's own logic, quickly (``bench.harvest_e2e`` and its helpers):
reading ``/proc``, the run documents of ``meahub harvest --json`` and ``meahub status --json``,
the configuration it writes, the mock's additions, the verdicts and the report. (The
measurements themselves run in ``make bench``, not here.)"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from bench.e2e_serve import latency_stats, percentile
from bench.e2e_setup import config_text
from bench.harvest_e2e import (
    dump_parts_serialised,
    last_json,
    report_markdown,
    runs_summary,
    verdicts,
)
from bench.multi_mock import IndexedCbdDecisions, mix_arguments, revise
from bench.proc_watch import TreeSample, cpu_summary, parse_stat, run_watched, wait_detached
from harvester.demo import generate_dataset
from harvester.demo.cbd_api import CbdDecisionsProvider
from harvester.settings import settings_from_mapping


def test_parse_stat_reads_a_name_with_spaces_and_parentheses() -> None:
    line = "4242 (meahub (x) y) S 17 4242 4242 0 -1 4194560 1 0 0 0 250 31 0 0 20 0 9 0 1"
    assert parse_stat(line) == ("meahub (x) y", 17, 281)


def test_run_watched_sees_the_child_process_and_its_cpu(tmp_path: Path) -> None:
    script = (
        "import subprocess, sys, time\n"
        "child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(0.6)'])\n"
        "while time.process_time() < 0.5: pass\n"
        "child.wait(); time.sleep(0.5); print('done')\n"
    )
    done = run_watched([sys.executable, "-c", script], tmp_path, "probe")
    assert done.returncode == 0 and done.stdout.strip() == "done"
    assert done.watch.peak_processes == 2
    assert done.watch.peak_rss_kb > 1000
    assert 0.5 <= done.cpu_seconds < 5  # the busy loop, waited-for children included
    summary = cpu_summary(done.watch, done.main_pid)
    main = next(t for t in summary["threads"] if t["name"] == "main thread")
    assert main["cpu_seconds"] >= 0.4  # read after the loop, while the process sleeps
    assert len(summary["processes"]) == 2
    assert all(p["peak_rss_mb"] > 1 for p in summary["processes"])


def test_wait_detached_follows_a_process_left_running_until_it_ends() -> None:
    import subprocess
    import uuid

    marker = f"bench-e2e-{uuid.uuid4().hex}"
    script = f"import time; time.sleep(0.6)  # {marker}"
    process = subprocess.Popen([sys.executable, "-c", script], start_new_session=True)
    try:
        seen = wait_detached(marker)
    finally:
        process.wait()
    assert seen.processes == 1
    assert seen.seconds >= 0.3 and seen.peak_rss_kb > 1000
    nothing = wait_detached(f"absent-{marker}", settle=0.2)
    assert (nothing.processes, nothing.seconds) == (0, 0.0)


def test_cpu_summary_sums_threads_of_one_name() -> None:
    seen = TreeSample(threads={10: ("meahub", 100), 11: ("rocksdb:low", 50), 12: ("rocksdb:low",
                               150)}, processes={10: ("meahub: x", 400)})  # fmt: skip
    summary = cpu_summary(seen, main=10)
    assert summary["threads"][0] == {"name": "rocksdb:low", "threads": 2, "cpu_seconds": 2.0}
    assert summary["threads"][1]["name"] == "main thread"
    assert summary["processes"] == [
        {"pid": 10, "what": "meahub: x", "cpu_seconds": 4.0, "peak_rss_mb": 0.0}
    ]


def _counts(added: int = 0, unchanged: int = 0, failed: int = 0) -> dict[str, int]:
    return {"added": added, "updated": 0, "unchanged": unchanged, "deleted": 0, "failed": failed}


def test_runs_summary_reads_the_harvest_json_document() -> None:
    document = {
        "ok": True,
        "sources": {
            "a": {"status": "ok", "counts": _counts(added=10, failed=2), "duration_seconds": 1.5,
                  "requests": 4, "notes": ["n1"]},
            "b": {"status": "failed", "counts": _counts(unchanged=5), "duration_seconds": 0.5},
        },
    }  # fmt: skip
    summary = runs_summary(document)
    assert summary["records"] == 15  # added + updated + unchanged; failed ones are not records
    assert summary["counts"] == {**_counts(added=10, unchanged=5, failed=2)}
    assert summary["sources"]["a"] == {"status": "ok", "counts": _counts(added=10, failed=2),
                                       "seconds": 1.5, "requests": 4, "notes": ["n1"]}  # fmt: skip
    assert summary["sources"]["b"]["status"] == "failed"


def test_runs_summary_reads_the_status_document_and_times_from_started_ended() -> None:
    status = {
        "quads": 99,
        "sources": {"a": {"status": "ok", "counts": _counts(unchanged=3),
                          "started": "2026-01-01T10:00:00+00:00",
                          "ended": "2026-01-01T10:00:02.500000+00:00"},
                    "never": {"schedule": None}},
    }  # fmt: skip
    summary = runs_summary(status)
    assert summary["records"] == 3
    assert summary["sources"]["a"]["seconds"] == pytest.approx(2.5)
    assert summary["sources"]["never"]["seconds"] is None


def test_last_json_skips_what_comes_before_the_document() -> None:
    assert last_json('progress...\n{"ok": true, "sources": {}}\n') == {"ok": True, "sources": {}}
    assert last_json("no json here") is None
    assert last_json("[1, 2]") is None


def test_dump_parts_serialised_reads_the_writers_last_line(tmp_path: Path) -> None:
    log = tmp_path / "dumps.log"
    assert dump_parts_serialised(log) is None
    log.write_text(
        "2026-01-01 INFO wrote dumps of 10 quads to /d (parts serialised: demo-a, runs)\n"
        "2026-01-01 INFO something else\n"
        "2026-01-02 INFO wrote dumps of 12 quads to /d (parts serialised: runs)\n"
    )
    assert dump_parts_serialised(log) == ["runs"]
    log.write_text("x INFO wrote dumps of 12 quads to /d (parts serialised: none)\n")
    assert dump_parts_serialised(log) == []


def test_percentile_and_latency_stats() -> None:
    values = [float(n) for n in range(1, 101)]
    assert percentile(values, 0.95) == 96.0
    assert percentile([3.0], 0.95) == 3.0
    stats = latency_stats([("q1", 0.010), ("q1", 0.030), ("q2", 0.100)])
    assert stats["all"]["n"] == 3
    assert stats["all"]["p95_ms"] == pytest.approx(100.0)
    assert stats["per_query"]["q1"]["p50_ms"] == pytest.approx(30.0)


def test_config_has_the_four_demo_sources_at_default_page_size(tmp_path: Path) -> None:
    import tomllib

    text = config_text("http://127.0.0.1:9", tmp_path, port=8123, token='a"b', query_timeout=60)
    settings = settings_from_mapping(tomllib.loads(text))
    kinds = {s.name: s.kind for s in settings.sources}
    assert kinds == {"demo-brs": "informea-odata", "demo-cms": "informea-odata",
                     "demo-cbd": "informea-odata", "demo-cbd-dtt": "cbd-decisions"}  # fmt: skip
    assert {s.page_size for s in settings.sources} == {100}  # the default, as users run it
    assert {s.rate for s in settings.sources} == {0}
    assert settings.sources[0].url == "http://127.0.0.1:9/brs/informea.svc"
    assert settings.store.path == tmp_path / "store"
    assert settings.server.port == 8123 and settings.server.admin_token == 'a"b'
    assert settings.server.query_timeout == 60
    plain = settings_from_mapping(tomllib.loads(config_text("http://h:1", tmp_path)))
    assert plain.server.admin_token is None


def test_mix_scales_and_keeps_one_decision() -> None:
    assert mix_arguments(1.0)["decisions"] == 14_900
    assert mix_arguments(0.25)["contacts"] == 900
    tiny = mix_arguments(0.00001)
    assert tiny["decisions"] == 1 and tiny["meetings"] == 1 and tiny["sites"] == 0


def _dataset() -> Any:
    return generate_dataset(treaties=("cbd", "nagoya", "cms"), decisions=60, meetings=6,
                            contacts=4, reports=0, plans=0)  # fmt: skip


def test_indexed_decision_tracking_mock_answers_as_the_demo_one() -> None:
    dataset = _dataset()
    plain = CbdDecisionsProvider(dataset, base_url="http://dtt.test", page_limit=10)
    indexed = IndexedCbdDecisions(dataset, base_url="http://dtt.test", page_limit=10)
    root = "http://dtt.test/api/v2021/decisions"

    def get(provider: CbdDecisionsProvider, url: str) -> Any:
        with httpx.Client(transport=httpx.MockTransport(provider.handle)) as client:
            response = client.get(url)
            return response.status_code, response.json()

    listing = get(plain, root + "?skip=10&limit=100")
    assert listing == get(indexed, root + "?skip=10&limit=100")
    assert len(listing[1]) == 10
    code = listing[1][0]["code"].replace("/", "%2F")
    assert get(plain, f"{root}/{code}/tree") == get(indexed, f"{root}/{code}/tree")
    record_id = listing[1][0]["_id"]
    revise_one = dataset.delete("Decisions", record_id)
    assert revise_one["id"] == record_id
    assert get(indexed, f"{root}/{code}/tree")[0] == 404  # the index follows the dataset
    assert get(plain, root)[1] == get(indexed, root)[1]


def test_revise_touches_every_nth_record_of_every_set() -> None:
    from datetime import UTC, datetime

    dataset = _dataset()
    when = datetime(2026, 1, 2, tzinfo=UTC)
    sizes = dataset.sizes()
    revised = revise(dataset, 0.25, when)
    assert revised == sum(len(range(0, n, 4)) for n in sizes.values())
    first = sorted(dataset["Decisions"])[0]
    assert dataset["Decisions"][first]["updated"] == when
    second = sorted(dataset["Decisions"])[1]
    assert dataset["Decisions"][second]["updated"] != when
    assert revise(dataset, 0, when) == 0


def _harvest(seconds: float, records: int, rss: float, written: int = 0) -> dict[str, Any]:
    counts = {"added": written, "updated": 0, "unchanged": records - written, "deleted": 0,
              "failed": 0}  # fmt: skip
    return {
        "seconds": seconds, "records": records, "records_per_s": records / seconds,
        "counts": counts, "peak_rss_mb": rss, "cpu_seconds": seconds * 1.5,
        "store_quads": records * 70, "records_from": "harvest --json",
        "sources": {"demo-a": {"status": "ok", "counts": counts, "seconds": seconds - 1,
                               "notes": ["a [note]"]}},
        "cpu": {"threads": [{"name": "main thread", "threads": 1, "cpu_seconds": 3.0}],
                "processes": [{"pid": 1, "what": "meahub: harvest", "cpu_seconds": 9.0}]},
        "dumps_rewritten": False,
        "dumps_after_exit": {"processes": 1, "seconds": 4.5, "cpu_seconds": 6.0,
                             "peak_rss_mb": 90.0},
    }  # fmt: skip


def _result() -> dict[str, Any]:
    stats = {"all": {"n": 10, "p50_ms": 10.0, "p95_ms": 20.0},
             "per_query": {"q": {"n": 10, "p50_ms": 10.0, "p95_ms": 20.0}}}  # fmt: skip
    during = {"all": {"n": 5, "p50_ms": 12.0, "p95_ms": 50.0},
              "per_query": {"q": {"n": 5, "p50_ms": 12.0, "p95_ms": 50.0}}}  # fmt: skip
    return {
        "command": "python -m bench.harvest_e2e", "steps_seconds": {"harvest": 20.0},
        "load_before": (1.0, 0.5, 0.2), "served": {"a": {"Decisions": 2000}},
        "harvest": _harvest(20.0, 2000, 700.0),
        "reharvest": _harvest(1.5, 2000, 300.0) | {"dumps_rewritten": True},
        "harvest_quarter": _harvest(6.0, 500, 650.0),
        "floor": {"quads": 140_000, "seconds": 2.0, "bulk_load_seconds": 1.5,
                  "optimize_seconds": 0.5, "export_seconds": 0.4, "nquads_bytes": 2**24,
                  "records_per_s": 1000.0, "quads_per_s": 70_000.0, "peak_rss_mb": 200.0},
        "serve": {"revised_records": 200, "share": 0.1, "harvest_seconds": 9.0, "idle": stats,
                  "during": during, "p95_ratio": 2.5, "p95_ratio_per_query": {"q": 2.5},
                  "left_out": {"slow": "took 70.0 s (more than 10 s)"}, "query_errors": []},
    }  # fmt: skip


def test_verdicts_against_the_issue_targets() -> None:
    result = _result()
    result["reharvest"]["dump_parts_serialised"] = ["runs"]
    rows = {v["name"]: v for v in verdicts(result)}
    parts = rows["no-change re-harvest: dump parts of unchanged sources serialised again"]
    assert parts["met"] is True
    result["reharvest"]["dump_parts_serialised"] = ["demo-a", "runs"]
    assert {v["name"]: v for v in verdicts(result)}[parts["name"]]["met"] is False
    assert rows["records harvested / records the sources serve"]["met"] is True
    assert rows["meahub harvest records/s (end to end)"]["met"] is False  # 100 < 1,000
    assert rows["meahub harvest / engine floor"]["value"] == pytest.approx(0.1)
    assert rows["no-change re-harvest / first harvest, time"]["met"] is True  # 1.5 of 20 s
    assert rows["no-change re-harvest: records written"]["met"] is True
    assert rows["peak RSS, meahub harvest process tree"]["met"] is True
    assert rows["peak RSS, full vs quarter scale"]["met"] is True  # 700 / 650
    assert rows["query p95 during a harvest in meahub serve / idle"]["met"] is False
    result["reharvest"] = _harvest(1.5, 2000, 300.0, written=3)
    result["harvest_quarter"] = _harvest(6.0, 500, 500.0)
    result["served"] = {"a": {"Decisions": 2100}}
    rows = {v["name"]: v for v in verdicts(result)}
    parts = "no-change re-harvest: dump parts of unchanged sources serialised again"
    assert rows[parts]["met"] is None  # the writer's log did not say
    assert rows["no-change re-harvest: records written"]["met"] is False
    assert rows["peak RSS, full vs quarter scale"]["met"] is False  # 1.4x
    assert rows["records harvested / records the sources serve"]["met"] is False


def test_report_puts_verdicts_first_and_names_what_was_left_out() -> None:
    result = _result()
    result["verdicts"] = verdicts(result)
    markdown = report_markdown(result)
    assert markdown.index("## Verdicts") < markdown.index("## Runs")
    assert "| meahub harvest records/s (end to end) | 100 | >= 1,000 | **MISSED** |" in markdown
    assert "| meahub harvest / engine floor | 0.10 x | >= 0.75 | **MISSED** |" in markdown
    assert "Missed: 3 of 8." in markdown
    assert "slow: took 70.0 s" in markdown
    assert "| demo-a | 2,000 | ok, 2,000, 19.0 | ok, 2,000, 0.5 | a [note] |" in markdown
    assert "Load average before: 1.00, 0.50, 0.20" in markdown
    assert "| 700 | 30.0 | 4.5, 6.0 |" in markdown  # RSS, CPU, the dumps written after exit
    del result["serve"]
    result["verdicts"] = verdicts(result)
    assert "during a harvest" not in report_markdown(result)


def test_machine_use_counts_the_workers_and_the_mock() -> None:
    from bench.harvest_e2e import machine_use

    run = _harvest(20.0, 2000, 700.0)  # 30 CPU-s waited for (main + children)
    run["cpu"]["main_pid"] = 1
    run["cpu"]["processes"].append({"pid": 2, "what": "worker", "cpu_seconds": 6.0})
    assert machine_use(run, 2) is None  # the mock's CPU was not taken
    run["mock_cpu_seconds"] = 4.0
    use = machine_use(run, 2)
    assert use is not None
    assert use["tree_cpu_seconds"] == pytest.approx(36.0)  # the main pid is not counted twice
    assert use["share_of_cores"] == pytest.approx(40.0 / 40.0)
    assert use["cpu_bound_seconds"] == pytest.approx(20.0)
    result = _result()
    result["harvest"] = run
    result["verdicts"] = verdicts(result)
    assert "**100% of the cores over the 20.0 s**" in report_markdown(result)


def test_report_compares_the_harvests_cpu_with_the_floors() -> None:
    from bench.harvest_e2e import machine_use

    result = _result()
    result["verdicts"] = verdicts(result)
    assert "The floor's load took" not in report_markdown(result)  # no CPU measured: no claim
    run = result["harvest"]
    run["cpu"]["main_pid"] = 1
    run["mock_cpu_seconds"] = 4.0  # 30 + 4 CPU-s
    run["machine_use"] = machine_use(run, 2)
    result["floor"]["cpu_seconds"] = 8.5
    markdown = report_markdown(result)
    assert "The floor's load took 8.5 CPU-s; the harvest 34.0 (its process tree" in markdown
    assert "mock), 4.0x." in markdown
