"""The dataset description at /.well-known/void and the dumps it points to."""

from __future__ import annotations

import gzip
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pyoxigraph as ox
import pytest
import rdflib

from harvester.exceptions import ConfigError
from harvester.settings import ServerSettings, settings_from_mapping
from harvester.store.dumps import NQUADS_DUMP, TRIG_DUMP, read_manifest, write_dumps
from sparql import caching, create_app

from .conftest import HUB, Hub, provider
from .public_site import MEA, Site, TestClient, open_site, record_queries

VOID = rdflib.Namespace("http://rdfs.org/ns/void#")
DCAT = rdflib.Namespace("http://www.w3.org/ns/dcat#")
DCTERMS = rdflib.Namespace("http://purl.org/dc/terms/")
DATASET = rdflib.URIRef(HUB + ".well-known/void#dataset")
LICENSE = "https://creativecommons.org/licenses/by/4.0/"
FEED = HUB + "feed/"


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Site]:
    opened = open_site(tmp_path / "dumps")
    yield opened
    opened.close()


def _void(client: TestClient, accept: str = "text/turtle", syntax: str = "turtle") -> rdflib.Graph:
    response = client.get("/.well-known/void", headers={"Accept": accept})
    assert response.status_code == 200
    return rdflib.Graph().parse(data=response.content, format=syntax)


def _partition_count(graph: rdflib.Graph, subject: rdflib.term.Node, cls: str) -> int:
    for partition in graph.objects(subject, VOID.classPartition):
        if graph.value(partition, VOID["class"]) == rdflib.URIRef(cls):
            return int(graph.value(partition, VOID.entities))  # type: ignore[arg-type]
    raise AssertionError(f"no partition for {cls}")


def _count(site: Site, cls: str) -> int:
    return Hub(site.runtime).count(cls)


def _dataset_quads(site: Site) -> int:
    """The store's quads outside the change feed's graphs (``{base}feed/...``), counted one by
    one; there are some in the feed (the harvest made members)."""
    graphs = [q.graph_name for q in site.runtime.store.quads()]
    in_feed = len([g for g in graphs if isinstance(g, ox.NamedNode) and g.value.startswith(FEED)])
    assert in_feed > 0
    return len(site.runtime.store) - in_feed


def test_void_triples_leave_the_change_feed_out(site: Site) -> None:
    before = int(str(_void(site.client).value(DATASET, VOID.triples)))
    assert before == _dataset_quads(site)
    # a deletion: the dataset loses the record's quads while the feed gains a member
    feed_before = len(site.runtime.store) - before
    site.dataset.delete("Decisions", sorted(site.dataset["Decisions"])[0])
    Hub(site.runtime).harvest(provider(site.dataset).handle)
    after = int(str(_void(site.client).value(DATASET, VOID.triples)))
    assert after == _dataset_quads(site) < before
    assert len(site.runtime.store) - after > feed_before
    # the same count as the dump (which leaves the feed out too)
    assert site.server.dumps_dir is not None
    assert write_dumps(site.runtime.store, site.server.dumps_dir) is True
    assert read_manifest(site.server.dumps_dir)["quads"] == after


def test_void_describes_the_dataset_and_its_counts(site: Site) -> None:
    graph = _void(site.client)
    assert (DATASET, rdflib.RDF.type, VOID.Dataset) in graph
    assert (DATASET, rdflib.RDF.type, DCAT.Dataset) in graph
    assert graph.value(DATASET, VOID.sparqlEndpoint) == rdflib.URIRef(HUB + "sparql")
    assert int(graph.value(DATASET, VOID.triples)) == _dataset_quads(site)  # type: ignore[arg-type]
    for cls in ("Decision", "Meeting", "NationalReport", "FocalPoint"):
        assert _partition_count(graph, DATASET, MEA + cls) == _count(site, cls)
    assert graph.value(DATASET, DCTERMS.license) is None  # none claimed unless configured


