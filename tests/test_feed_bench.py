"""``bench.feed_bench`` (the change feed's section of ``make bench``) on a tiny source: hub B
catches up on hub A's feed and equals it, and the numbers become verdicts and a report."""

from __future__ import annotations

from bench import feed_bench


def test_catch_up_mirrors_the_hub_and_is_reported() -> None:
    result = feed_bench.measure_catch_up(150)
    catch = result["catch_up"]
    assert catch["status"] == "ok" and catch["records_equal"] is True
    assert catch["applied"] == catch["changes"] >= 100
    assert catch["follow_s"] > 0 and catch["download_and_load_s"] > 0
    result |= {
        "decisions": 10,
        "harvest": {"without_feed_s": 2.0, "with_feed_s": 2.3, "ratio": 1.15,
                    "cpu_without_feed_s": 3.0, "cpu_with_feed_s": 3.15, "cpu_ratio": 1.05,
                    "runs": {"without": [2.0], "with": [2.3]}},
    }  # fmt: skip
    rows = {row["name"]: row for row in feed_bench.verdicts(result)}
    assert rows["feed: harvest time with / without the feed"]["met"] is False  # 1.15 > 1.10
    assert rows["feed: harvest CPU time with / without the feed"]["met"] is True
    assert rows["feed: catch-up mirror equals the hub (records)"]["met"] is True
    text = "\n".join(feed_bench.report_lines(result))
    assert "**1.15x** (target <= 1.10)" in text
    assert f"all {catch['changes']:,} changes" in text
