"""The SPARQL endpoint: protocol, negotiation, refusals, and a real server under real clients."""

from __future__ import annotations

import csv
import gc
import io
import json
import logging
import warnings
import xml.etree.ElementTree as ET
from collections.abc import Iterator

import pyoxigraph as ox
import pytest
import rdflib
from rdflib.plugins.stores.sparqlstore import SPARQLStore
from SPARQLWrapper import JSON, SPARQLWrapper

from harvester.settings import ServerSettings
from harvester.store.embedded import MeaStore
from sparql import create_app
from sparql.negotiation import GRAPH_FORMATS, RESULT_FORMATS, negotiate

from .conftest import serve_app

# Starlette 1.x warns at import that it prefers `httpx2` over `httpx` for its TestClient; with
# `filterwarnings = error` that would fail collection. Silence exactly that warning, only here.
with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
    from starlette.testclient import TestClient

MEA = "https://w3id.org/mea/ontology#"
TITLE = "http://purl.org/dc/terms/title"
GRAPH_A = "https://w3id.org/mea/graph/test/a"
GRAPH_B = "https://w3id.org/mea/graph/test/b"
SRX = "{http://www.w3.org/2005/sparql-results#}"

TITLES_QUERY = (
    "PREFIX mea: <https://w3id.org/mea/ontology#> PREFIX dcterms: <http://purl.org/dc/terms/> "
    "SELECT ?title WHERE { ?d a mea:Decision ; dcterms:title ?title } ORDER BY ?title"
)
COUNT_QUERY = (
    "PREFIX mea: <https://w3id.org/mea/ontology#> "
    "SELECT (COUNT(*) AS ?n) WHERE { ?d a mea:Decision }"
)
CONSTRUCT_QUERY = "CONSTRUCT { ?s ?p ?o } WHERE { ?s ?p ?o }"
ALL_TITLES = ["Decision one", "Decision three", "Decision two"]


def _decision(graph: str, local: str, title: str) -> list[ox.Quad]:
    node, g = ox.NamedNode(f"https://w3id.org/mea/decision/{local}"), ox.NamedNode(graph)
    rdf_type = ox.NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type")
    return [
        ox.Quad(node, rdf_type, ox.NamedNode(MEA + "Decision"), g),
        ox.Quad(node, ox.NamedNode(TITLE), ox.Literal(title), g),
    ]


@pytest.fixture
def store() -> MeaStore:
    store = MeaStore()
    store.replace_graph(
        GRAPH_A, _decision(GRAPH_A, "1", "Decision one") + _decision(GRAPH_A, "2", "Decision two")
    )
    store.replace_graph(GRAPH_B, _decision(GRAPH_B, "3", "Decision three"))
    return store


@pytest.fixture
def client(store: MeaStore) -> Iterator[TestClient]:
    status = {"sources": {"cbd": {"outcome": "ok"}}}
    with TestClient(create_app(store, ServerSettings(), status=lambda: status)) as client:
        yield client


def _json_titles(body: bytes) -> list[str]:
    return [b["title"]["value"] for b in json.loads(body)["results"]["bindings"]]


def _count(client: TestClient, query: str = COUNT_QUERY, **params: object) -> int:
    response = client.get("/sparql", params={"query": query, **params})
    assert response.status_code == 200, response.text
    return int(response.json()["results"]["bindings"][0]["n"]["value"])


# -- the three ways to send a query ---------------------------------------------------------


@pytest.mark.parametrize(
    "send",
    [
        pytest.param(lambda c, q: c.get("/sparql", params={"query": q}), id="get"),
        pytest.param(lambda c, q: c.post("/sparql", data={"query": q}), id="post-form"),
        pytest.param(
            lambda c, q: c.post(
                "/sparql", content=q, headers={"Content-Type": "application/sparql-query"}
            ),
            id="post-direct",
        ),
    ],
)
def test_query_methods_return_rows(client: TestClient, send) -> None:
    response = send(client, TITLES_QUERY)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/sparql-results+json"
    assert _json_titles(response.content) == ALL_TITLES


def test_default_graph_is_union_of_graphs(client: TestClient) -> None:
    assert _count(client) == 3


def test_default_graph_uri_restricts_dataset(client: TestClient) -> None:
    assert _count(client, **{"default-graph-uri": GRAPH_B}) == 1
    assert _count(client, **{"default-graph-uri": [GRAPH_A, GRAPH_B]}) == 3


