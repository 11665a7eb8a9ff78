"""The first request after a harvest (issue 16): the per-generation cache is single-flight, the
server's warmer computes a new generation's gap and target data before anyone asks, and a minted
IRI that is not a decision gets its page without a decision query."""

from __future__ import annotations

import os
import threading
import time
import tomllib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pyoxigraph as ox
import pytest
from starlette.testclient import TestClient

from harvester.exceptions import StoreError
from harvester.store.embedded import ChangeSet
from sparql.pages import DECISION_PATH
from sparql.pages.reading import GenerationCache
from sparql.pages.warm import Warmer

from .pages_site import HTML, PagesSite, open_pages_site

MEA = "https://w3id.org/mea/ontology#"
MAPPINGS = Path(__file__).parent.parent / "mappings"


def _wait(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.005)


def _blocking(calls: list[int], started: threading.Event, release: threading.Event) -> Any:
    def compute() -> str:
        calls.append(1)
        started.set()
        assert release.wait(10)
        return "value"

    return compute


def test_concurrent_misses_compute_once() -> None:
    cache = GenerationCache(lambda: "v1")
    calls: list[int] = []
    started, release = threading.Event(), threading.Event()
    compute = _blocking(calls, started, release)
    results: list[str] = []
    threads = [threading.Thread(target=lambda: results.append(cache.get(("k",), compute)))]
    threads[0].start()
    assert started.wait(10)
    threads.append(threading.Thread(target=lambda: results.append(cache.get(("k",), compute))))
    threads[1].start()
    _wait(lambda: cache.shared == 1)  # the second is waiting for the first's computation
    release.set()
    for thread in threads:
        thread.join(10)
    assert results == ["value", "value"] and len(calls) == 1
    assert (cache.misses, cache.shared) == (1, 1)


def test_a_failed_computation_fails_its_waiters_and_is_not_kept() -> None:
    cache = GenerationCache(lambda: "v1")
    started, release = threading.Event(), threading.Event()
    errors: list[BaseException] = []

    def failing() -> str:
        started.set()
        assert release.wait(10)
        raise ValueError("store gone")

    def ask() -> None:
        try:
            cache.get(("k",), failing)
        except ValueError as exc:
            errors.append(exc)

    threads = [threading.Thread(target=ask) for _ in range(2)]
    threads[0].start()
    assert started.wait(10)
    threads[1].start()
    _wait(lambda: cache.shared == 1)
    release.set()
    for thread in threads:
        thread.join(10)
    assert [str(e) for e in errors] == ["store gone", "store gone"]
    assert cache.get(("k",), lambda: "again") == "again"  # not cached as a failure


def test_a_value_computed_for_an_old_version_is_not_kept() -> None:
    version = ["v1"]
    cache = GenerationCache(lambda: version[0])

    def compute() -> str:
        version[0] = "v2"  # a publish while computing
        return "old"

    assert cache.get(("k",), compute) == "old"
    assert cache.get(("k",), lambda: "new") == "new"


def test_the_warmer_warms_each_new_version_once() -> None:
    version = ["v1"]
    done: list[str] = []
    warmer = Warmer(lambda: version[0], lambda: [lambda: done.append(version[0])], interval=0.01)
    warmer.start()
    try:
        assert warmer.wait_warmed("v1", 10)
        version[0] = "v2"
        assert warmer.wait_warmed("v2", 10)
        time.sleep(0.05)
    finally:
        warmer.stop()
    assert done == ["v1", "v2"]


# -- the server's warmer -------------------------------------------------------------------------


@pytest.fixture
def site(tmp_path: Path) -> Iterator[PagesSite]:
    opened = open_pages_site(tmp_path)
    yield opened
    opened.close()