def test_void_has_a_subset_per_source_with_freshness(site: Site) -> None:
    graph = _void(site.client)
    subsets = list(graph.objects(DATASET, VOID.subset))
    assert len(subsets) == 1
    subset = subsets[0]
    assert graph.value(subset, DCTERMS.source) == rdflib.URIRef(HUB + "source/prov")
    assert _partition_count(graph, subset, MEA + "Decision") == len(site.dataset["Decisions"])
    run_time = next(
        iter(
            site.runtime.store.query(
                "SELECT ?t WHERE { ?r a <http://www.w3.org/ns/prov#Activity> ; <http://www.w3.org/ns/prov#startedAtTime> ?t }"
            )
        )
    )["t"].value  # type: ignore[index]
    when = rdflib.Literal(run_time, datatype=rdflib.XSD.dateTime)
    assert graph.value(subset, DCTERMS.modified) == when
    assert graph.value(subset, rdflib.URIRef(MEA + "lastHarvested")) == when
    assert str(graph.value(subset, rdflib.URIRef("http://www.w3.org/ns/prov#wasDerivedFrom"))) == (
        "http://prov.test/informea.svc"
    )


def test_status_callable_gives_the_last_successful_harvest(site: Site) -> None:
    ended = "2099-01-01T00:00:00+00:00"
    status = {"sources": {"prov": {"status": "ok", "ended": ended}, "off": {"status": "failed"}}}
    client = TestClient(create_app(site.runtime.store, site.server, status=lambda: status))
    graph = _void(client)
    subset = rdflib.URIRef(HUB + ".well-known/void#source-prov")
    assert str(graph.value(subset, rdflib.URIRef(MEA + "lastHarvested"))) == ended


def test_licence_title_and_publisher_come_from_config(tmp_path: Path) -> None:
    table = {"base_iri": HUB, "license": LICENSE, "title": "Hub", "publisher": "Secretariat"}
    server = settings_from_mapping(
        {"server": {**table, "dumps_dir": "dumps"}}, base_dir=tmp_path
    ).server
    assert server.dumps_dir == tmp_path / "dumps"
    site = open_site(tmp_path, license=LICENSE, title="Hub", publisher="Secretariat")
    graph = _void(site.client)
    assert graph.value(DATASET, DCTERMS.license) == rdflib.URIRef(LICENSE)
    assert graph.value(DATASET, DCTERMS.title) == rdflib.Literal("Hub", lang="en")
    publisher = graph.value(DATASET, DCTERMS.publisher)
    assert str(graph.value(publisher, rdflib.FOAF.name)) == "Secretariat"
    site.close()


def test_server_keys_are_type_checked() -> None:
    with pytest.raises(ConfigError):
        settings_from_mapping({"server": {"license": 4}})


def test_void_in_json_ld_and_html(site: Site) -> None:
    graph = _void(site.client, "application/ld+json", "json-ld")
    assert (DATASET, rdflib.RDF.type, VOID.Dataset) in graph
    page = site.client.get("/.well-known/void", headers={"Accept": "text/html"})
    assert page.headers["content-type"].startswith("text/html")
    assert "default-src 'none'" in page.headers["content-security-policy"]
    assert 'href="/dumps/latest.nq.gz"' in page.text
    assert 'href="/sparql"' in page.text


def test_void_lists_the_dumps_as_distributions(site: Site) -> None:
    graph = _void(site.client)
    dumps = {str(d) for d in graph.objects(DATASET, VOID.dataDump)}
    assert dumps == {HUB + "dumps/" + NQUADS_DUMP, HUB + "dumps/" + TRIG_DUMP}
    urls = {
        str(graph.value(d, DCAT.downloadURL)) for d in graph.objects(DATASET, DCAT.distribution)
    }
    assert dumps <= urls


def test_nquads_dump_round_trips(site: Site) -> None:
    response = site.client.get("/dumps/" + NQUADS_DUMP)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/gzip"
    quads = list(ox.parse(gzip.decompress(response.content), format=ox.RdfFormat.N_QUADS))
    stored = _dumped(site)
    assert len(quads) == len(stored)
    assert set(quads) == stored


