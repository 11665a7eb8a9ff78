"""The W3C SPARQL 1.1 Protocol test suite, written from its manifest's descriptions.

Source: ``sparql/sparql11/protocol/manifest.ttl`` of https://github.com/w3c/rdf-tests; each test
here is named after its manifest entry (the pytest id). The suite's dataset is four graphs named
``http://kasei.us/2009/09/sparql/data/data0.rdf`` .. ``data3.rdf``; here each holds one triple
``<graph IRI> a foaf:Document``, which is what the manifest's ASK queries need.

Every *query* test is implemented with the outcome the manifest expects. The *update* tests
expect a service that accepts SPARQL Update; this endpoint never does (issue 3: updates are
never accepted on the public endpoint). The Protocol lets a service refuse an update (section
2.2.5: 500 "if they refuse to execute an update request", or another 4XX/5XX "as per HTTP"); we
answer ``403 Forbidden``: the request is understood and refused, and the store is unchanged. So
the positive update tests assert that refusal and that the follow-up query sees no change, and
the ``bad_update_*`` tests assert the 4XX the manifest expects.

One manifest quirk: ``query_multiple_dataset`` percent-encodes the ``&`` between its two
``named-graph-uri`` parameters (``...data1.rdf%26named-graph-uri%3D...``), which makes them one
parameter whose value is not an IRI of the dataset; read literally, the expected ``true`` cannot
hold on any server. The test sends the two parameters it evidently means, and also checks the
literal request: the protocol's (one, unknown) named graph replaces the query's ``FROM``.
"""

from __future__ import annotations

import json
import warnings
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import pyoxigraph as ox
import pytest

from harvester.settings import ServerSettings
from harvester.store.embedded import MeaStore
from sparql import create_app

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
    from starlette.testclient import TestClient

DATA = "http://kasei.us/2009/09/sparql/data/data{}.rdf"
FOAF_DOCUMENT = "http://xmlns.com/foaf/0.1/Document"
RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
FORM = "application/x-www-form-urlencoded"
QUERY = "application/sparql-query"
UPDATE = "application/sparql-update"
BOOLEAN_TYPES = ("application/sparql-results+xml", "application/sparql-results+json")
TABULAR_TYPES = (*BOOLEAN_TYPES, "text/csv", "text/tab-separated-values")
RDF_TYPES = ("application/rdf+xml", "text/turtle", "application/n-triples", "application/ld+json")


def _data(n: int) -> str:
    return DATA.format(n)


def _q(value: str) -> str:
    return quote(value, safe="")


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient]:
    store = MeaStore()
    for n in range(4):
        iri = ox.NamedNode(_data(n))
        quad = ox.Quad(iri, ox.NamedNode(RDF_TYPE), ox.NamedNode(FOAF_DOCUMENT), iri)
        store.replace_graph(_data(n), [quad])
    with TestClient(create_app(store, ServerSettings())) as test_client:
        yield test_client
    store.close()


def _boolean(response: Any) -> bool:
    """The boolean of an ASK answer in any of the boolean result formats."""
    assert 200 <= response.status_code < 400, response.text
    media_type = response.headers["content-type"].split(";")[0]
    assert media_type in BOOLEAN_TYPES
    if media_type.endswith("json"):
        value = json.loads(response.content)["boolean"]
    else:
        text = ET.fromstring(response.content).findtext(
            "{http://www.w3.org/2005/sparql-results#}boolean"
        )
        value = {"true": True, "false": False}[str(text)]
    assert isinstance(value, bool)
    return value


ASK_12 = f"ASK {{ <{_data(1)}> a ?type . <{_data(2)}> a ?type . }}"
ASK_NAMED_12 = (
    f"ASK {{ GRAPH ?g1 {{ <{_data(1)}> a ?type }} GRAPH ?g2 {{ <{_data(2)}> a ?type }} }}"
)
ASK_FULL = (
    f"ASK {{\n  <{_data(3)}> a ?type\n  GRAPH ?g1 {{ <{_data(1)}> a ?type }}\n"
    f"  GRAPH ?g2 {{ <{_data(2)}> a ?type }}\n}}"
)
ASK_FROM_3 = (
    f"ASK FROM <{_data(3)}> {{ GRAPH ?g1 {{ <{_data(1)}> a ?type }} "
    f"GRAPH ?g2 {{ <{_data(2)}> a ?type }} }}"
)


