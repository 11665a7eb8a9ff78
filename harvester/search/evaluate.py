"""``make eval-search``: precision@10 and recall@50 of the search on the team's labelled set.

The fixture (``tests/data/search/records.json``: 40 decisions and resolutions in English,
French, Spanish, Russian, Arabic and Chinese, InforMEA-shaped) is harvested through the real
pipeline (OData provider over ``httpx.MockTransport``, mapping, store, index) into an in-memory
store; then each query of ``tests/data/search/queries.jsonl`` (41 queries in six languages,
relevant records judged by hand: a record is relevant when it is about the query's subject and
has text in the query's language; nothing translates between languages) is searched.

- precision@10: relevant hits among the first 10 returned, over the number returned (at most
  10); a query that returns nothing scores 0;
- recall@50: relevant hits among the first 50, over the relevant records.

Both are averaged over the queries (macro), overall and per language.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

from harvester.demo import Dataset, ODataProvider
from harvester.paths import PROJECT_ROOT
from harvester.service.runtime import Runtime
from harvester.settings import settings_from_mapping

from .searcher import SearchRequest, search
from .sync import attach, reader_generation

__all__ = ["FIXTURE", "QUERIES", "Score", "fixture_dataset", "harvest_fixture", "main", "score"]

FIXTURE = PROJECT_ROOT / "tests" / "data" / "search" / "records.json"
QUERIES = PROJECT_ROOT / "tests" / "data" / "search" / "queries.jsonl"
PROVIDER = "http://fixture.test/informea.svc"
HUB = "http://hub.test/"


def fixture_dataset(path: Path = FIXTURE) -> Dataset:
    """The fixture records as a provider dataset (dates read as datetimes)."""
    data = Dataset()
    for record in json.loads(path.read_text(encoding="utf-8")):
        for key in ("published", "updated"):
            if key in record:
                record[key] = datetime.fromisoformat(record[key].replace("Z", "+00:00"))
        record.setdefault("updated", record.get("published"))
        data.add("Decisions", record)
    return data


def harvest_fixture(runtime: Runtime, data: Dataset) -> None:
    """Harvest ``data`` into ``runtime``'s store through the OData provider."""
    table = {"name": "fixture", "kind": "informea-odata", "url": PROVIDER, "rate": 0}
    config = settings_from_mapping({"sources": [{**table, "entities": ["Decisions"]}]}).sources[0]
    provider = ODataProvider(data, base_url=PROVIDER)
    report = runtime.harvest(config, transport=httpx.MockTransport(provider.handle))
    if report.failures or report.error:
        problem = report.error or report.failures
        raise RuntimeError(f"the fixture did not harvest cleanly: {problem}")


@dataclass(frozen=True)
class Score:
    query: str
    language: str
    precision_at_10: float
    recall_at_50: float
    found: list[str]


def record_id(iri: str) -> str:
    return iri.rstrip("/").rsplit("/", 1)[-1]


def score(runtime: Runtime, queries: Sequence[dict[str, Any]]) -> list[Score]:
    index = attach(runtime.store)
    assert index is not None
    generation = reader_generation(runtime.store)
    scores = []
    for item in queries:
        request = SearchRequest(item["q"], language=item.get("lang"), limit=50, snippets=False)
        found = [record_id(h.iri) for h in search(index, generation, request).hits]
        relevant = set(item["relevant"])
        top = found[:10]
        precision = len(relevant & set(top)) / len(top) if top else 0.0
        recall = len(relevant & set(found[:50])) / len(relevant)
        scores.append(Score(item["q"], item.get("lang", "en"), precision, recall, top))
    return scores


def _report(scores: list[Score], verbose: bool) -> str:
    lines = []
    if verbose:
        for s in scores:
            lines.append(
                f"  [{s.language}] {s.query!r}: P@10 {s.precision_at_10:.2f}, "
                f"R@50 {s.recall_at_50:.2f}, top {s.found}"
            )
    by_language: dict[str, list[Score]] = defaultdict(list)
    for s in scores:
        by_language[s.language].append(s)
    for language, group in sorted(by_language.items()):
        lines.append(f"{language}: {len(group)} queries, {_means(group)}")
    lines.append(f"all: {len(scores)} queries, {_means(scores)}")
    return "\n".join(lines)


def _means(scores: list[Score]) -> str:
    precision = sum(s.precision_at_10 for s in scores) / len(scores)
    recall = sum(s.recall_at_50 for s in scores) / len(scores)
    return f"precision@10 {precision:.3f}, recall@50 {recall:.3f}"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--verbose", "-v", action="store_true", help="one line per query")
    args = parser.parse_args(argv)
    lines = QUERIES.read_text(encoding="utf-8").splitlines()
    queries = [json.loads(line) for line in lines if line.strip()]
    settings = settings_from_mapping({"server": {"base_iri": HUB}})
    with Runtime.open(settings, in_memory=True) as runtime:
        harvest_fixture(runtime, fixture_dataset())
        scores = score(runtime, queries)
    sys.stdout.write(_report(scores, args.verbose) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
