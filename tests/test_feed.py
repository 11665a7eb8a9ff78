"""The change feed (issue 15): one member per changed record, in the same commit."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pyoxigraph as ox
import pytest

from harvester.demo import Dataset
from harvester.feed import FeedReader, FeedTerms, Member, attach
from harvester.feed.recorder import Retention
from harvester.service.runtime import Runtime
from harvester.settings import settings_from_mapping

from .conftest import HUB, Hub, provider

MEA = "https://w3id.org/mea/ontology#"


def members(hub: Hub) -> list[Member]:
    reader = FeedReader(hub.runtime.store, FeedTerms(HUB))
    state = reader.state()
    found: list[Member] = []
    for number in range(reader.first_page(state), reader.newest_page(state) + 1):
        page = reader.page(number, state)
        assert page is not None
        found.extend(page.members)
    return found


def live_records(hub: Hub) -> set[str]:
    rows = hub.runtime.store.query(
        f"SELECT DISTINCT ?s WHERE {{ GRAPH ?g {{ ?s <{MEA}harvestSource> ?x }} "
        f"FILTER(!STRSTARTS(STR(?g), '{HUB}graph/runs/')) }}"
    )
    return {r[0].value for r in rows}  # type: ignore[union-attr]


def graphs_of(hub: Hub, record: str) -> list[str]:
    rows = hub.runtime.store.query(
        f"SELECT ?g WHERE {{ GRAPH ?g {{ <{record}> <{MEA}harvestSource> ?x }} }}"
    )
    return [r[0].value for r in rows]  # type: ignore[union-attr]


def triples_of(hub: Hub, graph: str) -> set[str]:
    return {str(q.triple) for q in hub.runtime.store.graph_quads(graph)}


def canonical(triples: tuple[ox.Triple, ...]) -> set[str]:
    """Triples as the store would keep them (literals in canonical form)."""
    store = ox.Store()
    store.extend(ox.Quad(t.subject, t.predicate, t.object) for t in triples)
    return {str(q.triple) for q in store}


@pytest.fixture
def feed_hub() -> Iterator[Hub]:
    runtime = Runtime.open(settings_from_mapping({"server": {"base_iri": HUB}}), in_memory=True)
    attach(runtime.store, HUB, page_size=20)
    yield Hub(runtime)
    runtime.close()


def test_a_harvest_gives_one_create_per_record(feed_hub: Hub, dataset: Dataset) -> None:
    report = feed_hub.harvest(provider(dataset).handle)
    found = members(feed_hub)
    assert len(found) == report.counts["added"] > 40  # more than one page
    assert {m.kind for m in found} == {"Create"}
    assert {m.record for m in found} == live_records(feed_hub)
    assert [m.number for m in found] == list(range(1, len(found) + 1))
    first = found[0]
    types = {str(t.object) for t in first.payload if t.predicate.value.endswith("#type")}
    assert types  # the record's rdf:type, its titles: the record's own triples
    assert {str(t.subject) for t in first.payload} >= {f"<{first.record}>"}
    assert len({m.time for m in found}) == 1  # one commit, one time


def test_unchanged_records_make_no_member(feed_hub: Hub, dataset: Dataset) -> None:
    feed_hub.harvest(provider(dataset).handle)
    before = members(feed_hub)
    report = feed_hub.harvest(provider(dataset).handle)
    assert report.counts["unchanged"] > 0
    assert members(feed_hub) == before


def test_updates_and_deletes_are_exactly_the_new_members(feed_hub: Hub, dataset: Dataset) -> None:
    feed_hub.harvest(provider(dataset).handle)
    before = members(feed_hub)
    decisions = sorted(dataset["Decisions"])
    dataset.touch("Decisions", decisions[0], datetime(2030, 1, 1, tzinfo=UTC))
    dataset.delete("Decisions", decisions[1])
    report = feed_hub.harvest(provider(dataset).handle)
    assert report.counts["updated"] == 1 and report.counts["deleted"] == 1
    after = members(feed_hub)
    new = after[len(before) :]
    assert after[: len(before)] == before  # members never change
    assert Counter(m.kind for m in new) == {"Update": 1, "Delete": 1}
    assert all(m.time > before[-1].time for m in new)
    deleted = next(m for m in new if m.kind == "Delete")
    assert deleted.payload == ()
    assert deleted.record not in live_records(feed_hub)
    updated = next(m for m in new if m.kind == "Update")
    assert updated.record in live_records(feed_hub)
    # the payload is the record as committed: its graph's triples (and its inferred links)
    rows = feed_hub.runtime.store.query(
        f"SELECT ?p ?o WHERE {{ GRAPH ?g {{ <{updated.record}> ?p ?o }} }}"
    )
    stored = {(r[0].value, str(r[1])) for r in rows}  # type: ignore[union-attr]
    payload = {
        (t.predicate.value, str(t.object))
        for t in updated.payload
        if str(t.subject) == f"<{updated.record}>"
    }
    assert payload == stored


def test_a_staged_run_split_in_batches_still_gives_one_member_per_record(
    tmp_path: Path, dataset: Dataset
) -> None:
    settings = settings_from_mapping(
        {"server": {"base_iri": HUB}, "store": {"path": str(tmp_path / "store")}}
    )
    runtime = Runtime.open(settings)
    try:
        attach(runtime.store, HUB, page_size=20)
        hub = Hub(runtime)
        harvester = runtime.harvester("informea-odata")
        harvester.batch_quads = 300  # many staged batches, records split across them
        report = hub.harvest(provider(dataset).handle, harvester=harvester)
        found = members(hub)
        assert len(found) == report.counts["added"]
        assert len({m.record for m in found}) == len(found)
        assert {m.record for m in found} == live_records(hub)
        # each payload is its record's graph and inferred graph as committed
        with_inferred = 0
        for member in found:
            graph = next(g for g in graphs_of(hub, member.record))
            stored = triples_of(hub, graph) | triples_of(hub, graph + "/inferred")
            with_inferred += bool(triples_of(hub, graph + "/inferred"))
            assert canonical(member.payload) == stored, member.record
        assert with_inferred > 0
    finally:
        runtime.close()


def test_count_retention_drops_whole_old_pages(dataset: Dataset) -> None:
    runtime = Runtime.open(settings_from_mapping({"server": {"base_iri": HUB}}), in_memory=True)
    try:
        attach(runtime.store, HUB, page_size=20, retention=Retention(count=30))
        hub = Hub(runtime)
        hub.harvest(provider(dataset).handle)
        reader = FeedReader(runtime.store, FeedTerms(HUB))
        state = reader.state()
        assert state.count > 60
        assert reader.page(1, state) is None  # dropped
        kept = members(hub)
        assert kept[0].number == state.first_kept
        assert (state.first_kept - 1) % 20 == 0
        assert len(kept) >= 30
    finally:
        runtime.close()


def test_a_remap_that_changes_nothing_makes_no_member(feed_hub: Hub, dataset: Dataset) -> None:
    feed_hub.harvest(provider(dataset).handle)
    before = members(feed_hub)
    report = feed_hub.runtime.harvester("informea-odata").remap(feed_hub.source())
    assert report.counts["updated"] > 0  # every record written again
    assert members(feed_hub) == before


def test_without_the_feed_nothing_is_recorded(dataset: Dataset) -> None:
    table = {"server": {"base_iri": HUB}, "feed": {"enabled": False}}
    hub = Hub(Runtime.open(settings_from_mapping(table), in_memory=True))
    hub.harvest(provider(dataset).handle)
    assert FeedReader(hub.runtime.store, FeedTerms(HUB)).state().count == 0
    ask = f"ASK {{ GRAPH ?g {{ ?s ?p ?o }} FILTER(STRSTARTS(STR(?g), '{HUB}feed/')) }}"
    assert not hub.runtime.store.query(ask)
    hub.runtime.close()


def test_the_runtime_records_the_feed_by_default(hub: Hub, dataset: Dataset) -> None:
    report = hub.harvest(provider(dataset).handle)
    state = FeedReader(hub.runtime.store, FeedTerms(HUB)).state()
    assert state.count == report.counts["added"]
    assert state.page_size == 250


@pytest.mark.parametrize(
    ("value", "days", "count"), [("30d", 30.0, None), (5000, None, 5000), ("none", None, None)]
)
def test_feed_retention_settings(value: object, days: float | None, count: int | None) -> None:
    feed = settings_from_mapping({"feed": {"retention": value}}).feed
    assert (feed.retention_days, feed.retention_count) == (days, count)


@pytest.mark.parametrize("table", [{"retention": "soon"}, {"page_size": 50}, {"size": 1}])
def test_bad_feed_settings_are_refused(table: dict[str, object]) -> None:
    from harvester.exceptions import ConfigError

    with pytest.raises(ConfigError):
        settings_from_mapping({"feed": table})


def test_meahub_link_changes_are_members_too(feed_hub: Hub, dataset: Dataset) -> None:
    from harvester.mapping.enrich import Enricher
    from harvester.service.relink import relink

    feed_hub.harvest(provider(dataset).handle)
    store = feed_hub.runtime.store
    same = feed_hub.runtime.enricher()
    relink(store, same, HUB)  # (its evidence may name other paragraphs than the harvest's)
    before = members(feed_hub)
    relink(store, same, HUB)  # the same links again: no change, no member
    assert members(feed_hub) == before
    stricter = Enricher(same.linker, 0.95)
    relink(store, stricter, HUB)
    new = members(feed_hub)[len(before) :]
    assert new and {m.kind for m in new} == {"Update"}
    assert all("/decision/" in m.record for m in new)
    assert len({m.record for m in new}) == len(new)


def test_stored_payloads_are_compressed_and_older_plain_ones_still_read(
    feed_hub: Hub, dataset: Dataset
) -> None:
    from harvester.feed.terms import FEED_PAYLOAD, PAYLOAD_TYPE, decode_payload, encode_payload

    feed_hub.harvest(provider(dataset).handle)
    store = feed_hub.runtime.store
    rows = store.query(f"SELECT ?p WHERE {{ GRAPH ?g {{ ?m <{FEED_PAYLOAD}> ?p }} }}")
    payloads = [row["p"] for row in rows]  # type: ignore[union-attr]
    assert payloads and {p.datatype.value for p in payloads} == {PAYLOAD_TYPE}
    texts = [decode_payload(p) for p in payloads]
    assert sum(len(p.value) for p in payloads) < sum(len(t) for t in texts) / 3
    line = '<http://x.test/r> <http://purl.org/dc/terms/title> "a \\"quoted\\"\\n title"@en .\n'
    assert decode_payload(encode_payload(line)) == line
    assert decode_payload(ox.Literal(line)) == line  # a plain payload, as stores had them