def _dumped(site: Site) -> set[ox.Quad]:
    """Every quad of the store but the change feed's own graphs (issue 15: served at /ldes;
    a dump states its position in the feed instead)."""
    feed = HUB + "feed/"
    return {q for q in site.runtime.store.quads() if not str(q.graph_name).startswith(f"<{feed}")}


def test_trig_dump_parses_with_its_graph_names(site: Site) -> None:
    response = site.client.get("/dumps/" + TRIG_DUMP)
    assert response.headers["content-type"] == "application/gzip"
    quads = list(ox.parse(gzip.decompress(response.content), format=ox.RdfFormat.TRIG))
    assert set(quads) == _dumped(site)
    a, decision = ox.NamedNode(str(rdflib.RDF.type)), ox.NamedNode(MEA + "Decision")
    decisions = {q.subject for q in quads if q.predicate == a and q.object == decision}
    assert len(decisions) == len(site.dataset["Decisions"])


def test_the_retired_turtle_dump_says_where_to_go(site: Site) -> None:
    response = site.client.get("/dumps/latest.ttl")
    assert response.status_code == 410
    assert TRIG_DUMP in response.text and NQUADS_DUMP in response.text


def test_dumps_revalidate_with_etag_and_last_modified(site: Site) -> None:
    first = site.client.get("/dumps/" + TRIG_DUMP)
    etag, modified = first.headers["etag"], first.headers["last-modified"]
    assert (
        site.client.get("/dumps/" + TRIG_DUMP, headers={"If-None-Match": etag}).status_code == 304
    )
    since = site.client.get("/dumps/" + TRIG_DUMP, headers={"If-Modified-Since": modified})
    assert since.status_code == 304
    assert (
        site.client.get("/dumps/" + TRIG_DUMP, headers={"If-None-Match": '"other"'}).status_code
        == 200
    )


def test_unknown_dump_is_404(site: Site) -> None:
    assert site.client.get("/dumps/latest.json").status_code == 404
    assert site.client.get("/dumps/..%2Fsecret").status_code == 404


def test_dumps_are_regenerated_after_a_harvest(site: Site, tmp_path: Path) -> None:
    directory = tmp_path / "regenerated"
    store = site.runtime.store
    assert write_dumps(store, directory) is True
    assert write_dumps(store, directory) is False  # same store state: nothing to do
    before = read_manifest(directory)["quads"]
    record_id = next(iter(site.dataset["Decisions"]))
    site.dataset.delete("Decisions", record_id)
    Hub(site.runtime).harvest(provider(site.dataset).handle)
    assert write_dumps(store, directory) is True
    quads = list(ox.parse(gzip.open(directory / NQUADS_DUMP), format=ox.RdfFormat.N_QUADS))
    assert len(quads) == len(_dumped(site)) == read_manifest(directory)["quads"] != before


def test_dumps_need_a_directory(site: Site) -> None:
    server = ServerSettings(base_iri=HUB)  # in-memory store, no dumps_dir
    client = TestClient(create_app(site.runtime.store, server))
    assert client.get("/dumps/" + NQUADS_DUMP).status_code == 404


# -- caching: the description revalidates against the store's version ----------------------------

VOID_PATH = "/.well-known/void"


@pytest.mark.parametrize("accept", ["text/turtle", "text/html"])
def test_void_carries_validators_and_revalidates_without_a_query(
    site: Site, monkeypatch: pytest.MonkeyPatch, accept: str
) -> None:
    first = site.client.get(VOID_PATH, headers={"Accept": accept})
    assert first.status_code == 200
    etag, modified = first.headers["etag"], first.headers["last-modified"]
    assert etag.startswith('W/"') and first.headers["cache-control"] == "no-cache"
    assert first.headers["vary"] == "Accept, Accept-Language"
    calls = record_queries(monkeypatch, site)
    by_tag = site.client.get(VOID_PATH, headers={"Accept": accept, "If-None-Match": etag})
    by_date = site.client.get(VOID_PATH, headers={"Accept": accept, "If-Modified-Since": modified})
    head = site.client.head(VOID_PATH, headers={"Accept": accept, "If-None-Match": etag})
    assert (by_tag.status_code, by_date.status_code, head.status_code) == (304, 304, 304)
    assert calls == []  # no count, no run lookup: the validator alone
    assert by_tag.content == b""
    assert by_tag.headers["etag"] == etag and by_tag.headers["last-modified"] == modified
    assert by_tag.headers["vary"] == "Accept, Accept-Language"
    stale = site.client.get(VOID_PATH, headers={"Accept": accept, "If-None-Match": 'W/"old"'})
    assert stale.status_code == 200 and calls