# -- positive query tests -------------------------------------------------------------------


def test_query_post_form(client: TestClient) -> None:
    response = client.post(
        f"/sparql?default-graph-uri={_q(_data(0))}",
        content="query=ASK%20%7B%7D",
        headers={"Content-Type": FORM},
    )
    assert _boolean(response) is True


@pytest.mark.parametrize("method", ["get", "post"])
def test_query_dataset_default_graphs(client: TestClient, method: str) -> None:
    """``query_dataset_default_graphs_get`` and ``query_dataset_default_graphs_post``."""
    dataset = f"default-graph-uri={_q(_data(1))}&default-graph-uri={_q(_data(2))}"
    if method == "get":
        response = client.get(f"/sparql?query={_q(ASK_12)}&{dataset}")
    else:
        response = client.post(
            f"/sparql?{dataset}", content=ASK_12, headers={"Content-Type": QUERY}
        )
    assert _boolean(response) is True


@pytest.mark.parametrize("method", ["get", "post"])
def test_query_dataset_named_graphs(client: TestClient, method: str) -> None:
    """``query_dataset_named_graphs_post`` and ``query_dataset_named_graphs_get``."""
    dataset = f"named-graph-uri={_q(_data(1))}&named-graph-uri={_q(_data(2))}"
    if method == "get":
        response = client.get(f"/sparql?query={_q(ASK_NAMED_12)}&{dataset}")
    else:
        response = client.post(
            f"/sparql?{dataset}", content=ASK_NAMED_12, headers={"Content-Type": QUERY}
        )
    assert _boolean(response) is True


def test_query_dataset_full(client: TestClient) -> None:
    dataset = (
        f"default-graph-uri={_q(_data(3))}&named-graph-uri={_q(_data(1))}"
        f"&named-graph-uri={_q(_data(2))}"
    )
    response = client.post(f"/sparql?{dataset}", content=ASK_FULL, headers={"Content-Type": QUERY})
    assert _boolean(response) is True


def test_query_multiple_dataset(client: TestClient) -> None:
    """The protocol's dataset (named graphs data1, data2) wins over the query's ``FROM``."""
    dataset = f"named-graph-uri={_q(_data(1))}&named-graph-uri={_q(_data(2))}"
    response = client.post(
        f"/sparql?{dataset}", content=ASK_FROM_3, headers={"Content-Type": QUERY}
    )
    assert _boolean(response) is True
    # Without a protocol dataset the query's FROM holds: data3 is the default graph and there
    # are no named graphs (not the union of all graphs this endpoint uses otherwise).
    alone = client.post("/sparql", content=ASK_FROM_3, headers={"Content-Type": QUERY})
    assert _boolean(alone) is False
    # The manifest's literal request: one named-graph-uri that names no graph here.
    literal = f"named-graph-uri={_q(_data(1))}%26named-graph-uri%3D{_q(_data(2))}"
    quirk = client.post(f"/sparql?{literal}", content=ASK_FROM_3, headers={"Content-Type": QUERY})
    assert _boolean(quirk) is False


def test_query_get(client: TestClient) -> None:
    response = client.get(f"/sparql?query=ASK%20%7B%7D&default-graph-uri={_q(_data(0))}")
    assert _boolean(response) is True


def _post_direct(client: TestClient, query: str) -> Any:
    return client.post(
        f"/sparql?default-graph-uri={_q(_data(0))}",
        content=query,
        headers={"Content-Type": QUERY},
    )


def test_query_content_type_select(client: TestClient) -> None:
    response = _post_direct(client, "SELECT (1 AS ?value) {}")
    assert response.status_code == 200
    assert response.headers["content-type"].split(";")[0] in TABULAR_TYPES
    assert response.headers["MEA-Result-Rows"] == "1"


def test_query_content_type_ask(client: TestClient) -> None:
    assert _boolean(_post_direct(client, "ASK {}")) is True


@pytest.mark.parametrize(
    ("name", "query"),
    [
        ("query_content_type_describe", "DESCRIBE <http://example.org/>"),
        ("query_content_type_construct", "CONSTRUCT { <s> <p> 1 } WHERE {}"),
    ],
    ids=["query_content_type_describe", "query_content_type_construct"],
)
def test_query_content_type_rdf(client: TestClient, name: str, query: str) -> None:
    response = _post_direct(client, query)
    assert response.status_code == 200, (name, response.text)
    media_type = response.headers["content-type"].split(";")[0]
    assert media_type in RDF_TYPES
    fmt = ox.RdfFormat.from_media_type(media_type)
    assert fmt is not None
    list(ox.parse(response.content, format=fmt, base_iri="http://www.example/sparql/"))


