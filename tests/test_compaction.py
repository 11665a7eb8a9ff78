"""One compaction per command: publishes inside ``compaction_deferred`` never optimize, and the
live generation is compacted once at the end when its uncompacted files pass the bound."""

from __future__ import annotations

from pathlib import Path

import pyoxigraph as ox
import pytest

from harvester.store import embedded
from harvester.store.embedded import ChangeSet, MeaStore, StagedStore
from harvester.store.writer import ChangeWriter

HUB = "http://hub.test/"


def _write(store: MeaStore, source: str, records: int) -> None:
    writer = ChangeWriter(store, batch_quads=50)  # small batches: a staged generation
    for n in range(records):
        graph = f"{HUB}graph/{source}/Decisions/{n}"
        quads = [
            ox.Quad(
                ox.NamedNode(f"{HUB}d/{n}/{k}"),
                ox.NamedNode(HUB + "p"),
                ox.Literal(str(k)),
                ox.NamedNode(graph),
            )
            for k in range(10)
        ]
        writer.put_graph(graph, quads)
    writer.commit()


@pytest.fixture
def optimized(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    # these runs bulk-load 400 quads each: a debt of 300 quads is "large" here
    monkeypatch.setattr(embedded, "COMPACT_AFTER_QUADS", 300)
    calls: list[str] = []
    close = StagedStore.close

    def spy(self: StagedStore, *, optimize: bool = False) -> None:
        if optimize:
            calls.append(self.name)
        close(self, optimize=optimize)

    monkeypatch.setattr(StagedStore, "close", spy)
    return calls


def test_publishes_inside_the_block_do_not_compact(tmp_path: Path, optimized: list[str]) -> None:
    store = MeaStore(tmp_path / "store")
    with store.compaction_deferred():
        for source in ("a", "b", "c"):
            _write(store, source, 40)
        assert optimized == []
        inside = store.generation
    assert optimized == [store.generation] != [inside]  # once, after the block, as a new generation
    assert len(store) == 3 * 40 * 10
    store.close()


def test_without_the_block_a_large_run_compacts_as_before(
    tmp_path: Path, optimized: list[str]
) -> None:
    store = MeaStore(tmp_path / "store")
    _write(store, "a", 40)
    assert optimized == [store.generation]
    store.close()


def test_a_small_block_with_little_debt_is_not_compacted_again(
    tmp_path: Path, optimized: list[str]
) -> None:
    store = MeaStore(tmp_path / "store")
    _write(store, "a", 40)  # compacted here
    optimized.clear()
    with store.compaction_deferred():
        changes = ChangeSet()
        changes.put_graph(f"{HUB}graph/a/Decisions/x", [])
        store.apply(changes)
    assert optimized == []
    store.close()


def test_a_new_process_does_not_compact_a_store_it_barely_wrote(
    tmp_path: Path, optimized: list[str]
) -> None:
    # a no-change harvest: each source writes only its run description
    store = MeaStore(tmp_path / "store")
    _write(store, "a", 40)
    store.close()
    optimized.clear()
    reopened = MeaStore(tmp_path / "store")
    with reopened.compaction_deferred():
        for n in range(4):
            changes = ChangeSet()
            run = f"{HUB}graph/runs/{n}"
            quad = ox.Quad(
                ox.NamedNode(HUB + "run"),
                ox.NamedNode(HUB + "p"),
                ox.Literal(str(n)),
                ox.NamedNode(run),
            )
            changes.put_graph(run, [quad])
            reopened.apply(changes)
    assert optimized == []
    reopened.close()