def test_named_graph_uri_limits_graph_clause(client: TestClient) -> None:
    query = "SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } }"
    response = client.get("/sparql", params={"query": query, "named-graph-uri": GRAPH_A})
    assert [b["g"]["value"] for b in response.json()["results"]["bindings"]] == [GRAPH_A]


def test_direct_post_takes_graph_parameters_from_url(client: TestClient) -> None:
    response = client.post(
        f"/sparql?default-graph-uri={GRAPH_A}",
        content=COUNT_QUERY,
        headers={"Content-Type": "application/sparql-query"},
    )
    assert response.json()["results"]["bindings"][0]["n"]["value"] == "2"


# -- result formats -------------------------------------------------------------------------


def _xml_titles(body: bytes) -> list[str]:
    root = ET.fromstring(body)
    return [lit.text or "" for lit in root.iter(f"{SRX}literal")]


def _csv_titles(body: bytes, delimiter: str) -> list[str]:
    rows = list(csv.reader(io.StringIO(body.decode()), delimiter=delimiter))
    return [row[0].strip('"') for row in rows[1:]]


@pytest.mark.parametrize(
    ("accept", "content_type", "parse"),
    [
        pytest.param(
            "application/sparql-results+json",
            "application/sparql-results+json",
            _json_titles,
            id="json",
        ),
        pytest.param("application/json", "application/json", _json_titles, id="plain-json"),
        pytest.param(
            "application/sparql-results+xml",
            "application/sparql-results+xml",
            _xml_titles,
            id="xml",
        ),
        pytest.param(
            "text/csv", "text/csv; charset=utf-8", lambda b: _csv_titles(b, ","), id="csv"
        ),
        pytest.param(
            "text/tab-separated-values",
            "text/tab-separated-values; charset=utf-8",
            lambda b: _csv_titles(b, "\t"),
            id="tsv",
        ),
    ],
)
def test_select_result_formats(client: TestClient, accept, content_type, parse) -> None:
    response = client.get("/sparql", params={"query": TITLES_QUERY}, headers={"Accept": accept})
    assert response.headers["content-type"] == content_type
    assert parse(response.content) == ALL_TITLES


@pytest.mark.parametrize(
    ("accept", "rdflib_format"),
    [
        pytest.param("text/turtle", "turtle", id="turtle"),
        pytest.param("application/n-triples", "nt", id="ntriples"),
        pytest.param("application/ld+json", "json-ld", id="jsonld"),
        pytest.param("application/json", "json-ld", id="json-means-jsonld"),
        pytest.param("application/rdf+xml", "xml", id="rdfxml"),
    ],
)
def test_construct_formats_parse_back(client: TestClient, accept, rdflib_format) -> None:
    response = client.get("/sparql", params={"query": CONSTRUCT_QUERY}, headers={"Accept": accept})
    assert response.status_code == 200
    assert response.headers["content-type"].split(";")[0] == accept
    graph = rdflib.Graph().parse(data=response.content, format=rdflib_format)
    assert len(graph) == 6


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        pytest.param(
            "text/csv;q=0.5, application/sparql-results+xml;q=0.9",
            "application/sparql-results+xml",
            id="q-values",
        ),
        pytest.param("*/*", "application/sparql-results+json", id="any"),
        pytest.param("application/*;q=0.2, text/*;q=0.8", "text/csv", id="type-wildcards"),
        pytest.param(
            "text/tab-separated-values;charset=utf-8, */*;q=0.1",
            "text/tab-separated-values",
            id="params",
        ),
        pytest.param(
            "application/sparql-results+json;q=0, */*",
            "application/sparql-results+xml",
            id="q-zero-excludes",
        ),
        pytest.param(
            "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
            "application/xml",
            id="browser",
        ),
    ],
)
def test_accept_negotiation_for_select(client: TestClient, accept, expected) -> None:
    response = client.get("/sparql", params={"query": COUNT_QUERY}, headers={"Accept": accept})
    assert response.headers["content-type"].split(";")[0] == expected


def test_any_type_gives_turtle_for_construct(client: TestClient) -> None:
    response = client.get("/sparql", params={"query": CONSTRUCT_QUERY}, headers={"Accept": "*/*"})
    assert response.headers["content-type"] == "text/turtle; charset=utf-8"


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        pytest.param(
            {"format": "json", "output": "json"}, "application/sparql-results+json", id="json"
        ),
        pytest.param(
            {"format": ["tsv", "text/tab-separated-values"]}, "text/tab-separated-values", id="tsv"
        ),
        pytest.param({"results": "csv"}, "text/csv", id="results-param"),
        pytest.param(
            {"format": "no-such-format"}, "application/sparql-results+xml", id="unknown-ignored"
        ),
    ],
)
def test_format_parameter_overrides_accept(client: TestClient, params, expected) -> None:
    headers = {"Accept": "application/sparql-results+xml"}
    response = client.get("/sparql", params={"query": COUNT_QUERY, **params}, headers=headers)
    assert response.headers["content-type"].split(";")[0] == expected