def test_query_post_direct(client: TestClient) -> None:
    response = client.post("/sparql", content="ASK {}", headers={"Content-Type": QUERY})
    assert _boolean(response) is True


# -- negative query tests: 4XX --------------------------------------------------------------

BAD_QUERIES: dict[str, dict[str, Any]] = {
    "bad_query_method": {
        "method": "PUT",
        "url": f"/sparql?query=ASK%20%7B%7D&default-graph-uri={_q(_data(0))}",
        "headers": {"Content-Type": FORM},
    },
    "bad_multiple_queries": {
        "method": "GET",
        "url": "/sparql?query=ASK%20%7B%7D&query=SELECT%20%2A%20%7B%7D",
    },
    "bad_query_wrong_media_type": {
        "method": "POST",
        "content": b"ASK {}",
        "headers": {"Content-Type": "text/plain"},
    },
    "bad_query_missing_form_type": {"method": "POST", "content": b"query=ASK%20%7B%7D"},
    "bad_query_missing_direct_type": {"method": "POST", "content": b"ASK {}"},
    "bad_query_non_utf8": {
        "method": "POST",
        "content": "ASK {}".encode("utf-16"),  # with its byte order mark
        "headers": {"Content-Type": f"{QUERY}; charset=UTF-16"},
    },
    "bad_query_syntax": {"method": "GET", "url": "/sparql?query=ASK%20%7B"},
}


def _send(client: TestClient, request: dict[str, Any]) -> Any:
    return client.request(
        request["method"],
        request.get("url", "/sparql"),
        content=request.get("content"),
        headers=request.get("headers", {}),
    )


@pytest.mark.parametrize("name", list(BAD_QUERIES), ids=list(BAD_QUERIES))
def test_bad_query_requests_are_4xx(client: TestClient, name: str) -> None:
    response = _send(client, BAD_QUERIES[name])
    assert 400 <= response.status_code < 500, (name, response.status_code, response.text)


def test_bad_query_statuses_are_the_specific_ones(client: TestClient) -> None:
    """Beyond the manifest's 4XX: the status HTTP and the Protocol name for each case."""
    expected = {
        "bad_query_method": 405,
        "bad_multiple_queries": 400,
        "bad_query_wrong_media_type": 415,
        "bad_query_missing_form_type": 415,
        "bad_query_missing_direct_type": 415,
        "bad_query_non_utf8": 415,
        "bad_query_syntax": 400,  # Protocol 2.1.7
    }
    got = {name: _send(client, request).status_code for name, request in BAD_QUERIES.items()}
    assert got == expected
    allow = _send(client, BAD_QUERIES["bad_query_method"]).headers["allow"]
    assert {"GET", "POST"} <= {m.strip() for m in allow.split(",")}


def test_a_utf16_body_without_a_charset_is_400(client: TestClient) -> None:
    """The other half of ``bad_query_non_utf8``: undeclared UTF-16 is not UTF-8."""
    response = client.post(
        "/sparql", content="ASK {}".encode("utf-16"), headers={"Content-Type": QUERY}
    )
    assert response.status_code == 400


# -- update tests: refused, store unchanged -------------------------------------------------

CLEAR_THEN_INSERT = (
    "PREFIX dc: <http://purl.org/dc/terms/>\nPREFIX foaf: <http://xmlns.com/foaf/0.1/>\n"
    f"CLEAR ALL ;\nINSERT DATA {{ GRAPH <{_data(1)}> {{ <{_data(1)}> a foaf:Document }} }} ;\n"
    "INSERT { GRAPH <http://example.org/protocol-update-dataset-test/> "
    "{ ?s a dc:BibliographicResource } } WHERE { ?s a foaf:Document }"
)

