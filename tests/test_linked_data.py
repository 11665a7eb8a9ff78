"""Linked data: every minted IRI dereferences, by content negotiation, as RDF or as a safe page."""

from __future__ import annotations

import html
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import quote

import pyoxigraph as ox
import pytest
import rdflib

from sparql import caching
from sparql.languages import best_literal, preferred_languages
from sparql.links import Linker

from .conftest import HUB, Hub, provider
from .public_site import (
    IMG_TITLE,
    MEA,
    SCRIPT_TITLE,
    Site,
    open_site,
    path_of,
    record_queries,
)

HTML = {"Accept": "text/html"}
DCTERMS = rdflib.Namespace("http://purl.org/dc/terms/")


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    opened = open_site(Path(tmp_path_factory.mktemp("dumps")))
    yield opened
    opened.close()


def _store_graph(site: Site, iri: str) -> rdflib.Graph:
    """What the store says about ``iri`` (its own triples), as an rdflib graph."""
    rows = site.runtime.store.query(
        "SELECT ?s ?p ?o WHERE { ?s ?p ?o }", substitutions={"s": ox.NamedNode(iri)}
    )
    triples = [ox.Triple(r["s"], r["p"], r["o"]) for r in rows]  # type: ignore[union-attr]
    data = ox.serialize(triples, format=ox.RdfFormat.N_TRIPLES)
    return rdflib.Graph().parse(data=data, format="nt")


def _meeting(site: Site, decision: str) -> str:
    meeting = _store_graph(site, decision).value(
        rdflib.URIRef(decision), rdflib.URIRef(MEA + "meeting")
    )
    assert meeting is not None
    return str(meeting)


def _title(site: Site, index: int, language: str) -> str:
    record = list(site.dataset["Decisions"].values())[index]
    return next(t["value"] for t in record["title"] if t["language"] == language)


@pytest.mark.parametrize(
    ("accept", "syntax"),
    [
        pytest.param("text/turtle", "turtle", id="turtle"),
        pytest.param("application/ld+json", "json-ld", id="jsonld"),
        pytest.param("application/n-triples", "nt", id="ntriples"),
        pytest.param("application/rdf+xml", "xml", id="rdfxml"),
    ],
)
def test_each_rdf_format_parses_back_with_the_records_triples(
    site: Site, accept: str, syntax: str
) -> None:
    response = site.client.get(path_of(site.decision), headers={"Accept": accept})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith(accept)
    assert "Accept" in response.headers["vary"]
    graph = rdflib.Graph().parse(data=response.content, format=syntax)
    expected = _store_graph(site, site.decision)
    assert len(expected) > 10
    assert set(expected) <= set(graph)
    owned = rdflib.URIRef(site.decision + "/file/1")
    assert (owned, rdflib.RDF.type, rdflib.URIRef(MEA + "File")) in graph


def test_rdf_includes_inverse_links(site: Site) -> None:
    meeting = _meeting(site, site.decision)
    response = site.client.get(path_of(meeting), headers={"Accept": "text/turtle"})
    graph = rdflib.Graph().parse(data=response.content, format="turtle")
    link = (rdflib.URIRef(site.decision), rdflib.URIRef(MEA + "meeting"), rdflib.URIRef(meeting))
    assert link in graph


def test_no_accept_and_wildcard_give_turtle_and_format_parameter_overrides(site: Site) -> None:
    path = path_of(site.decision)
    assert site.client.get(path).headers["content-type"].startswith("text/turtle")
    wildcard = site.client.get(path, headers={"Accept": "*/*"})
    assert wildcard.headers["content-type"].startswith("text/turtle")
    forced = site.client.get(path + "?format=jsonld", headers=HTML)
    assert forced.headers["content-type"].startswith("application/ld+json")


def test_browser_accept_gets_html(site: Site) -> None:
    accept = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
    response = site.client.get(path_of(site.decision), headers={"Accept": accept})
    assert response.headers["content-type"].startswith("text/html")


def test_unacceptable_type_is_406(site: Site) -> None:
    response = site.client.get(path_of(site.decision), headers={"Accept": "image/png"})
    assert response.status_code == 406


#: IRIs under each minting scheme that name nothing in the store
UNKNOWN_PATHS = [
    pytest.param("/decision/prov/no-such-record", id="minted"),
    pytest.param("/def/NoSuchTerm", id="term"),
    pytest.param("/resource?iri=" + quote("https://w3id.org/mea/aichi/target-99"), id="w3id"),
]


@pytest.mark.parametrize("path", UNKNOWN_PATHS)
def test_unknown_iris_are_404(site: Site, path: str) -> None:
    assert site.client.get(path, headers={"Accept": "text/turtle"}).status_code == 404
    page = site.client.get(path, headers=HTML)
    assert page.status_code == 404
    assert "Content-Security-Policy" in page.headers


