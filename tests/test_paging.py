"""Paging of the informea-odata adapter: the next page is fetched while the current one is
processed, and the listing still ends, fails and counts as before."""

from __future__ import annotations

import threading

import httpx
import pytest

from harvester.exceptions import SourceError
from harvester.settings import SourceConfig
from harvester.sources import Listing, open_source

ROOT = "https://odata.example.org/informea.svc"


def _provider(total: int, top: int, fetched: list[int], second: threading.Event):
    def handler(request: httpx.Request) -> httpx.Response:
        skip = int(request.url.params.get("$skip", "0"))
        fetched.append(skip)
        if skip >= top:
            second.set()
        items = [{"id": f"d{i}", "title": f"t{i}"} for i in range(skip, min(skip + top, total))]
        return httpx.Response(200, json={"d": {"results": items, "__count": str(total)}})

    return handler


def _source(handler, **options: object):
    config = SourceConfig(name="s", kind="informea-odata", url=ROOT, page_size=3, **options)
    return open_source(config, user_agent="test", transport=httpx.MockTransport(handler))


def test_the_next_page_is_fetched_while_the_current_one_is_processed() -> None:
    fetched: list[int] = []
    second = threading.Event()
    source = _source(_provider(7, 3, fetched, second))
    listing = Listing("Decisions")
    records = source.records("Decisions", listing)
    first = next(records)
    assert first.record_id == "d0"
    # the consumer holds record d0 of page 1; page 2 is asked for meanwhile
    assert second.wait(5), "page 2 was not prefetched"
    rest = [r.record_id for r in records]
    assert rest == [f"d{i}" for i in range(1, 7)]
    assert fetched == [0, 3, 6] and listing.complete and listing.pages == 3


def test_max_pages_still_fails_after_the_last_allowed_page_is_yielded() -> None:
    fetched: list[int] = []
    source = _source(_provider(9, 3, fetched, threading.Event()), max_pages=2)
    got: list[str | None] = []
    with pytest.raises(SourceError, match="max_pages=2"):
        for record in source.records("Decisions", Listing("Decisions")):
            got.append(record.record_id)
    assert got == [f"d{i}" for i in range(6)]
    assert fetched == [0, 3]


@pytest.mark.parametrize("next_host", [None, "http://localhost:8081"])
def test_a_server_page_size_below_top_lists_every_window(hub, dataset, next_host) -> None:
    # The provider caps $top at 4: it answers each window of 10 in pages linked by __next, and ends
    # the chain when the window is full: the harvester must ask for the next window itself.
    from tests.conftest import provider

    mock = provider(dataset, max_top=4, next_host=next_host)
    config = hub.source(page_size=10, entities=["Decisions"])
    report = hub.harvest(mock.handle, config)
    assert report.counts["added"] == len(dataset["Decisions"]) > 10
    assert not [n for n in report.notes if "incomplete" in n]
    gone = next(iter(dataset["Decisions"]))
    dataset.delete("Decisions", gone)
    again = hub.harvest(mock.handle, config)
    assert again.counts["deleted"] == 1  # the listing was complete, so deletions went through
    assert hub.count("Decision") == len(dataset["Decisions"])
