"""The search bench (issue 17) at a tiny scale: both harvests run (index off, then on), the
index is rebuilt and every query is timed both ways; its rows and section go into the suite's
report."""

from __future__ import annotations

from bench import search_bench
from bench.suite import report_markdown, verdicts
from tests.test_bench_suite import _result


def test_search_bench_measures_both_ways_and_reports_into_the_suite() -> None:
    measured = search_bench.run(decisions=40, repeat=2)
    assert measured["records_indexed"] == 40
    assert float(measured["harvest_without_index_s"]) > 0  # type: ignore[arg-type]
    rows = measured["queries"]
    assert isinstance(rows, list) and len(rows) == len(search_bench.QUERIES)
    assert all(row["index"]["p95_ms"] >= row["index"]["p50_ms"] > 0 for row in rows)
    suite = _result() | {"search": measured}
    suite["verdicts"] = verdicts(suite)
    names = [v["name"] for v in suite["verdicts"]]
    assert "search: CONTAINS scan p50 / search p50, median of the queries" in names
    assert "search: harvest time added by the index" in names
    markdown = report_markdown(suite)
    assert "## Full-text search (issue 17)" in markdown
    assert "harvest of 40 decisions without the index" in markdown
