"""Queries proven cheap are answered in the endpoint process (``[server].inline_query_ms``):
only a job a worker answered within the limit on the live generation, never a new one, never
on another generation, and never a query the timeout had to stop."""

from __future__ import annotations

import re
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyoxigraph as ox
import pytest

from harvester.exceptions import ConfigError
from harvester.settings import ServerSettings, settings_from_mapping
from harvester.store.embedded import MeaStore
from sparql import create_app

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
    from starlette.testclient import TestClient

GRAPH = "https://w3id.org/mea/graph/test/inline"
MEA = "https://w3id.org/mea/ontology#"
COUNT = f"SELECT (COUNT(*) AS ?n) WHERE {{ ?s a <{MEA}Decision> }}"
RUNAWAY = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l . ?m ?n ?o }"
JSON_RESULTS = {"Accept": "application/sparql-results+json"}


def _decisions(graph: str, first: int, count: int) -> list[ox.Quad]:
    rdf_type = ox.NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type")
    decision = ox.NamedNode(MEA + "Decision")
    g = ox.NamedNode(graph)
    return [
        ox.Quad(ox.NamedNode(f"https://w3id.org/mea/decision/{i}"), rdf_type, decision, g)
        for i in range(first, first + count)
    ]


@pytest.fixture
def disk_store(tmp_path: Path) -> Iterator[MeaStore]:
    store = MeaStore(tmp_path / "store")
    store.replace_graph(GRAPH, _decisions(GRAPH, 0, 1500))
    yield store
    store.close()


def _client(store: MeaStore, **settings: Any) -> TestClient:
    return TestClient(create_app(store, ServerSettings(**settings)))


def _count(client: TestClient, query: str = COUNT) -> int:
    response = client.get("/sparql", params={"query": query}, headers=JSON_RESULTS)
    assert response.status_code == 200, response.text
    return int(response.json()["results"]["bindings"][0]["n"]["value"])


def _inlined(client: TestClient) -> int:
    text = client.get("/metrics").text
    match = re.search(r"^meahub_queries_inlined_total (\d+)$", text, re.MULTILINE)
    assert match is not None
    return int(match.group(1))


def test_a_query_a_worker_answered_fast_is_answered_in_process_the_next_times(
    disk_store: MeaStore,
) -> None:
    with _client(disk_store, inline_query_ms=10_000) as client:
        assert [_count(client) for _ in range(3)] == [1500, 1500, 1500]
        assert _inlined(client) == 2  # the first answer came from a worker
        other = COUNT.replace("?s", "?x")  # another text is another job: a worker first
        assert _count(client, other) == 1500
        assert _inlined(client) == 2


def test_a_new_generation_forgets_every_proof(disk_store: MeaStore) -> None:
    with _client(disk_store, inline_query_ms=10_000) as client:
        assert _count(client) == 1500
        assert _count(client) == 1500
        assert _inlined(client) == 1
        disk_store.replace_graph(GRAPH + "/more", _decisions(GRAPH + "/more", 1500, 5))
        assert _count(client) == 1505  # the new data, from a worker
        assert _inlined(client) == 1
        assert _count(client) == 1505
        assert _inlined(client) == 2


def test_a_query_slower_than_the_limit_stays_in_the_workers(disk_store: MeaStore) -> None:
    with _client(disk_store, inline_query_ms=0.001) as client:
        assert [_count(client) for _ in range(3)] == [1500, 1500, 1500]
        assert _inlined(client) == 0


def test_inlining_can_be_turned_off(disk_store: MeaStore) -> None:
    with _client(disk_store, inline_query_ms=0) as client:
        assert [_count(client) for _ in range(3)] == [1500, 1500, 1500]
        assert _inlined(client) == 0


def test_a_query_stopped_at_the_timeout_is_stopped_again_not_run_in_process(
    disk_store: MeaStore,
) -> None:
    with _client(disk_store, query_timeout=0.5, inline_query_ms=10_000) as client:
        for _ in range(2):
            started = time.monotonic()
            response = client.get("/sparql", params={"query": RUNAWAY})
            assert response.status_code == 503
            assert time.monotonic() - started < 4
        assert _inlined(client) == 0
        assert _count(client) == 1500  # and the endpoint answers right after


def test_a_query_with_a_service_call_is_never_proven(disk_store: MeaStore) -> None:
    endpoint = "http://127.0.0.1:9/sparql"  # nothing listens: SILENT makes it a quick answer
    query = f"SELECT * WHERE {{ SERVICE SILENT <{endpoint}> {{ ?s ?p ?o }} }}"
    with _client(disk_store, inline_query_ms=10_000, service_allowlist=(endpoint,)) as client:
        for _ in range(3):
            response = client.get("/sparql", params={"query": query}, headers=JSON_RESULTS)
            assert response.status_code == 200, response.text
        assert _inlined(client) == 0


def test_inline_query_ms_is_read_from_the_config_and_checked() -> None:
    settings = settings_from_mapping({"server": {"inline_query_ms": 3}})
    assert settings.server.inline_query_ms == 3.0
    assert ServerSettings().inline_query_ms == 5.0
    with pytest.raises(ConfigError, match="inline_query_ms"):
        settings_from_mapping({"server": {"inline_query_ms": -1}})
