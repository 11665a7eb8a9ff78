"""A command's chain of commits (issue 14, harvester.store.commits): inside
``MeaStore.pipelined`` a commit returns before it lands, the next run's commit stages a copy
that holds it, generations go live in order, a failed commit fails those after it, and a run
given up passes its place on."""

from __future__ import annotations

import threading
from collections.abc import Collection, Iterator, Mapping
from pathlib import Path

import pyoxigraph as ox
import pytest

from harvester.exceptions import StoreError
from harvester.feed import attach
from harvester.feed.recorder import read_state
from harvester.state import HarvestState, KnownRecord
from harvester.store.embedded import MeaStore
from harvester.store.writer import ChangeWriter

HUB = "http://hub.test/"


def _writer(store: MeaStore, source: str, records: int, batch_quads: int = 50) -> ChangeWriter:
    writer = ChangeWriter(store, batch_quads=batch_quads)
    for n in range(records):
        graph = f"{HUB}graph/{source}/Decisions/{n}"
        subject = ox.NamedNode(f"{HUB}decision/{source}-{n}")
        quads = [
            ox.Quad(subject, ox.NamedNode(HUB + "p"), ox.Literal(str(k)), ox.NamedNode(graph))
            for k in range(10)
        ]
        quads.append(
            ox.Quad(
                subject,
                ox.NamedNode("https://w3id.org/mea/ontology#harvestSource"),
                ox.Literal(source),
                ox.NamedNode(graph),
            )
        )
        writer.put_graph(graph, quads)
    return writer


def _graphs(store: MeaStore, source: str) -> int:
    prefix = f"{HUB}graph/{source}/"
    names = {str(q.graph_name) for q in store.quads()}
    return sum(name.startswith(f"<{prefix}") for name in names)


class _Gate:
    """A publish hook that holds every publish until released, and records their order."""

    capture = None

    def __init__(self) -> None:
        self.release = threading.Event()
        self.published: list[str] = []
        self.fail_on: str | None = None

    def before_publish(
        self,
        name: str,
        graphs: Collection[str],
        live: ox.Store,
        captured: Mapping[str, bytes] | None = None,
    ) -> None:
        assert self.release.wait(30)
        if self.fail_on is not None and any(self.fail_on in g for g in graphs):
            raise RuntimeError(f"publish of {name} failed")
        self.published.append(name)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[MeaStore]:
    store = MeaStore(tmp_path / "store")
    yield store
    store.close()


def test_a_commit_returns_before_it_lands_and_the_next_one_holds_it(store: MeaStore) -> None:
    gate = _Gate()
    store.publish_hook = gate  # type: ignore[assignment]
    before = store.generation
    with store.pipelined() as chain:
        assert chain is not None
        first = _writer(store, "a", 30).commit(wait=False)
        second = _writer(store, "b", 30).commit(wait=False)
        assert first is not None and second is not None
        # neither has landed: the harvest went on while both wait to publish
        assert not first.landed and not second.landed
        assert store.generation == before and _graphs(store, "a") == 0
        gate.release.set()
    assert first.landed and second.landed
    assert gate.published == sorted(gate.published) and len(gate.published) == 2
    assert store.generation == gate.published[-1]
    # the second stage copied the first, sealed but not yet live: both are in the store
    assert _graphs(store, "a") == 30 and _graphs(store, "b") == 30


def test_a_failed_commit_fails_those_after_it_and_the_store_keeps_neither(
    store: MeaStore,
) -> None:
    gate = _Gate()
    gate.fail_on = "/graph/a/"
    store.publish_hook = gate  # type: ignore[assignment]
    landed: list[BaseException | None] = []
    with pytest.raises(StoreError), store.pipelined() as chain:
        assert chain is not None
        first = _writer(store, "a", 30).commit(wait=False)
        second = _writer(store, "b", 30).commit(wait=False)
        assert first is not None and second is not None
        chain.then(first, landed.append)
        chain.then(second, landed.append)
        gate.release.set()  # a's publish fails; b waits for it
    assert [type(e) for e in landed] == [StoreError, StoreError]
    assert "earlier commit" in str(landed[1])
    assert _graphs(store, "a") == 0 and _graphs(store, "b") == 0  # b's stage held a's changes
    # the chain is over: the store takes commits again
    _writer(store, "c", 5).commit()
    assert _graphs(store, "c") == 5


def test_a_run_given_up_passes_its_place_on(store: MeaStore) -> None:
    with store.pipelined() as chain:
        assert chain is not None
        assert _writer(store, "a", 30).commit(wait=False) is not None
        given_up = _writer(store, "b", 30)  # large enough to have begun its commit
        assert given_up.staged is not None
        given_up.abort()
        assert _writer(store, "c", 30).commit(wait=False) is not None
    assert (_graphs(store, "a"), _graphs(store, "b"), _graphs(store, "c")) == (30, 0, 30)
    assert sorted(p.name for p in store.path.glob("gen-*"))[-1] == store.generation  # type: ignore[union-attr]


def test_a_commit_in_its_own_transaction_waits_its_turn(store: MeaStore) -> None:
    gate = _Gate()
    store.publish_hook = gate  # type: ignore[assignment]
    with store.pipelined():
        assert _writer(store, "a", 30).commit(wait=False) is not None
        threading.Timer(0.3, gate.release.set).start()
        small = _writer(store, "b", 1, batch_quads=10_000)
        small.commit()  # waits: on return it has landed, after a
        assert _graphs(store, "a") == 30 and _graphs(store, "b") == 1
    assert len(gate.published) == 2


def test_feed_members_of_commits_in_flight_are_numbered_in_turn(store: MeaStore) -> None:
    hook = attach(store, HUB, page_size=100)
    with store.pipelined():
        for source in ("a", "b", "c"):
            assert _writer(store, source, 20).commit(wait=False) is not None
    state = read_state(store, hook.terms, 100)
    assert state.count == 60
    prefix = hook.terms.member(1).rsplit("/", 1)[0] + "/"
    members = {
        str(q.subject)[1:-1] for q in store.quads() if str(q.subject).startswith(f"<{prefix}")
    }
    assert len(members) == 60 == len({hook.terms.member(n) for n in range(1, 61)} & members)


def test_ledgers_of_two_runs_keep_their_own_tables() -> None:
    state = HarvestState(None)
    first, second = state.ledger("a"), state.ledger("b")
    first.written(KnownRecord("Decisions", "1", "g1", "h1"))
    second.written(KnownRecord("Decisions", "2", "g2", "h2"))
    second.close()  # the second run failed: the first run's bookkeeping is still there
    first.commit([], "2026-01-01T00:00:00+00:00")
    assert state.record_count("a") == 1 and state.record_count("b") == 0


def test_an_error_after_a_commit_waits_for_the_end_and_the_others_still_land(
    store: MeaStore,
) -> None:
    ran: list[str] = []

    def broken(error: BaseException | None) -> None:
        raise RuntimeError("state broken")

    with pytest.raises(RuntimeError, match="state broken"), store.pipelined() as chain:
        assert chain is not None
        first = _writer(store, "a", 30).commit(wait=False)
        assert first is not None
        chain.then(first, broken)
        first.wait()
        chain.run_landed()  # does not raise: the runs still going are not disturbed
        second = _writer(store, "b", 30).commit(wait=False)
        assert second is not None
        chain.then(second, lambda error: ran.append("b"))
    assert ran == ["b"] and _graphs(store, "a") == 30 and _graphs(store, "b") == 30
