"""Limits that really hold, over an ON-DISK store (so queries run in killable worker processes):
timeout, concurrency during a runaway query, query size, SERVICE and update refusals, the row
cap, caching validators, CORS, metrics and access logs."""

from __future__ import annotations

import json
import logging
import threading
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyoxigraph as ox
import pytest
import rdflib

from harvester.settings import ServerSettings
from harvester.store.embedded import MeaStore
from sparql import create_app

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
    from starlette.testclient import TestClient

GRAPH = "https://w3id.org/mea/graph/test/limits"
MEA = "https://w3id.org/mea/ontology#"
TRIPLES = 3000
CARTESIAN = "SELECT * WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l . ?m ?n ?o }"
# Counting never yields a row before the end, so no row cap stops it early either.
RUNAWAY_COUNT = (
    "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l . ?m ?n ?o }"
)
ASK = "ASK { ?s ?p ?o }"
COUNT = f"SELECT (COUNT(*) AS ?n) WHERE {{ ?s a <{MEA}Decision> }}"
ALL = "SELECT ?s ?p ?o WHERE { ?s ?p ?o }"
JSON_RESULTS = {"Accept": "application/sparql-results+json"}
STATUS = {
    "sources": {
        "cbd": {"status": "ok", "ended": "2025-01-02T03:04:05+00:00", "counts": {"added": 7}},
        "cms": None,
    },
    "quads": TRIPLES,
}