def test_unsupported_accept_is_406(client: TestClient) -> None:
    response = client.get("/sparql", params={"query": COUNT_QUERY}, headers={"Accept": "image/png"})
    assert response.status_code == 406
    assert "application/sparql-results+json" in response.text


def test_graph_format_for_select_is_406(client: TestClient) -> None:
    # Found only once the query ran; the unsendable result must be dropped on its own thread,
    # which gc.collect() would otherwise reveal (as an unraisable RuntimeError).
    response = client.get(
        "/sparql", params={"query": COUNT_QUERY}, headers={"Accept": "text/turtle"}
    )
    assert response.status_code == 406
    gc.collect()


def test_ask_returns_boolean_json(client: TestClient) -> None:
    response = client.get(
        "/sparql", params={"query": f"ASK {{ GRAPH <{GRAPH_B}> {{ ?s ?p ?o }} }}"}
    )
    assert response.json() == {"head": {}, "boolean": True}


# -- refusals -------------------------------------------------------------------------------


def test_syntax_error_is_400_with_parser_message(client: TestClient) -> None:
    response = client.get("/sparql", params={"query": "SELECT * WHERE {"})
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("text/plain")
    assert "error at 1:" in response.text


@pytest.mark.parametrize(
    ("send", "status"),
    [
        pytest.param(
            lambda c: c.post("/sparql", data={"update": "CLEAR ALL"}), 403, id="update-form"
        ),
        pytest.param(
            lambda c: c.get("/sparql", params={"update": "CLEAR ALL"}), 403, id="update-get"
        ),
        pytest.param(
            lambda c: c.post(
                "/sparql",
                content="CLEAR ALL",
                headers={"Content-Type": "application/sparql-update"},
            ),
            403,
            id="update-body",
        ),
        pytest.param(
            lambda c: c.post(
                "/sparql", data={"query": "PREFIX a: <http://a/> INSERT DATA { a:x a:y a:z }"}
            ),
            400,
            id="insert-as-query",
        ),
        pytest.param(
            lambda c: c.post("/sparql", data={"query": "DELETE WHERE { ?s ?p ?o }"}),
            400,
            id="delete-as-query",
        ),
    ],
)
def test_updates_are_refused(client: TestClient, store: MeaStore, send, status) -> None:
    response = send(client)
    assert response.status_code == status
    assert "read-only" in response.text
    assert len(store) == 6


@pytest.mark.parametrize(
    ("query", "status"),
    [
        pytest.param(
            "SELECT * { SERVICE <http://127.0.0.1:1/sparql> { ?s ?p ?o } }", 403, id="iri"
        ),
        pytest.param(
            "PREFIX e: <http://127.0.0.1:1/> SELECT * { SERVICE e:q { ?s ?p ?o } }", 403, id="pname"
        ),
        pytest.param("SELECT * { SERVICE SILENT ?x { ?s ?p ?o } }", 403, id="variable"),
        pytest.param('SELECT ("SERVICE <http://127.0.0.1:1/>" AS ?s) {}', 200, id="in-string"),
        pytest.param(
            "SELECT ?service { ?service ?p ?o } # SERVICE <http://127.0.0.1:1/>",
            200,
            id="in-comment",
        ),
    ],
)
def test_service_calls_outside_allowlist_are_403(client: TestClient, query, status) -> None:
    response = client.get("/sparql", params={"query": query})
    assert response.status_code == status, response.text


def test_oversized_query_is_413(store: MeaStore) -> None:
    client = TestClient(create_app(store, ServerSettings(max_query_bytes=100)))
    query = COUNT_QUERY + " " * 100
    assert client.get("/sparql", params={"query": query}).status_code == 413
    assert client.post("/sparql", data={"query": query}).status_code == 413
    headers = {"Content-Type": "application/sparql-query"}
    assert client.post("/sparql", content=query, headers=headers).status_code == 413


def test_post_without_query_is_400(client: TestClient) -> None:
    assert client.post("/sparql", data={"format": "json"}).status_code == 400


