"""The change feed over HTTP (issue 15): the stream, its pages, caching and formats."""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pyoxigraph as ox
import pytest
import rdflib
from starlette.testclient import TestClient

from harvester.demo import Dataset
from harvester.feed import attach
from harvester.service.runtime import Runtime
from harvester.settings import ServerSettings, settings_from_mapping
from sparql import create_app

from .conftest import HUB, Hub, provider

LDES = "https://w3id.org/ldes#"
TREE = "https://w3id.org/tree#"
AS = "https://www.w3.org/ns/activitystreams#"
PROV = "http://www.w3.org/ns/prov#"
DCTERMS = "http://purl.org/dc/terms/"
MEA = "https://w3id.org/mea/ontology#"


@pytest.fixture
def site(dataset: Dataset) -> Iterator[tuple[Hub, TestClient]]:
    runtime = Runtime.open(settings_from_mapping({"server": {"base_iri": HUB}}), in_memory=True)
    attach(runtime.store, HUB, page_size=20)
    hub = Hub(runtime)
    hub.harvest(provider(dataset).handle)
    # the request's host is never used for an IRI
    client = TestClient(
        create_app(runtime.store, ServerSettings(base_iri=HUB)), base_url="http://elsewhere.test"
    )
    yield hub, client
    runtime.close()


def graph(response: object, syntax: str = "turtle") -> rdflib.Graph:
    g = rdflib.Graph()
    g.parse(data=response.content, format=syntax)  # type: ignore[attr-defined]
    return g


def U(value: str) -> rdflib.URIRef:
    return rdflib.URIRef(value)


def test_the_stream_describes_itself(site: tuple[Hub, TestClient]) -> None:
    _, client = site
    response = client.get("/ldes", headers={"Accept": "text/turtle"})
    assert response.status_code == 200
    assert response.headers["vary"] == "Accept"
    g = graph(response)
    stream = U(f"{HUB}ldes")
    assert (stream, rdflib.RDF.type, U(LDES + "EventStream")) in g
    assert g.value(stream, U(LDES + "timestampPath")) == U(PROV + "generatedAtTime")
    assert g.value(stream, U(LDES + "versionOfPath")) == U(DCTERMS + "isVersionOf")
    assert len(list(g.objects(stream, U(TREE + "view")))) == 1
    shape = g.value(stream, U(TREE + "shape"))
    assert shape is not None and list(g.predicate_objects(shape))  # inline
    policy = g.value(stream, U(LDES + "retentionPolicy"))
    assert policy is None  # attach() without retention keeps everything
    assert "elsewhere.test" not in response.text


def follow(client: TestClient) -> list[tuple[str, rdflib.Graph]]:
    """Every page, from the view along the relations, as a consumer would."""
    view = graph(client.get("/ldes/view"))
    url = str(next(view.objects(None, U(TREE + "node"))))
    pages = []
    while url:
        response = client.get(url.removeprefix(HUB.rstrip("/")))
        assert response.status_code == 200, url
        g = graph(response)
        pages.append((url, g))
        relations = list(g.objects(U(url), U(TREE + "relation")))
        assert len(relations) <= 1
        url = str(g.value(relations[0], U(TREE + "node"))) if relations else ""
        if relations:
            assert g.value(relations[0], U(TREE + "path")) == U(PROV + "generatedAtTime")
            assert (relations[0], rdflib.RDF.type, U(TREE + "GreaterThanOrEqualToRelation")) in g
    return pages


def members_of(pages: list[tuple[str, rdflib.Graph]]) -> list[rdflib.URIRef]:
    found = []
    for _, g in pages:
        found.extend(
            sorted(
                g.objects(U(f"{HUB}ldes"), U(TREE + "member")), key=lambda m: int(m.split("/")[-1])
            )
        )
    return found


def test_the_pages_chain_every_member_in_order(site: tuple[Hub, TestClient]) -> None:
    hub, client = site
    pages = follow(client)
    found = members_of(pages)
    assert len(pages) > 2
    assert found == [U(f"{HUB}feed/member/{n}") for n in range(1, len(found) + 1)]
    assert all(
        len(list(g.objects(U(f"{HUB}ldes"), U(TREE + "member")))) == 20 for _, g in pages[:-1]
    )
    bound = None  # the relation's value: every member of the pages after it is at or after it
    for url, g in pages:
        stream_members = g.objects(U(f"{HUB}ldes"), U(TREE + "member"))
        times = [g.value(m, U(PROV + "generatedAtTime")).toPython() for m in stream_members]
        if bound is not None and times:
            assert min(times) >= bound
        relations = list(g.objects(U(url), U(TREE + "relation")))
        bound = g.value(relations[0], U(TREE + "value")).toPython() if relations else None
    member = found[0]
    g = pages[0][1]
    record = g.value(member, U(DCTERMS + "isVersionOf"))
    assert record is not None and (member, rdflib.RDF.type, U(AS + "Create")) in g
    types = set(g.objects(member, rdflib.RDF.type))
    assert len(types) >= 2  # as:Create and the record's own class