def _quads(count: int, graph: str = GRAPH) -> list[ox.Quad]:
    g = ox.NamedNode(graph)
    rdf_type = ox.NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type")
    title = ox.NamedNode("http://purl.org/dc/terms/title")
    quads = []
    for i in range(count // 2):
        node = ox.NamedNode(f"https://w3id.org/mea/decision/{i}")
        quads.append(ox.Quad(node, rdf_type, ox.NamedNode(MEA + "Decision"), g))
        quads.append(ox.Quad(node, title, ox.Literal(f"Decision {i}", language="en"), g))
    return quads


@pytest.fixture
def disk_store(tmp_path: Path) -> Iterator[MeaStore]:
    store = MeaStore(tmp_path / "store")
    store.replace_graph(GRAPH, _quads(TRIPLES))
    yield store
    store.close()


def _client(store: MeaStore, **settings: Any) -> TestClient:
    app = create_app(store, ServerSettings(**settings), status=lambda: STATUS)
    return TestClient(app)


@pytest.fixture
def client(disk_store: MeaStore) -> Iterator[TestClient]:
    # Rows beyond any cap: only the timeout can stop the cartesian query.
    with _client(disk_store, query_timeout=1.0, max_result_rows=10**9) as client:
        yield client


def _rows(response: Any) -> list[dict[str, Any]]:
    return list(json.loads(response.content)["results"]["bindings"])


# -- the timeout ----------------------------------------------------------------------------


def test_cartesian_query_is_stopped_at_timeout_and_ask_answers_right_after(
    client: TestClient,
) -> None:
    started = time.monotonic()
    response = client.get("/sparql", params={"query": CARTESIAN})
    elapsed = time.monotonic() - started
    assert response.status_code == 503
    assert "query_timeout" in response.text
    assert elapsed < 5
    started = time.monotonic()
    response = client.get("/sparql", params={"query": ASK}, headers=JSON_RESULTS)
    assert time.monotonic() - started < 2
    assert response.status_code == 200
    assert response.json()["boolean"] is True


def test_cheap_queries_are_answered_during_a_runaway_query(disk_store: MeaStore) -> None:
    with _client(disk_store, query_timeout=4.0, query_workers=2) as client:
        runaway: dict[str, Any] = {}
        thread = threading.Thread(
            target=lambda: runaway.update(r=client.get("/sparql", params={"query": RUNAWAY_COUNT}))
        )
        thread.start()
        time.sleep(0.3)  # let it reach a worker
        answered = []
        for _ in range(10):
            started = time.monotonic()
            response = client.get("/sparql", params={"query": COUNT}, headers=JSON_RESULTS)
            answered.append((response.status_code, time.monotonic() - started))
        assert thread.is_alive()  # the runaway query was still running meanwhile
        thread.join(timeout=20)
    assert all(status == 200 and seconds < 1 for status, seconds in answered)
    assert runaway["r"].status_code == 503


def test_new_generations_are_seen_by_the_workers(client: TestClient, disk_store: MeaStore) -> None:
    def count() -> int:
        response = client.get("/sparql", params={"query": COUNT}, headers=JSON_RESULTS)
        return int(_rows(response)[0]["n"]["value"])

    assert count() == TRIPLES // 2
    disk_store.replace_graph(GRAPH + "/more", _quads(10, GRAPH + "/more"))
    assert count() == TRIPLES // 2 + 5


# -- refusals -------------------------------------------------------------------------------


def test_two_megabyte_query_is_413(client: TestClient) -> None:
    query = "SELECT * WHERE { ?s ?p ?o } #" + "x" * 2_000_000
    direct = client.post(
        "/sparql", content=query, headers={"Content-Type": "application/sparql-query"}
    )
    form = client.post("/sparql", data={"query": query})
    assert (direct.status_code, form.status_code) == (413, 413)


def test_service_to_a_host_not_allowlisted_is_refused(disk_store: MeaStore) -> None:
    query = "SELECT * WHERE { SERVICE <http://169.254.169.254/latest/> { ?s ?p ?o } }"
    allowed = "SELECT * WHERE { SERVICE <http://127.0.0.1:9/sparql> { ?s ?p ?o } }"
    with _client(disk_store, service_allowlist=("http://example.org/sparql",)) as client:
        response = client.get("/sparql", params={"query": query})
        other = client.get("/sparql", params={"query": allowed})
    assert response.status_code == other.status_code == 403
    assert "169.254.169.254" in response.text


@pytest.mark.parametrize(
    "send",
    [
        lambda c: c.post("/sparql", data={"update": "DROP ALL"}),
        lambda c: c.post(
            "/sparql", content="DROP ALL", headers={"Content-Type": "application/sparql-update"}
        ),
        lambda c: c.get("/sparql", params={"query": "DROP ALL"}),
    ],
)
def test_updates_are_refused(client: TestClient, disk_store: MeaStore, send: Any) -> None:
    assert send(client).status_code in (400, 403)
    assert len(disk_store) == TRIPLES


# -- the row cap ----------------------------------------------------------------------------


def test_select_over_the_cap_is_cut_and_says_so(disk_store: MeaStore) -> None:
    with _client(disk_store, max_result_rows=10) as client:
        cut = client.get("/sparql", params={"query": ALL}, headers=JSON_RESULTS)
        whole = client.get("/sparql", params={"query": COUNT}, headers=JSON_RESULTS)
        csv = client.get("/sparql", params={"query": ALL}, headers={"Accept": "text/csv"})
    assert len(_rows(cut)) == 10
    assert cut.headers["MEA-Result-Truncated"] == "true"
    assert cut.headers["MEA-Result-Rows"] == "10"
    assert whole.headers["MEA-Result-Truncated"] == "false"
    assert whole.headers["MEA-Result-Rows"] == "1"
    assert len(csv.text.strip().splitlines()) == 11  # header and ten rows


def test_construct_over_the_cap_is_cut_on_triples(disk_store: MeaStore) -> None:
    query = "CONSTRUCT { ?s ?p ?o } WHERE { ?s ?p ?o }"
    with _client(disk_store, max_result_rows=25) as client:
        response = client.get("/sparql", params={"query": query}, headers={"Accept": "text/turtle"})
    assert len(rdflib.Graph().parse(data=response.text, format="turtle")) == 25
    assert response.headers["MEA-Result-Truncated"] == "true"
    assert response.headers["MEA-Result-Rows"] == "25"


# -- caching --------------------------------------------------------------------------------


def test_etag_and_304_follow_the_store_generation(client: TestClient, disk_store: MeaStore) -> None:
    params = {"query": COUNT}
    first = client.get("/sparql", params=params, headers=JSON_RESULTS)
    etag = first.headers["ETag"]
    again = client.get("/sparql", params=params, headers={**JSON_RESULTS, "If-None-Match": etag})
    assert (again.status_code, again.content, again.headers["ETag"]) == (304, b"", etag)
    as_xml = client.get("/sparql", params=params, headers={"If-None-Match": etag})
    assert as_xml.status_code == 200  # another negotiated type, another tag
    disk_store.replace_graph(GRAPH + "/new", _quads(4, GRAPH + "/new"))
    changed = client.get("/sparql", params=params, headers={**JSON_RESULTS, "If-None-Match": etag})
    assert changed.status_code == 200
    assert changed.headers["ETag"] != etag


def test_if_modified_since_gives_304(client: TestClient) -> None:
    first = client.get("/sparql", params={"query": ASK})
    since = {"If-Modified-Since": first.headers["Last-Modified"]}
    assert client.get("/sparql", params={"query": ASK}, headers=since).status_code == 304
    old = {"If-Modified-Since": "Mon, 01 Jan 2001 00:00:00 GMT"}
    assert client.get("/sparql", params={"query": ASK}, headers=old).status_code == 200


def test_post_answers_carry_no_validators(client: TestClient) -> None:
    response = client.post("/sparql", data={"query": ASK})
    assert response.status_code == 200
    assert "etag" not in response.headers


# -- CORS -----------------------------------------------------------------------------------


def test_cors_is_on_by_default(client: TestClient) -> None:
    response = client.get("/sparql", params={"query": ASK}, headers={"Origin": "https://a.org"})
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert "MEA-Result-Truncated" in response.headers["Access-Control-Expose-Headers"]


def test_cors_can_be_turned_off(disk_store: MeaStore) -> None:
    with _client(disk_store, cors_origins=()) as client:
        response = client.get("/sparql", params={"query": ASK}, headers={"Origin": "https://a.org"})
        preflight = client.options(
            "/sparql",
            headers={"Origin": "https://a.org", "Access-Control-Request-Method": "POST"},
        )
    assert "access-control-allow-origin" not in response.headers
    assert "access-control-allow-origin" not in preflight.headers


def test_cors_for_listed_origins_only(disk_store: MeaStore) -> None:
    with _client(disk_store, cors_origins=("https://portal.example",)) as client:
        listed = client.get(
            "/sparql", params={"query": ASK}, headers={"Origin": "https://portal.example"}
        )
        other = client.get("/sparql", params={"query": ASK}, headers={"Origin": "https://a.org"})
    assert listed.headers["Access-Control-Allow-Origin"] == "https://portal.example"
    assert "Origin" in listed.headers["Vary"]
    assert "access-control-allow-origin" not in other.headers


# -- operations -----------------------------------------------------------------------------


def test_metrics_report_requests_latency_timeouts_and_harvests(client: TestClient) -> None:
    client.get("/sparql", params={"query": ASK})
    client.get("/sparql", params={"query": CARTESIAN})
    text = client.get("/metrics").text
    assert 'meahub_http_requests_total{route="/sparql",method="GET",status="200"} 1' in text
    assert 'meahub_http_requests_total{route="/sparql",method="GET",status="503"} 1' in text
    assert 'meahub_http_request_duration_seconds_bucket{route="/sparql",le="+Inf"} 2' in text
    assert "meahub_query_timeouts_total 1" in text
    assert "meahub_query_worker_restarts_total 1" in text
    assert 'meahub_harvest_last_run{source="cbd",status="ok"} 1' in text
    assert 'meahub_harvest_last_run{source="cms",status="never"} 1' in text
    assert 'meahub_harvest_last_records{source="cbd",outcome="added"} 7' in text
    assert 'meahub_harvest_last_end_timestamp_seconds{source="cbd"} 1735787045.0' in text
    assert f"meahub_store_quads {TRIPLES}" in text


def test_access_log_is_one_json_object_per_request(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="meahub.access"):
        client.get("/sparql", params={"query": ASK}, headers={"User-Agent": "probe/1"})
    entries = [json.loads(r.getMessage()) for r in caplog.records if r.name == "meahub.access"]
    assert len(entries) == 1
    entry = entries[0]
    assert (entry["method"], entry["path"], entry["route"], entry["status"]) == (
        "GET",
        "/sparql",
        "/sparql",
        200,
    )
    assert entry["user_agent"] == "probe/1"
    assert entry["bytes"] > 0 and entry["ms"] >= 0