def test_resource_without_a_valid_iri_is_400(site: Site) -> None:
    assert site.client.get("/resource?iri=not%20an%20iri").status_code == 400


def test_harvested_markup_is_only_ever_text(site: Site) -> None:
    response = site.client.get(path_of(site.hostile), headers=HTML)
    assert response.status_code == 200
    text = response.text
    assert SCRIPT_TITLE not in text and "<script" not in text.lower()
    assert IMG_TITLE not in text and "<img" not in text.lower()
    assert html.escape(SCRIPT_TITLE) in text
    assert html.escape(IMG_TITLE) in text
    assert "onerror=alert(1)&gt;" in text


def test_markup_in_labels_of_linked_records_is_escaped_too(site: Site) -> None:
    meeting = _meeting(site, site.hostile)
    text = site.client.get(path_of(meeting), headers=HTML).text
    assert html.escape(SCRIPT_TITLE) in text
    assert "<script" not in text.lower() and "<img" not in text.lower()


def test_pages_carry_a_strict_content_security_policy(site: Site) -> None:
    response = site.client.get(path_of(site.hostile), headers=HTML)
    policy = response.headers["content-security-policy"]
    assert "default-src 'none'" in policy
    assert "script-src" not in policy  # no script source at all: default-src 'none' applies
    assert "unsafe-inline" not in policy
    assert response.headers["x-content-type-options"] == "nosniff"


@pytest.mark.parametrize(
    ("accept_language", "query", "language"),
    [
        pytest.param("fr-CH, fr;q=0.9, en;q=0.8", "", "fr", id="french"),
        pytest.param("en", "", "en", id="english"),
        pytest.param("de", "", "en", id="fallback-en"),
        pytest.param("en", "?lang=fr", "fr", id="parameter"),
    ],
)
def test_title_in_the_requested_language(
    site: Site, accept_language: str, query: str, language: str
) -> None:
    headers = {**HTML, "Accept-Language": accept_language}
    text = site.client.get(path_of(site.decision) + query, headers=headers).text
    title = html.escape(_title(site, 1, language))
    assert f'<h1 lang="{language}">{title}</h1>' in text


def test_page_shows_properties_parts_provenance_and_formats(site: Site) -> None:
    # A meeting keeps the generic page; a decision has its own (sparql/pages, issue 16).
    generic = site.client.get(path_of(_meeting(site, site.decision)), headers=HTML).text
    assert 'href="/def/treaty"' in generic  # property links go to local ontology pages
    assert 'href="/resource?iri=https%3A%2F%2Fw3id.org%2Fmea%2Ftreaty%2F' in generic
    text = site.client.get(path_of(site.decision), headers=HTML).text
    assert 'href="/treaty/' in text  # the treaty's page
    assert f'href="{path_of(site.decision)}/file/1"' in text  # an owned node, locally
    assert 'id="provenance"' in text
    assert 'href="http://prov.test/informea.svc/Decisions(' in text  # prov:wasDerivedFrom
    assert 'href="/run/prov-' in text and "<time>" in text  # the harvest run and its time
    assert 'href="/source/prov"' in text
    assert '<link rel="alternate" type="text/turtle" href="?format=turtle">' in text


def test_meeting_page_lists_its_decisions(site: Site) -> None:
    meeting = _meeting(site, site.decision)
    text = site.client.get(path_of(meeting), headers=HTML).text
    assert 'id="inverse"' in text
    assert f'href="{path_of(site.decision)}"' in text


def test_treaty_and_target_pages_are_served_locally(site: Site) -> None:
    aichi = "/resource?iri=" + quote("https://w3id.org/mea/aichi/target-11", safe="")
    text = site.client.get(aichi, headers=HTML).text
    assert "Aichi Biodiversity Target 11" in text
    # GBF target 3 continues Aichi target 11 (skos:relatedMatch): an inverse link, served here
    assert 'href="/resource?iri=https%3A%2F%2Fw3id.org%2Fmea%2Fgbf%2Ftarget-3"' in text
    treaty = "/resource?iri=" + quote("https://w3id.org/mea/treaty/ramsar", safe="")
    treaty_page = site.client.get(treaty, headers=HTML).text
    assert f'href="{path_of(site.hostile)}"' in treaty_page  # the decisions of the treaty


def test_country_page_with_alternate_keeps_the_iri_parameter(site: Site) -> None:
    country = "/resource?iri=" + quote("https://w3id.org/mea/country/BOL", safe="")
    text = site.client.get(country, headers=HTML).text
    assert "Bolivia" in text
    assert 'href="?iri=https%3A%2F%2Fw3id.org%2Fmea%2Fcountry%2FBOL&amp;format=turtle"' in text