def test_post_other_content_type_is_415(client: TestClient) -> None:
    response = client.post("/sparql", content=b"{}", headers={"Content-Type": "application/json"})
    assert response.status_code == 415


# -- service description, CORS, other routes -------------------------------------------------


def test_service_description_is_turtle_with_endpoint(client: TestClient) -> None:
    response = client.get("/sparql")
    assert response.headers["content-type"] == "text/turtle; charset=utf-8"
    graph = rdflib.Graph().parse(data=response.content, format="turtle")
    sd = rdflib.Namespace("http://www.w3.org/ns/sparql-service-description#")
    assert (None, sd.endpoint, rdflib.URIRef("http://localhost:8000/sparql")) in graph
    assert (None, sd.feature, sd.UnionDefaultGraph) in graph
    assert len(list(graph.objects(None, sd.resultFormat))) == 10


def test_service_description_negotiates_jsonld(client: TestClient) -> None:
    response = client.get("/sparql", headers={"Accept": "application/ld+json"})
    graph = rdflib.Graph().parse(data=response.content, format="json-ld")
    void_triples = rdflib.URIRef("http://rdfs.org/ns/void#triples")
    assert [int(o) for o in graph.objects(None, void_triples)] == [6]


def test_cors_and_vary_headers(client: TestClient) -> None:
    for response in (client.get("/sparql", params={"query": COUNT_QUERY}), client.get("/sparql")):
        assert response.headers["access-control-allow-origin"] == "*"
        assert response.headers["vary"] == "Accept"


def test_cors_preflight(client: TestClient) -> None:
    headers = {"Origin": "https://example.org", "Access-Control-Request-Method": "POST"}
    response = client.options("/sparql", headers=headers)
    assert response.status_code == 204
    assert response.headers["access-control-allow-origin"] == "*"
    assert "POST" in response.headers["access-control-allow-methods"]


def test_health_and_status(client: TestClient, store: MeaStore) -> None:
    assert client.get("/health").json() == {"status": "ok"}
    response = client.get("/status")
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {"sources": {"cbd": {"outcome": "ok"}}}
    assert TestClient(create_app(store, ServerSettings())).get("/status").json() == {}


def test_each_query_is_logged(client: TestClient, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="sparql.endpoint"):
        client.get("/sparql", params={"query": "SELECT * WHERE {"})
    assert f"sparql query: {len('SELECT * WHERE {')} chars" in caplog.text
    assert "status 400" in caplog.text


def test_home_page_has_form_and_examples(client: TestClient) -> None:
    response = client.get("/")
    assert response.headers["content-type"].startswith("text/html")
    assert '<form method="post" action="/sparql">' in response.text
    assert "SELECT (COUNT(*) AS ?n) WHERE { ?d a mea:Decision }" in response.text
    assert "<https://w3id.org" not in response.text  # escaped


@pytest.mark.parametrize(
    ("formats", "accept", "expected"),
    [
        pytest.param(RESULT_FORMATS, None, "application/sparql-results+json", id="none"),
        pytest.param(
            RESULT_FORMATS,
            "text/csv, application/sparql-results+xml",
            "text/csv",
            id="client-order",
        ),
        pytest.param(GRAPH_FORMATS, "application/*", "application/n-triples", id="application-any"),
        pytest.param(
            GRAPH_FORMATS,
            "text/turtle;q=abc, application/trig",
            "application/trig",
            id="bad-q-skipped",
        ),
    ],
)
def test_negotiate(formats, accept, expected) -> None:
    choice = negotiate(formats, accept)
    assert choice is not None and choice.media_type == expected


# -- a real server, real clients ------------------------------------------------------------


@pytest.fixture
def live_url(store: MeaStore) -> Iterator[str]:
    with serve_app(create_app(store, ServerSettings())) as base:
        yield base + "sparql"


def test_real_clients_over_http(live_url: str, client: TestClient) -> None:
    in_process = _json_titles(client.get("/sparql", params={"query": TITLES_QUERY}).content)
    wrapper = SPARQLWrapper(live_url)
    wrapper.setQuery(TITLES_QUERY)
    document = wrapper.queryAndConvert()  # defaults: GET, SPARQL XML
    assert [n.firstChild.data for n in document.getElementsByTagName("literal")] == in_process
    wrapper.setReturnFormat(JSON)
    assert [
        b["title"]["value"] for b in wrapper.queryAndConvert()["results"]["bindings"]
    ] == in_process
    rows = SPARQLStore(query_endpoint=live_url).query(TITLES_QUERY)
    assert [str(row[0]) for row in rows] == in_process
