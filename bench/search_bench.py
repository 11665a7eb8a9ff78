"""Full-text search bench (issue 17): search latency against the SPARQL ``CONTAINS`` scan it
replaces, on the same store; index build time; the cost the index adds to a harvest.

Runnable alone: ``python -m bench.search_bench [--decisions N] [--repeat R]``. It generates
demo decisions (``harvester.demo``), harvests them from the demo OData provider (in-process,
``httpx.MockTransport``) into two new on-disk stores, ``[search] enabled = false`` and true
(the difference is the cost the index adds to a harvest: :func:`harvest_cost`), then on the
indexed one (:func:`measure`) rebuilds the index (``meahub reindex``'s work: the build time)
and times each query ``--repeat`` times both ways: the index (:func:`harvester.search.search`,
first 10 hits with snippets, plus the total) and the scan (``FILTER(CONTAINS(LCASE(?text),
"..."))`` over titles, summaries and content, all answers read). Writes
``bench/results/search.json`` and ``search.md``.

In ``make bench`` (``bench.suite``) :func:`measure` runs on the suite's own harvested store (the
default scale) and :func:`harvest_cost` at ``--search-decisions``.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import httpx

from harvester.demo import ODataProvider, generate_dataset
from harvester.search import SearchRequest, attach, reader_generation, reindex, search
from harvester.service.runtime import Runtime
from harvester.settings import load_settings, settings_from_mapping

RESULTS = Path(__file__).resolve().parent / "results"
PROVIDER = "http://bench.test/informea.svc"
QUERIES = ("protected areas", "migratory species", "wetlands", "climate change", "budget")
SCAN = """PREFIX mea: <https://w3id.org/mea/ontology#>
PREFIX dcterms: <http://purl.org/dc/terms/>
SELECT DISTINCT ?d WHERE {{
  ?d a mea:Decision .
  {{ ?d dcterms:title ?text }} UNION {{ ?d dcterms:abstract ?text }}
  UNION {{ ?d mea:content ?text }}
  FILTER(CONTAINS(LCASE(STR(?text)), "{word}"))
}}"""


def _runtime(folder: Path, *, index: bool = True) -> Runtime:
    store = {"path": str(folder / "store"), "state_dir": str(folder / "state")}
    return Runtime.open(settings_from_mapping({"store": store, "search": {"enabled": index}}))


def _harvest(runtime: Runtime, decisions: int) -> float:
    data = generate_dataset(
        treaties=("cbd", "cms", "ramsar", "cites", "aewa"),
        seed=3,
        decisions=decisions,
        meetings=max(decisions // 40, 4),
        contacts=0,
        reports=0,
        plans=0,
    )
    table = {"name": "bench", "kind": "informea-odata", "url": PROVIDER, "rate": 0}
    config = settings_from_mapping({"sources": [{**table, "entities": ["Decisions"]}]}).sources[0]
    transport = httpx.MockTransport(ODataProvider(data, base_url=PROVIDER).handle)
    started = time.perf_counter()
    runtime.harvest(config, transport=transport)
    return time.perf_counter() - started


def _percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]
    return {"p50_ms": statistics.median(ordered) * 1000, "p95_ms": p95 * 1000}


def _time(action: object, repeat: int) -> list[float]:
    assert callable(action)
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        action()
        samples.append(time.perf_counter() - started)
    return samples


def run(decisions: int, repeat: int) -> dict[str, object]:
    """Alone: :func:`harvest_cost` at ``decisions``, then :func:`measure` on the indexed store."""
    with tempfile.TemporaryDirectory() as tmp:
        cost = harvest_cost(Path(tmp), decisions)
        with _runtime(Path(tmp) / "indexed") as runtime:
            return cost | measure(runtime, repeat)


def harvest_cost(folder: Path, decisions: int) -> dict[str, object]:
    """The same generated decisions harvested into two new on-disk stores, ``[search]
    enabled = false`` then true: the harvest's seconds without and with the index (the
    indexed store is left in ``folder/indexed``)."""
    with _runtime(folder / "plain", index=False) as plain:
        without = _harvest(plain, decisions)
    shutil.rmtree(folder / "plain")
    with _runtime(folder / "indexed") as runtime:
        with_index = _harvest(runtime, decisions)
    return {
        "decisions": decisions,
        "harvest_without_index_s": without,
        "harvest_with_index_s": with_index,
        "harvest_cost": with_index / without - 1,
    }


def measure_store_dir(store_dir: Path, repeat: int) -> dict[str, object]:
    """:func:`measure` on the store whose config is ``store_dir/meahub.toml`` (the suite's)."""
    settings = load_settings(store_dir / "meahub.toml")
    with Runtime.open(settings) as runtime:
        return measure(runtime, repeat) | {"quads": len(runtime.store)}


def measure(runtime: Runtime, repeat: int) -> dict[str, object]:
    """The index rebuilt (``meahub reindex``'s work: the build time), then each query
    ``repeat`` times through the index and as the ``CONTAINS`` scan."""
    started = time.perf_counter()
    records = reindex(runtime.store)
    build = time.perf_counter() - started
    index = attach(runtime.store)
    assert index is not None
    generation = reader_generation(runtime.store)
    rows = []
    for text in QUERIES:
        request = SearchRequest(text, limit=10)
        total = search(index, generation, request).total
        searched = _time(lambda r=request: search(index, generation, r), repeat)
        query = SCAN.format(word=text)
        scanned = _time(lambda q=query: list(runtime.store.query(q)), repeat)  # type: ignore[arg-type]
        matches = len(list(runtime.store.query(query)))  # type: ignore[arg-type]
        rows.append(_row(text, total, matches, searched, scanned))
    return {"records_indexed": records, "index_build_s": build, "queries": rows}


def _row(
    text: str, total: int, matches: int, searched: list[float], scanned: list[float]
) -> dict[str, object]:
    index, scan = _percentiles(searched), _percentiles(scanned)
    return {
        "query": text,
        "index_hits": total,
        "scan_matches": matches,
        "index": index,
        "scan": scan,
        "ratio_p50": scan["p50_ms"] / index["p50_ms"],
    }


def verdicts(result: dict[str, object]) -> list[dict[str, object]]:
    """The suite's rows: p50/p95 of the searches, their speed-up over the scan, the build
    time and the harvest cost (reported; the issue sets no number)."""
    rows = result["queries"]
    assert isinstance(rows, list)
    worst = max(row["index"]["p95_ms"] for row in rows)
    median = statistics.median(row["index"]["p50_ms"] for row in rows)
    ratio = statistics.median(row["ratio_p50"] for row in rows)
    found = [
        ("search: p50 latency, median of the queries", median, "ms"),
        ("search: p95 latency, worst query", worst, "ms"),
        ("search: CONTAINS scan p50 / search p50, median of the queries", ratio, "x"),
        ("search: index build (reindex)", result["index_build_s"], "s"),
    ]
    if "harvest_cost" in result:
        cost = result["harvest_cost"]
        assert isinstance(cost, float)
        found.append(("search: harvest time added by the index", cost * 100, "%"))
    return [
        {"name": name, "value": value, "unit": unit, "target": "-", "met": None}
        for name, value, unit in found
    ]


def _markdown(result: dict[str, object]) -> str:
    lines = [f"# Search bench: {result['decisions']} decisions", "", *report_lines(result)]
    return "\n".join(lines) + "\n"


def report_lines(result: dict[str, object]) -> list[str]:
    """The lines of :func:`measure` (and :func:`harvest_cost`, when ``result`` has it): also
    the suite's section."""
    lines = [
        f"- index build (reindex): {result['index_build_s']:.2f} s for "
        f"{result['records_indexed']:,} records",
    ]
    if "harvest_cost" in result:
        lines.append(
            f"- harvest of {result['decisions']:,} decisions without the index "
            f"{result['harvest_without_index_s']:.2f} s, with it "
            f"{result['harvest_with_index_s']:.2f} s ({result['harvest_cost']:+.0%})"
        )
    lines += [
        "",
        "| query | index hits | scan matches | index p50/p95 ms | scan p50/p95 ms | ratio (p50) |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for row in result["queries"]:  # type: ignore[attr-defined]
        i, s = row["index"], row["scan"]
        lines.append(
            f"| {row['query']} | {row['index_hits']} | {row['scan_matches']} | "
            f"{i['p50_ms']:.2f} / {i['p95_ms']:.2f} | {s['p50_ms']:.1f} / {s['p95_ms']:.1f} | "
            f"{row['ratio_p50']:.0f}x |"
        )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--decisions", type=int, default=5_000)
    parser.add_argument("--repeat", type=int, default=30)
    args = parser.parse_args()
    result = run(args.decisions, args.repeat)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "search.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    (RESULTS / "search.md").write_text(_markdown(result), encoding="utf-8")
    print(_markdown(result))


if __name__ == "__main__":
    main()