def test_ontology_term_pages(site: Site) -> None:
    text = site.client.get("/def/Decision", headers=HTML).text
    assert '<h1 lang="en">Decision</h1>' in text
    assert "https://w3id.org/mea/ontology#Decision" in text
    turtle = site.client.get("/def/Decision", headers={"Accept": "text/turtle"}).text
    graph = rdflib.Graph().parse(data=turtle, format="turtle")
    label = rdflib.Literal("Decision", lang="en")
    assert (rdflib.URIRef(MEA + "Decision"), rdflib.RDFS.label, label) in graph
    assert site.client.get("/def", headers=HTML).status_code == 200


def test_graph_and_run_iris_dereference(site: Site) -> None:
    record_id = site.decision.rsplit("/", 1)[1]
    graph_path = f"/graph/prov/decisions/{record_id}"
    turtle = site.client.get(graph_path, headers={"Accept": "text/turtle"})
    assert turtle.status_code == 200
    graph = rdflib.Graph().parse(data=turtle.content, format="turtle")
    assert (rdflib.URIRef(site.decision), rdflib.RDF.type, rdflib.URIRef(MEA + "Decision")) in graph
    page = site.client.get(graph_path, headers=HTML)
    assert "Named graph" in page.text
    run = next(
        iter(
            site.runtime.store.query(
                "SELECT ?r WHERE { ?r a <http://www.w3.org/ns/prov#Activity> }"
            )
        )
    )
    assert site.client.get(path_of(run["r"].value), headers=HTML).status_code == 200  # type: ignore[index]


def test_head_is_answered(site: Site) -> None:
    response = site.client.head(path_of(site.decision), headers={"Accept": "text/turtle"})
    assert response.status_code == 200


def test_linker_never_links_unsafe_schemes() -> None:
    linker = Linker(HUB)
    assert linker.href("javascript:alert(1)") is None
    assert linker.href("data:text/html,<script>") is None
    assert linker.href("https://example.org/x") == "https://example.org/x"
    assert linker.href(HUB + "decision/a/b") == "/decision/a/b"
    assert linker.href(MEA + "Decision") == "/def/Decision"


def test_language_preferences_follow_quality_then_order() -> None:
    assert preferred_languages("fr;q=0.5, es, en;q=0.7, *;q=0.1, de;q=0") == ["es", "en", "fr"]
    assert preferred_languages(None, "ru") == ["ru"]
    literals = [ox.Literal("x"), ox.Literal("en", language="en"), ox.Literal("zh", language="zh")]
    assert best_literal(literals, ["de"]) == ox.Literal("en", language="en")
    assert best_literal(literals, ["zh-CN"]) == ox.Literal("zh", language="zh")
    assert best_literal(literals[2:], []) == ox.Literal("zh", language="zh")


# -- caching: ETag / Last-Modified tied to the store's version -------------------------------------

TURTLE = {"Accept": "text/turtle"}
TARGET = "/resource?iri=" + quote("https://w3id.org/mea/aichi/target-11", safe="")


def _cached_pages(site: Site) -> list[str]:
    return [path_of(site.decision), "/def/Decision", "/def", TARGET]


@pytest.mark.parametrize("headers", [TURTLE, HTML], ids=["turtle", "html"])
def test_answers_carry_validators_and_revalidate_without_a_query(
    site: Site, monkeypatch: pytest.MonkeyPatch, headers: dict[str, str]
) -> None:
    for path in _cached_pages(site):
        first = site.client.get(path, headers=headers)
        assert first.status_code == 200, path
        etag, modified = first.headers["etag"], first.headers["last-modified"]
        assert etag.startswith('W/"')
        assert first.headers["cache-control"] == "no-cache"
        assert first.headers["vary"] == "Accept, Accept-Language"
        calls = record_queries(monkeypatch, site)
        by_tag = site.client.get(path, headers={**headers, "If-None-Match": etag})
        by_date = site.client.get(path, headers={**headers, "If-Modified-Since": modified})
        head = site.client.head(path, headers={**headers, "If-None-Match": f'"x", {etag}'})
        assert (by_tag.status_code, by_date.status_code, head.status_code) == (304, 304, 304)
        assert calls == [], path  # answered from the validator alone
        assert by_tag.content == b""
        assert by_tag.headers["etag"] == by_date.headers["etag"] == etag
        assert by_tag.headers["last-modified"] == modified
        assert by_tag.headers["vary"] == "Accept, Accept-Language"
        monkeypatch.undo()


