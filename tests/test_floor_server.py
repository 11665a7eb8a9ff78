"""``bench/floor_server.py``: the bare front the endpoint bench measures as the floor answers
what ``oxigraph serve --union-default-graph`` would (so its latency is comparable)."""

from __future__ import annotations

from urllib.parse import urlencode

import httpx
import pyoxigraph as ox
import pytest

from bench.floor_server import FloorApp

EX = "http://example.org/"


@pytest.fixture
def client() -> httpx.AsyncClient:
    store = ox.Store()
    for n, graph in enumerate(("g1", "g2")):
        store.add(
            ox.Quad(ox.NamedNode(EX + f"s{n}"), ox.NamedNode(EX + "p"), ox.Literal(f"<b>{n}</b>"),
                    ox.NamedNode(EX + graph))
        )  # fmt: skip
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=FloorApp(store)), base_url=EX)


async def _get(client: httpx.AsyncClient, query: str) -> httpx.Response:
    return await client.get("/sparql?" + urlencode({"query": query}))


@pytest.mark.anyio
async def test_select_over_the_union_of_graphs_as_sparql_json(client: httpx.AsyncClient) -> None:
    response = await _get(client, "SELECT ?o WHERE { ?s ?p ?o } ORDER BY ?o")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/sparql-results+json"
    values = [b["o"]["value"] for b in response.json()["results"]["bindings"]]
    assert values == ["<b>0</b>", "<b>1</b>"]


@pytest.mark.anyio
async def test_ask_and_a_syntax_error(client: httpx.AsyncClient) -> None:
    assert (await _get(client, "ASK { ?s ?p 1 }")).json() == {"head": {}, "boolean": False}
    assert (await _get(client, "ASK {}")).json()["boolean"] is True
    bad = await _get(client, "SELECT WHERE {")
    assert bad.status_code == 400
    assert (await client.get("/sparql")).status_code == 400