def test_full_pages_are_immutable_the_newest_revalidates(site: tuple[Hub, TestClient]) -> None:
    _, client = site
    full = client.get("/ldes/page/1")
    assert full.headers["cache-control"] == "public, max-age=604800, immutable"
    assert (
        client.get("/ldes/page/1", headers={"If-None-Match": full.headers["etag"]}).status_code
        == 304
    )
    pages = follow(client)
    newest = pages[-1][0].removeprefix(HUB.rstrip("/"))
    response = client.get(newest)
    assert "immutable" not in response.headers["cache-control"]
    assert "max-age=60" in response.headers["cache-control"]
    again = client.get(newest, headers={"If-None-Match": response.headers["etag"]})
    assert again.status_code == 304
    assert client.get("/ldes/page/999").status_code == 404


def test_the_newest_page_changes_with_a_commit_and_full_ones_do_not(
    site: tuple[Hub, TestClient], dataset: Dataset
) -> None:
    hub, client = site
    before = {url: client.get(url.removeprefix(HUB.rstrip("/"))) for url, _ in follow(client)}
    decision = sorted(dataset["Decisions"])[0]
    dataset.touch("Decisions", decision, datetime(2031, 1, 1, tzinfo=UTC))
    hub.harvest(provider(dataset).handle)
    for url, old in before.items():
        new = client.get(url.removeprefix(HUB.rstrip("/")))
        if "immutable" in old.headers["cache-control"]:
            assert new.content == old.content and new.headers["etag"] == old.headers["etag"]
        else:
            assert new.headers["etag"] != old.headers["etag"]
    last = follow(client)[-1][1]
    kinds = {str(o) for o in last.objects(None, rdflib.RDF.type)}
    assert AS + "Update" in kinds


@pytest.mark.parametrize(
    ("accept", "syntax", "media"),
    [
        ("text/turtle", "turtle", "text/turtle"),
        ("application/n-triples", "nt", "application/n-triples"),
        ("application/ld+json", "json-ld", "application/ld+json"),
    ],
)
def test_formats_by_accept(
    site: tuple[Hub, TestClient], accept: str, syntax: str, media: str
) -> None:
    _, client = site
    response = client.get("/ldes/page/1", headers={"Accept": accept})
    assert response.headers["content-type"].startswith(media)
    g = graph(response, syntax)
    assert len(list(g.objects(U(f"{HUB}ldes"), U(TREE + "member")))) == 20
    if syntax == "json-ld":
        assert "@context" in json.loads(response.content)
    assert client.get("/ldes/page/1", headers={"Accept": "image/png"}).status_code == 406


def test_retention_is_stated_and_a_dropped_page_is_gone(dataset: Dataset) -> None:
    from harvester.feed import Retention

    runtime = Runtime.open(settings_from_mapping({"server": {"base_iri": HUB}}), in_memory=True)
    try:
        attach(runtime.store, HUB, page_size=20, retention=Retention(count=30))
        Hub(runtime).harvest(provider(dataset).handle)
        client = TestClient(create_app(runtime.store, ServerSettings(base_iri=HUB)))
        g = graph(client.get("/ldes"))
        policy = g.value(U(f"{HUB}ldes"), U(LDES + "retentionPolicy"))
        assert policy is not None and int(g.value(policy, U(LDES + "amount"))) == 30
        gone = client.get("/ldes/page/1")
        assert gone.status_code == 410 and "dump" in gone.text
        pages = follow(client)
        assert int(pages[0][0].rsplit("/", 1)[1]) > 1  # the view leads to the first page kept
    finally:
        runtime.close()


def test_duration_retention_is_a_duration_ago_policy(dataset: Dataset) -> None:
    from harvester.feed import Retention

    runtime = Runtime.open(settings_from_mapping({"server": {"base_iri": HUB}}), in_memory=True)
    try:
        attach(runtime.store, HUB, retention=Retention(days=365))
        Hub(runtime).harvest(provider(dataset).handle)
        client = TestClient(create_app(runtime.store, ServerSettings(base_iri=HUB)))
        g = graph(client.get("/ldes"))
        policy = g.value(U(f"{HUB}ldes"), U(LDES + "retentionPolicy"))
        assert (policy, rdflib.RDF.type, U(LDES + "DurationAgoPolicy")) in g
        assert str(g.value(policy, U(TREE + "value"))) == "P365D"
        assert client.get("/ldes/page/1").status_code == 200  # nothing is a year old
    finally:
        runtime.close()


