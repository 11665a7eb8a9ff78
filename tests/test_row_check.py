"""Listing rows as the store took them are not read again (issue 14): a row whose provider
states when it changed (the mapping's ``dcterms:modified`` field) and whose fingerprint (the
row, the mappings, the base IRI) the last run kept is unchanged without fetching its details
(here: CBD decision trees); a row that changed, a ``--full`` run and rows without a change
marker read the details as before."""

from __future__ import annotations

import httpx

from harvester.demo.cbd_api import CbdDecisionsProvider
from harvester.models import RunStatus

from .conftest import Hub, small_dataset


def _counting(mock: CbdDecisionsProvider, trees: list[str]):  # type: ignore[no-untyped-def]
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/tree"):
            trees.append(request.url.path)
        return mock.handle(request)

    return handler


def test_a_second_harvest_of_unchanged_rows_fetches_no_details(hub: Hub) -> None:
    mock = CbdDecisionsProvider(small_dataset(seed=3), base_url="http://cbd.test")
    config = hub.source(name="dtt", kind="cbd-decisions", url="http://cbd.test")
    trees: list[str] = []
    first = hub.harvest(_counting(mock, trees), config)
    assert first.status is RunStatus.OK and first.counts["added"] == len(trees) > 0
    trees.clear()
    second = hub.harvest(_counting(mock, trees), config)
    assert second.status is RunStatus.OK
    assert trees == []
    assert second.counts["unchanged"] == first.counts["added"]
    assert second.counts["deleted"] == 0 and hub.count("Decision") == first.counts["added"]


def test_a_row_that_changed_is_read_again_and_the_others_are_not(hub: Hub) -> None:
    data = small_dataset(seed=3)
    mock = CbdDecisionsProvider(data, base_url="http://cbd.test")
    config = hub.source(name="dtt", kind="cbd-decisions", url="http://cbd.test")
    trees: list[str] = []
    first = hub.harvest(_counting(mock, trees), config)
    hub.harvest(_counting(mock, trees), config)  # fingerprints kept
    record = next(r for r in data["Decisions"].values() if r["treaty"] == "cbd")
    record["updated"] = "2026-12-01T10:00:00Z"
    record["title"] = [{"language": "en", "value": "A title changed at the source"}]
    trees.clear()
    third = hub.harvest(_counting(mock, trees), config)
    assert len(trees) == 1
    assert third.counts["updated"] == 1
    assert third.counts["unchanged"] == first.counts["added"] - 1
    titles = hub.runtime.store.query(
        'ASK { ?d <http://purl.org/dc/terms/title> "A title changed at the source"@en }'
    )
    assert bool(titles)


def test_a_full_run_reads_every_record_again(hub: Hub) -> None:
    mock = CbdDecisionsProvider(small_dataset(seed=3), base_url="http://cbd.test")
    config = hub.source(name="dtt", kind="cbd-decisions", url="http://cbd.test")
    trees: list[str] = []
    first = hub.harvest(_counting(mock, trees), config)
    trees.clear()
    hub.harvest(_counting(mock, trees), config, full=True)
    assert len(trees) == first.counts["added"]


def test_rows_without_a_change_marker_are_always_read(hub: Hub) -> None:
    data = small_dataset(seed=3)
    for record in data["Decisions"].values():
        record["updated"] = record["published"] = None
    mock = CbdDecisionsProvider(data, base_url="http://cbd.test")
    config = hub.source(name="dtt", kind="cbd-decisions", url="http://cbd.test")
    trees: list[str] = []
    first = hub.harvest(_counting(mock, trees), config)
    trees.clear()
    second = hub.harvest(_counting(mock, trees), config)
    assert len(trees) == first.counts["added"] > 0
    assert second.counts["unchanged"] == first.counts["added"]