UPDATES: dict[str, dict[str, Any]] = {
    "update_dataset_default_graph": {
        "url": f"/sparql?using-graph-uri={_q(_data(1))}",
        "content": CLEAR_THEN_INSERT.encode(),
        "headers": {"Content-Type": UPDATE},
    },
    "update_dataset_default_graphs": {
        "url": f"/sparql?using-graph-uri={_q(_data(1))}&using-graph-uri={_q(_data(2))}",
        "content": CLEAR_THEN_INSERT.replace("CLEAR ALL", "DROP ALL").encode(),
        "headers": {"Content-Type": UPDATE},
    },
    "update_dataset_named_graphs": {
        "url": f"/sparql?using-named-graph-uri={_q(_data(1))}&using-named-graph-uri={_q(_data(2))}",
        "content": CLEAR_THEN_INSERT.replace("CLEAR ALL", "DROP ALL").encode(),
        "headers": {"Content-Type": UPDATE},
    },
    "update_dataset_full": {
        "url": f"/sparql?using-graph-uri={_q(_data(1))}&using-named-graph-uri={_q(_data(2))}",
        "content": CLEAR_THEN_INSERT.replace("CLEAR ALL", "DROP ALL").encode(),
        "headers": {"Content-Type": UPDATE},
    },
    "update_post_form": {"content": b"update=CLEAR+ALL", "headers": {"Content-Type": FORM}},
    "update_post_direct": {"content": b"CLEAR ALL", "headers": {"Content-Type": UPDATE}},
    "update_base_uri": {
        "content": (
            b"CLEAR GRAPH <http://example.org/protocol-base-test/> ;\n"
            b"INSERT DATA { GRAPH <http://example.org/protocol-base-test/> "
            b"{ <http://example.org/s> <http://example.org/p> <test> } }"
        ),
        "headers": {"Content-Type": UPDATE},
    },
}


@pytest.mark.parametrize("name", list(UPDATES), ids=list(UPDATES))
def test_updates_are_refused_and_change_nothing(client: TestClient, name: str) -> None:
    request = UPDATES[name]
    response = client.post(
        request.get("url", "/sparql"), content=request["content"], headers=request["headers"]
    )
    assert response.status_code == 403, response.text
    assert "read-only" in response.text
    still = f"ASK {{ GRAPH <{_data(1)}> {{ <{_data(1)}> a <{FOAF_DOCUMENT}> }} }}"
    assert _boolean(client.post("/sparql", content=still, headers={"Content-Type": QUERY}))
    untouched = "ASK { GRAPH ?g { ?s a <http://purl.org/dc/terms/BibliographicResource> } }"
    assert not _boolean(client.post("/sparql", content=untouched, headers={"Content-Type": QUERY}))


BAD_UPDATES: dict[str, dict[str, Any]] = {
    "bad_update_get": {"method": "GET", "url": "/sparql?update=CLEAR%20ALL"},
    "bad_multiple_updates": {
        "method": "POST",
        "content": b"update=CLEAR%20NAMED&update=CLEAR%20DEFAULT",
        "headers": {"Content-Type": FORM},
    },
    "bad_update_wrong_media_type": {
        "method": "POST",
        "content": b"CLEAR NAMED",
        "headers": {"Content-Type": "text/plain"},
    },
    "bad_update_missing_form_type": {"method": "POST", "content": b"update=CLEAR%20NAMED"},
    "bad_update_non_utf8": {
        "method": "POST",
        "content": "CLEAR NAMED".encode("utf-16"),
        "headers": {"Content-Type": f"{UPDATE}; charset=UTF-16"},
    },
    "bad_update_syntax": {
        "method": "POST",
        "content": b"update=CLEAR%20XYZ",
        "headers": {"Content-Type": FORM},
    },
    "bad_update_dataset_conflict": {
        "method": "POST",
        "url": "/sparql?using-named-graph-uri=http%3A%2F%2Fexample%2Fpeople",
        "content": (
            b"PREFIX foaf:  <http://xmlns.com/foaf/0.1/>\nWITH <http://example/addresses>\n"
            b"DELETE { ?person foaf:givenName 'Bill' }\n"
            b"INSERT { ?person foaf:givenName 'William' }\n"
            b"WHERE {\n    ?person foaf:givenName 'Bill'\n}"
        ),
        "headers": {"Content-Type": UPDATE},
    },
}


@pytest.mark.parametrize("name", list(BAD_UPDATES), ids=list(BAD_UPDATES))
def test_bad_update_requests_are_4xx(client: TestClient, name: str) -> None:
    response = _send(client, BAD_UPDATES[name])
    assert 400 <= response.status_code < 500, (name, response.status_code, response.text)