def test_void_etags_differ_by_representation_and_language(site: Site) -> None:
    def tag(**headers: str) -> str:
        return site.client.get(VOID_PATH, headers=headers).headers["etag"]

    tags = [
        tag(Accept="text/turtle"),
        tag(Accept="application/ld+json"),
        tag(Accept="text/html", **{"Accept-Language": "en"}),
        tag(Accept="text/html", **{"Accept-Language": "fr"}),
    ]
    assert len(set(tags)) == len(tags)
    html_en = {"Accept": "text/html", "Accept-Language": "en"}
    assert (
        site.client.get(VOID_PATH, headers={**html_en, "If-None-Match": tags[0]}).status_code == 200
    )


def test_a_harvest_changes_the_void_validators(site: Site, monkeypatch: pytest.MonkeyPatch) -> None:
    # Both versions first seen in the same second: the tags must tell them apart, and the
    # date alone must not make the old copy current.
    monkeypatch.setattr(caching, "time", SimpleNamespace(time=lambda: 1_700_000_000.25))
    first = site.client.get(VOID_PATH, headers={"Accept": "text/turtle"})
    etag, modified = first.headers["etag"], first.headers["last-modified"]
    record_id = next(iter(site.dataset["Decisions"]))
    site.dataset.delete("Decisions", record_id)
    Hub(site.runtime).harvest(provider(site.dataset).handle)
    by_tag = site.client.get(VOID_PATH, headers={"Accept": "text/turtle", "If-None-Match": etag})
    assert by_tag.status_code == 200 and by_tag.headers["etag"] != etag
    graph = rdflib.Graph().parse(data=by_tag.content, format="turtle")
    assert _partition_count(graph, DATASET, MEA + "Decision") == _count(site, "Decision")
    assert by_tag.headers["last-modified"] == modified
    since = {"Accept": "text/turtle", "If-Modified-Since": modified}
    assert site.client.get(VOID_PATH, headers=since).status_code == 200
    current = {"Accept": "text/turtle", "If-None-Match": by_tag.headers["etag"]}
    assert site.client.get(VOID_PATH, headers=current).status_code == 304


def test_writing_the_dumps_changes_the_void_validators(site: Site) -> None:
    # the description says when the dumps were written: writing them changes it
    distribution = rdflib.URIRef(HUB + ".well-known/void#dump-" + TRIG_DUMP)
    first = site.client.get(VOID_PATH, headers={"Accept": "text/turtle"})
    graph = rdflib.Graph().parse(data=first.content, format="turtle")
    assert graph.value(distribution, DCTERMS.modified) is None
    assert site.client.get("/dumps/" + TRIG_DUMP).status_code == 200  # written now
    current = {"Accept": "text/turtle", "If-None-Match": first.headers["etag"]}
    again = site.client.get(VOID_PATH, headers=current)
    assert again.status_code == 200
    assert again.headers["etag"] != first.headers["etag"]
    graph = rdflib.Graph().parse(data=again.content, format="turtle")
    assert graph.value(distribution, DCTERMS.modified) is not None


def test_dump_validators_use_the_shared_rules(site: Site) -> None:
    first = site.client.get("/dumps/" + NQUADS_DUMP)
    etag = first.headers["etag"]
    assert etag.startswith('"')  # the bytes of a file: a strong tag
    weak = site.client.get("/dumps/" + NQUADS_DUMP, headers={"If-None-Match": "W/" + etag})
    assert weak.status_code == 304  # If-None-Match compares weakly
    assert weak.headers["etag"] == etag
    assert (
        site.client.get("/dumps/" + NQUADS_DUMP, headers={"If-None-Match": "*"}).status_code == 304
    )
