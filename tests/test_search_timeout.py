"""``/search`` over an on-disk store runs in the query workers (issue 17): it answers as the
in-process search does, a search past ``query_timeout`` is stopped with the 503 ``/sparql``
gives, and the server goes on answering (its worker was replaced)."""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from harvester.search.evaluate import HUB, fixture_dataset, harvest_fixture
from harvester.service.runtime import Runtime
from harvester.settings import settings_from_mapping
from sparql import create_app
from sparql.workers import timeout_message

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
    from starlette.testclient import TestClient


WORDS = "protected areas wetlands species migratory climate change budget parties conference"
SLOW = " OR ".join((WORDS.split() * 7)[:64])


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, Any]]:
    folder = tmp_path_factory.mktemp("search-timeout")
    store = {"path": str(folder / "store"), "state_dir": str(folder / "state")}
    settings = settings_from_mapping({"store": store, "server": {"base_iri": HUB}})
    with Runtime.open(settings) as runtime:
        harvest_fixture(runtime, fixture_dataset())
        server = dataclasses.replace(settings.server, dumps_dir=Path(folder / "dumps"))
        app = create_app(runtime.store, server)
        with TestClient(app) as client:  # the lifespan starts the query workers
            yield client, app


def _pool(app: Any) -> Any:
    endpoint = next(r.endpoint for r in app.routes if getattr(r, "path", "") == "/search")
    pool = endpoint.__self__.pool()
    assert pool is not None, "an on-disk store's /search has query workers"
    return pool


def test_search_in_a_worker_answers_like_the_index(served: tuple[TestClient, Any]) -> None:
    client, app = served
    response = client.get("/search", params={"q": "protected areas", "facets": "1"})
    assert response.status_code == 200, response.text
    data = response.json()
    assert data["total"] >= 1 and data["hits"][0]["iri"].startswith(HUB)
    assert "<mark>" in data["hits"][0]["snippet"] and "treaty" in data["facets"]
    bad = client.get("/search", params={"q": '"wetland'})
    assert bad.status_code == 400 and isinstance(bad.json()["position"], int)


def test_a_search_past_the_timeout_is_a_503_and_the_server_goes_on(
    served: tuple[TestClient, Any],
) -> None:
    client, app = served
    pool = _pool(app)
    kept, pool.timeout = pool.timeout, 0.005
    try:  # 64 words (the most a search may have) with facets: 17-35 ms in-process, on 2 cores
        stopped = client.get("/search", params={"q": SLOW, "limit": "100", "facets": "1"})
    finally:
        pool.timeout = kept
    assert stopped.status_code == 503
    assert stopped.json()["error"] == timeout_message(0.005)
    assert pool.timeouts >= 1 and pool.restarts >= 1  # the worker was killed and replaced
    again = client.get("/search", params={"q": "protected areas"})
    assert again.status_code == 200 and again.json()["total"] >= 1
    assert client.get("/sparql", params={"query": "ASK {}"}).status_code == 200
