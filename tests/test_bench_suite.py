"""The ``make bench`` suite's own logic, quickly: the scaled mix, the RSS sampler of the
harvesting process's descendants, the verdicts against issue 6's targets, the report and plot.
(The measurements themselves run in ``make bench``, not here.)"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from bench.harvest_bench import Mix, RssSampler
from bench.suite import report_markdown, scaled, verdicts


def test_scaled_mix_is_the_issue_default_times_the_scale() -> None:
    assert scaled(1.0) == Mix(decisions=50_000, contacts=30_000, reports=200_000)
    quarter = scaled(0.25)
    assert (quarter.decisions, quarter.contacts, quarter.reports) == (12_500, 7_500, 50_000)
    assert quarter.entities() == ["Meetings", "Decisions", "Contacts", "CountryReports"]
    assert Mix(10).entities() == ["Meetings", "Decisions"]
    assert "--reports" in quarter.server_args()


def test_rss_sampler_counts_descendants_but_not_the_excluded_one() -> None:
    earlier = RssSampler(exclude=None)  # children earlier tests left (a transform pool...)
    earlier.sample()
    sleep = [sys.executable, "-c", "import time; time.sleep(30)"]
    kept, skipped = subprocess.Popen(sleep), subprocess.Popen(sleep)
    try:
        sampler = RssSampler(exclude=skipped.pid)
        sampler.sample()
    finally:
        for process in (kept, skipped):
            process.kill()
            process.wait()
    assert sampler.worker_pids - earlier.worker_pids == {kept.pid}
    summary = sampler.summary()
    assert summary["sampled_peak_rss_workers_mb"] > 1
    assert summary["sampled_peak_rss_total_mb"] > summary["sampled_peak_rss_self_mb"]


def _harvest(records: int, rss: float) -> dict[str, Any]:
    mix = {"decisions": records, "contacts": 0, "reports": 0, "meetings": None}
    return {
        "mix": mix, "records": records, "quads": records * 40, "seconds": 1.0,
        "records_per_s": float(records), "quads_per_s": records * 40.0, "peak_rss_mb": rss,
        "sampled_peak_rss_workers_mb": 50.0, "total_peak_rss_mb": rss + 50,
    }  # fmt: skip


def _endpoint(ratio: float) -> dict[str, Any]:
    ours: dict[str, Any] = {"queries": {"1-q": {"median_ms": 2.0 * ratio, "p95_ms": 3.0}}}
    peer: dict[str, Any] = {"queries": {"1-q": {"median_ms": 2.0, "p95_ms": 3.0}}}
    ours["first_time"] = {"1-q": {"median_ms": 3.0 * ratio, "p95_ms": 4.0}}
    peer["first_time"] = {"1-q": {"median_ms": 2.0, "p95_ms": 3.0}}
    for n in (1, 8, 32):
        ours[f"throughput_c{n}"], peer[f"throughput_c{n}"] = 95.0, 100.0
    ratios = {"latency_median_ratio_per_query": {"1-q": ratio}}
    ratios["first_time_median_ratio_per_query"] = {"1-q": 1.5 * ratio}
    ratios |= {f"throughput_ratio_c{n}": 0.95 for n in (1, 8, 32)}
    return {"meahub": ours, "oxigraph": peer, "ratios": ratios}


def _result() -> dict[str, Any]:
    return {
        "command": "python -m bench.suite", "wall_seconds": 60.0, "steps_seconds": {"harvest": 1},
        "machine": {"nproc": 2, "memory_gb": 4, "platform": "Linux", "python": "3.11",
                    "pyoxigraph": "0.5", "oxigraph_cli": "oxigraph 0.5", "date": "today"},
        "harvest": _harvest(3000, 500.0), "harvest_quarter": _harvest(750, 450.0),
        "bulk_load": {"quads": 120_000, "seconds": 1.0, "quads_per_s": 200_000.0,
                      "peak_rss_mb": 900.0},
        "linking": {"paragraphs": 10, "links": 5, "seconds": 0.1, "paragraphs_per_second": 100},
        "export": {
            "quads": 120_000,
            "seconds": 0.5,
            "quads_per_s": 240_000.0,
            "peer": {"quads": 120_000, "seconds": 0.48, "quads_per_s": 250_000.0},
            "ratio": 0.96,
        },
        "endpoint": _endpoint(1.05),
        "remote": {"harvest": _harvest(100, 100.0), "endpoint": _endpoint(2.0)},
    }  # fmt: skip


def test_verdicts_say_met_and_missed_plainly() -> None:
    result = _result()
    result["verdicts"] = verdicts(result)
    by_name = {v["name"]: v["met"] for v in result["verdicts"]}
    assert by_name["single-source harvest records/s (secondary)"] is True
    assert by_name["single-source harvest quads/s / bulk_load quads/s"] is True  # 120k of 200k
    assert by_name["peak RSS, full vs quarter scale"] is True  # 550 vs 500 MB
    assert by_name["embedded: median latency ratio, 1-q"] is True
    assert by_name["remote: median latency ratio, 1-q"] is False
    assert by_name["remote: harvest records/s (smaller scale)"] is False
    assert by_name["embedded: throughput ratio, concurrency 32"] is None
    markdown = report_markdown(result)
    assert "| remote: median latency ratio, 1-q | 2.00 x | <= 1.10 | **MISSED** |" in markdown
    assert "Missed: 2 of" in markdown


def test_the_end_to_end_harvest_comes_first_and_the_single_source_figure_second() -> None:
    from bench.harvest_e2e import verdicts as e2e_verdicts
    from tests.test_bench_e2e import _result as e2e_result

    result = _result()
    result["harvest_e2e"] = e2e_result()
    result["harvest_e2e"]["verdicts"] = e2e_verdicts(result["harvest_e2e"])
    result["verdicts"] = verdicts(result)
    names = [v["name"] for v in result["verdicts"]]
    assert names[0] == "records harvested / records the sources serve"
    first_e2e = names.index("meahub harvest records/s (end to end)")
    assert first_e2e < names.index("single-source harvest records/s (secondary)")
    markdown = report_markdown(result)
    e2e_at = markdown.index("## Harvest as users run it")
    assert e2e_at < markdown.index("## Harvest of one source")
    assert "**100 records/s**" in markdown[e2e_at:]  # 2,000 records in 20 s
    assert "Missed: 5 of" in markdown  # 3 end-to-end, 2 of the rest


def test_plot_writes_a_png(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    from bench.suite import plot

    plot(_result(), tmp_path / "ratio.png")
    assert (tmp_path / "ratio.png").read_bytes()[:4] == b"\x89PNG"


def test_floor_ratios_are_reported_beside_ours() -> None:
    from bench.endpoint_bench import floor_lines, latency_table, ratios

    result = _endpoint(1.5)
    result["floor"] = {
        "queries": {"1-q": {"median_ms": 2.4, "p95_ms": 3.0}},
        "first_time": {"1-q": {"median_ms": 2.6, "p95_ms": 3.0}},
    }
    r = ratios(result)
    assert r["floor_latency_median_ratio_per_query"] == {"1-q": pytest.approx(1.2)}
    assert r["floor_first_time_median_ratio_geomean"] == pytest.approx(1.3)
    assert r["latency_median_ratio_per_query"] == {"1-q": pytest.approx(1.5)}
    table = latency_table(result["meahub"], result["oxigraph"], r)
    assert table[0].endswith("floor ratio (repeated / first-time) |")
    assert table[2].endswith("| 1.20x / 1.30x |")
    assert "**1.20x** of oxigraph serve, first-time 1.30x" in floor_lines(r)[0]
    del result["floor"]
    assert floor_lines(ratios(result)) == []
