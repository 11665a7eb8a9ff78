"""Full-text search bench (issue 17): search latency against the SPARQL ``CONTAINS`` scan it
replaces, on the same store; index build time; the cost the index adds to a harvest.

Runnable alone: ``python -m bench.search_bench [--decisions N] [--repeat R]``. It generates
demo decisions (``harvester.demo``), harvests them from the demo OData provider (in-process,
``httpx.MockTransport``) into two on-disk stores, one with the index kept and one without
(the difference is the cost added to a harvest), rebuilds the index (``meahub reindex``'s
work: the build time), then times each query ``--repeat`` times both ways: the index
(:func:`harvester.search.search`, first 10 hits with snippets, plus the total) and the
scan (``FILTER(CONTAINS(LCASE(?text), "..."))`` over titles, summaries and content, all
answers read). Writes ``bench/results/search.json`` and ``search.md``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

import httpx

from harvester.demo import ODataProvider, generate_dataset
from harvester.search import SearchRequest, attach, reader_generation, reindex, search
from harvester.service.runtime import Runtime
from harvester.settings import settings_from_mapping

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


def _runtime(folder: Path) -> Runtime:
    store = {"path": str(folder / "store"), "state_dir": str(folder / "state")}
    return Runtime.open(settings_from_mapping({"store": store}))


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
    with tempfile.TemporaryDirectory() as tmp:
        plain = _runtime(Path(tmp) / "plain")
        plain.store.publish_hook = None  # type: ignore[union-attr]  # no index kept
        without = _harvest(plain, decisions)
        plain.close()
        runtime = _runtime(Path(tmp) / "indexed")
        with_index = _harvest(runtime, decisions)
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
        runtime.close()
    return {
        "decisions": decisions,
        "records_indexed": records,
        "index_build_s": build,
        "harvest_without_index_s": without,
        "harvest_with_index_s": with_index,
        "harvest_cost": with_index / without - 1,
        "queries": rows,
    }


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


def _markdown(result: dict[str, object]) -> str:
    lines = [
        f"# Search bench: {result['decisions']} decisions",
        "",
        f"- index build (reindex): {result['index_build_s']:.2f} s for "
        f"{result['records_indexed']} records",
        f"- harvest without the index {result['harvest_without_index_s']:.2f} s, with it "
        f"{result['harvest_with_index_s']:.2f} s ({result['harvest_cost']:+.0%})",
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
    return "\n".join(lines) + "\n"


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
