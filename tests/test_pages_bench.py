"""``bench/pages_bench.py``'s own logic, quickly: reading ``Server-Timing``, the verdicts against
issue 16's targets, the report table, and the suite's use of them (the measurements themselves
run in ``make bench`` or ``python -m bench.pages_bench``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bench import pages_bench


def _page(kind: str, server: float | None, client: float = 9.0) -> dict[str, Any]:
    return {
        "path": f"/{kind}",
        "bytes": 1000,
        "first_ms": 500.0,
        "first_server_ms": 490.0,
        "client": {"median_ms": client, "p95_ms": client * 2},
        "server": None if server is None else {"median_ms": server, "p95_ms": server * 2},
    }


def test_server_timing_is_read() -> None:
    assert pages_bench._server_ms("page;dur=12.5") == 12.5
    assert pages_bench._server_ms("db;dur=3, page;dur=7") == 3.0
    assert pages_bench._server_ms(None) is None
    assert pages_bench._server_ms("page;dur=x") is None


def test_verdicts_use_server_time_and_the_issue_targets() -> None:
    pages = {
        "decision": _page("decision", 60.0),
        "gaps": _page("gaps", 150.0),
        "target": _page("target", None, client=250.0),  # no Server-Timing: the client's time
        "country": _page("country", 80.0),
    }
    rows = {r["name"]: r for r in pages_bench.verdicts(pages)}
    assert rows["pages: decision median server time"]["met"] is False  # > 50 ms
    assert rows["pages: gaps median server time"]["met"] is True
    assert rows["pages: target median server time"]["value"] == 250.0
    assert rows["pages: target median server time"]["met"] is False
    assert rows["pages: country median server time"]["met"] is None  # reported, no target
    lines = pages_bench.report_lines({"pages": pages, "screenshots": ["bench/results/pages/x.png"]})
    assert lines[2].startswith("| decision | `/decision` | 1,000 | 500.0 (490.0) | 60.0 / 9.0 |")
    assert "<= 50 ms" in lines[2] and "`bench/results/pages/x.png`" in lines[-1]


def test_the_suite_reports_the_pages_when_measured() -> None:
    from bench import suite

    from .test_bench_suite import _result

    result = _result()
    result["pages"] = {"pages": {"gaps": _page("gaps", 10.0)}, "screenshots": []}
    result["pages"]["verdicts"] = pages_bench.verdicts(result["pages"]["pages"])
    names = [v["name"] for v in suite.verdicts(result)]
    assert "pages: gaps median server time" in names
    result["verdicts"] = suite.verdicts(result)
    assert "## Analyst pages (issue 16)" in suite.report_markdown(result)


def test_the_warming_log_line_is_read_and_reported(tmp_path: Path) -> None:
    log = tmp_path / "pages.log"
    log.write_text("INFO sparql.pages.warm: pages warmed in 12.34 s\n")
    assert pages_bench.wait_warmed(log, timeout=1) == 12.34
    page = {"path": "/gaps", "bytes": 1, "first_ms": 5.0, "first_server_ms": 4.0}
    page |= {"client": {"median_ms": 1.0, "p95_ms": 2.0}, "server": None}
    result = {"pages": {"gaps": page}, "screenshots": [], "warm": {"seconds": 12.34}}
    assert any(
        "in 12.34 s, before the first request" in line for line in pages_bench.report_lines(result)
    )