def test_void_and_record_pages_announce_the_feed(site: tuple[Hub, TestClient]) -> None:
    hub, client = site
    g = graph(client.get("/.well-known/void", headers={"Accept": "text/turtle"}))
    services = list(g.subjects(rdflib.RDF.type, U("http://www.w3.org/ns/dcat#DataService")))
    assert any(
        g.value(s, U("http://www.w3.org/ns/dcat#endpointURL")) == U(f"{HUB}ldes") for s in services
    )
    versions = {
        str(o) for _, page in follow(client) for o in page.objects(None, U(DCTERMS + "isVersionOf"))
    }
    record = min(v for v in versions if v.startswith(f"{HUB}decision/"))
    response = client.get(
        str(record).removeprefix(HUB.rstrip("/")), headers={"Accept": "text/turtle"}
    )
    assert response.status_code == 200
    assert f'<{HUB}ldes>; rel="collection"' in response.headers["link"]


def test_a_dump_states_its_feed_position_and_bootstraps_a_consumer(
    site: tuple[Hub, TestClient], dataset: Dataset, tmp_path: Path
) -> None:
    from harvester.feed import FeedReader, FeedTerms
    from harvester.store.dumps import NQUADS_DUMP, read_manifest, write_dumps

    hub, client = site
    store = hub.runtime.store
    write_dumps(store, tmp_path)
    manifest = read_manifest(tmp_path)
    state = FeedReader(store, FeedTerms(HUB)).state()
    assert manifest["feed_members"] == state.count
    assert manifest["feed_page"] == f"{HUB}ldes/page/{state.count // 20 + 1}"
    assert datetime.fromisoformat(manifest["feed_time"]) == state.time
    with gzip.open(tmp_path / NQUADS_DUMP) as dump:
        loaded = ox.Store()
        loaded.load(dump.read(), format=ox.RdfFormat.N_QUADS)
    assert not any(g.value.startswith(f"{HUB}feed/") for g in loaded.named_graphs())  # type: ignore[union-attr]
    records = {
        str(q.subject.value)
        for q in loaded.quads_for_pattern(None, ox.NamedNode(MEA + "harvestSource"), None, None)
        if not str(q.graph_name.value).startswith(f"{HUB}graph/runs/")  # type: ignore[union-attr]
    }
    # the hub changes after the dump; the consumer follows from the dump's position
    decisions = sorted(dataset["Decisions"])
    dataset.touch("Decisions", decisions[0], datetime(2031, 1, 1, tzinfo=UTC))
    dataset.delete("Decisions", decisions[1])
    dataset.delete("Decisions", decisions[2])
    hub.harvest(provider(dataset).handle)
    url = manifest["feed_page"]
    while url:
        g = graph(client.get(url.removeprefix(HUB.rstrip("/"))))
        for member in g.objects(U(f"{HUB}ldes"), U(TREE + "member")):
            if int(member.split("/")[-1]) <= manifest["feed_members"]:
                continue  # in the dump already
            record = str(g.value(member, U(DCTERMS + "isVersionOf")))
            if (member, rdflib.RDF.type, U(AS + "Delete")) in g:
                records.discard(record)
            else:
                records.add(record)
        relation = g.value(U(url), U(TREE + "relation"))
        url = str(g.value(relation, U(TREE + "node"))) if relation is not None else ""
    rows = store.query(
        f"SELECT DISTINCT ?s WHERE {{ GRAPH ?g {{ ?s <{MEA}harvestSource> ?x }} "
        f"FILTER(!STRSTARTS(STR(?g), '{HUB}graph/runs/')) }}"
    )
    assert records == {r[0].value for r in rows}  # type: ignore[union-attr]
    # and the dumps say where they stand, in VoID and on the download
    served = TestClient(create_app(store, ServerSettings(base_iri=HUB, dumps_dir=tmp_path)))
    void = graph(served.get("/.well-known/void", headers={"Accept": "text/turtle"}))
    assert U(manifest["feed_page"]) in set(void.objects(None, U(MEA + "feedPosition")))
    download = served.get(f"/dumps/{NQUADS_DUMP}")
    assert f'<{manifest["feed_page"]}>; rel="{MEA}feedPosition"' == download.headers["link"]