def _add_decision(site: PagesSite) -> None:
    graph = "http://hub.test/graph/fx/decisions/warm"
    decision = ox.NamedNode("http://hub.test/decision/fx/warm")
    facts: list[tuple[ox.NamedNode, ox.NamedNode | ox.Literal]] = [
        (
            ox.NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type"),
            ox.NamedNode(MEA + "Decision"),
        ),
        (ox.NamedNode(MEA + "treaty"), ox.NamedNode("https://w3id.org/mea/treaty/cms")),
        (
            ox.NamedNode("http://purl.org/dc/terms/issued"),
            ox.Literal(
                "2021-01-01", datatype=ox.NamedNode("http://www.w3.org/2001/XMLSchema#date")
            ),
        ),
        (ox.NamedNode(MEA + "aichiTarget"), ox.NamedNode("https://w3id.org/mea/aichi/target-11")),
    ]
    changes = ChangeSet()
    changes.put_graph(graph, [ox.Quad(decision, p, o, ox.NamedNode(graph)) for p, o in facts])
    site.runtime.store.apply(changes)


def test_after_a_publish_the_pages_data_is_computed_before_any_request(site: PagesSite) -> None:
    pages, warmer = site.app.state.pages, site.app.state.warmer
    with TestClient(site.app) as client:  # the lifespan starts the warmer
        assert warmer.wait_warmed(pages.version.current()[0], 30)
        _add_decision(site)
        assert warmer.wait_warmed(pages.version.current()[0], 30)
        computed = pages.cache.misses
        matrix = client.get("/gaps", headers={"Accept": "application/json"}).json()
        target = client.get("/aichi/target-11?treaty=cms&since=2010", headers=HTML)
        assert pages.cache.misses == computed  # nothing computed by the requests
    assert target.status_code == 200 and "/decision/fx/warm" in target.text
    assert "cms" in str(matrix)
    assert warmer.rounds == 2


def test_a_minted_iri_that_is_not_a_decision_asks_no_decision_query(
    site: PagesSite, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = site.runtime.store
    original = store.query
    calls: list[str] = []

    def counting(sparql: str, **kwargs: Any) -> Any:
        calls.append(sparql)
        return original(sparql, **kwargs)

    monkeypatch.setattr(store, "query", counting)
    response = site.get("/meeting/fx/cms-cop12", HTML)
    assert response.status_code == 200 and "Twelfth Meeting" in response.text
    assert not any("SELECT ?d ?p ?o WHERE { ?d ?p ?o }" in q for q in calls)


def test_every_decision_mapping_mints_under_the_decision_path() -> None:
    found = 0
    for path in MAPPINGS.glob("*/*.toml"):
        spec = tomllib.loads(path.read_text(encoding="utf-8"))
        if spec.get("class") == "mea:Decision":
            found += 1
            assert spec["iri"].startswith("{base}" + DECISION_PATH), path
    assert found >= 2


def test_the_warming_thread_runs_at_a_lower_priority() -> None:
    seen: list[int] = []
    version = ["v1"]

    def step() -> None:
        seen.append(os.getpriority(os.PRIO_PROCESS, threading.get_native_id()))

    warmer = Warmer(lambda: version[0], lambda: [step], interval=0.01, niceness=5)
    warmer.start()
    try:
        assert warmer.wait_warmed("v1", 10)
    finally:
        warmer.stop()
    assert seen == [min(os.getpriority(os.PRIO_PROCESS, 0) + 5, 19)]


def test_a_failed_round_is_not_retried_and_the_thread_goes_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    version = ["v1"]
    calls: list[str] = []

    def step() -> None:
        calls.append(version[0])
        if version[0] == "v1":
            raise StoreError("store unreadable")

    warmer = Warmer(lambda: version[0], lambda: [step], interval=0.01)
    warmer.start()
    try:
        _wait(lambda: calls == ["v1"])
        time.sleep(0.1)  # ten more looks at v1: no retry
        version[0] = "v2"
        assert warmer.wait_warmed("v2", 10)
    finally:
        warmer.stop()
    assert calls == ["v1", "v2"] and warmer.rounds == 1
    assert "warming the pages failed: store unreadable" in caplog.text