def test_stale_validators_get_the_full_answer(site: Site) -> None:
    path = path_of(site.decision)
    etag = site.client.get(path, headers=TURTLE).headers["etag"]
    other = site.client.get(path, headers={**TURTLE, "If-None-Match": 'W/"other"'})
    assert other.status_code == 200 and other.headers["etag"] == etag
    old = site.client.get(
        path, headers={**TURTLE, "If-Modified-Since": "Mon, 01 Jan 2001 00:00:00 GMT"}
    )
    assert old.status_code == 200 and len(old.content) > 100
    # If-None-Match wins over If-Modified-Since (RFC 9110 13.2.2)
    both = {"If-None-Match": 'W/"other"', "If-Modified-Since": old.headers["last-modified"]}
    assert site.client.get(path, headers={**TURTLE, **both}).status_code == 200


def test_etags_differ_by_representation_and_language(site: Site) -> None:
    path = path_of(site.decision)
    variants = {
        "turtle": site.client.get(path, headers=TURTLE),
        "jsonld": site.client.get(path, headers={"Accept": "application/ld+json"}),
        "html-en": site.client.get(path, headers={**HTML, "Accept-Language": "en"}),
        "html-fr": site.client.get(path, headers={**HTML, "Accept-Language": "fr"}),
        "xhtml": site.client.get(path, headers={"Accept": "application/xhtml+xml"}),
    }
    tags = {name: response.headers["etag"] for name, response in variants.items()}
    assert len(set(tags.values())) == len(tags), tags
    # the same answer asked for in other words has the same tag
    for same in (
        site.client.get(path, headers={**HTML, "Accept-Language": "fr;q=0.9"}),
        site.client.get(path + "?lang=fr", headers=HTML),
    ):
        assert same.headers["etag"] == tags["html-fr"]
    assert site.client.get(path + "?lang=fr", headers=HTML).text == variants["html-fr"].text
    # a copy in one representation does not validate another
    for name, headers in [("turtle", HTML), ("html-en", {**HTML, "Accept-Language": "fr"})]:
        response = site.client.get(path, headers={**headers, "If-None-Match": tags[name]})
        assert response.status_code == 200, name
    target_page = site.client.get(TARGET, headers=HTML).headers["etag"]
    country = "/resource?iri=" + quote("https://w3id.org/mea/country/BOL", safe="")
    assert site.client.get(country, headers=HTML).headers["etag"] != target_page


@pytest.mark.parametrize("path", UNKNOWN_PATHS)
def test_unknown_iris_are_never_304(site: Site, path: str) -> None:
    future = "Fri, 01 Jan 2100 00:00:00 GMT"
    for headers in (TURTLE, HTML):
        for condition in ({"If-None-Match": "*"}, {"If-Modified-Since": future}):
            response = site.client.get(path, headers={**headers, **condition})
            assert response.status_code == 404, (headers, condition)
            assert "etag" not in response.headers
            assert "last-modified" not in response.headers


def test_any_tag_and_a_date_alone_revalidate_an_existing_page(site: Site) -> None:
    path = path_of(site.decision) + "/file/1"
    future = {"If-Modified-Since": "Fri, 01 Jan 2100 00:00:00 GMT"}
    # not served before here: the work is done, then the answer is still a 304
    assert site.client.get(path, headers={**TURTLE, "If-None-Match": "*"}).status_code == 304
    assert site.client.get(path, headers={**HTML, **future}).status_code == 304


def test_errors_carry_no_validators(site: Site) -> None:
    unacceptable = site.client.get(path_of(site.decision), headers={"Accept": "image/png"})
    assert unacceptable.status_code == 406 and "etag" not in unacceptable.headers
    bad = site.client.get("/resource?iri=not%20an%20iri", headers={"If-None-Match": "*"})
    assert bad.status_code == 400 and "etag" not in bad.headers


def test_a_harvest_changes_the_validators(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Every version first seen in the same second: the dates cannot tell them apart, the
    # tags must, and a date alone must not make the old copy current.
    monkeypatch.setattr(caching, "time", SimpleNamespace(time=lambda: 1_700_000_000.25))
    fresh = open_site(tmp_path)
    try:
        path = path_of(fresh.decision)
        before = {h["Accept"]: fresh.client.get(path, headers=h) for h in (TURTLE, HTML)}
        record_id = fresh.decision.rsplit("/", 1)[1]
        fresh.dataset.touch("Decisions", record_id, datetime.now(UTC))
        Hub(fresh.runtime).harvest(provider(fresh.dataset).handle)
        for accept, old in before.items():
            headers = {"Accept": accept}
            by_tag = fresh.client.get(
                path, headers={**headers, "If-None-Match": old.headers["etag"]}
            )
            assert by_tag.status_code == 200, accept
            assert by_tag.headers["etag"] != old.headers["etag"]
            assert by_tag.content != old.content  # the revised title
            since = {"If-Modified-Since": old.headers["last-modified"]}
            assert fresh.client.get(path, headers={**headers, **since}).status_code == 200
            again = {"If-None-Match": by_tag.headers["etag"]}
            assert fresh.client.get(path, headers={**headers, **again}).status_code == 304
    finally:
        fresh.close()
