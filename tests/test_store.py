"""The store: atomic change sets, generations (stage, publish, discard), locking, errors."""

from __future__ import annotations

import threading
from pathlib import Path

import pyoxigraph as ox
import pytest

from harvester.exceptions import QueryError, StoreError, StoreLockedError
from harvester.store.embedded import ChangeSet, MeaStore, StagedStore
from harvester.store.writer import STAGED_BATCH_FACTOR, ChangeWriter

G = "http://hub.test/graph/"


def _quads(graph: str, n: int, value: str = "v") -> list[ox.Quad]:
    g = ox.NamedNode(graph)
    return [
        ox.Quad(
            ox.NamedNode(f"{graph}/s{i}"), ox.NamedNode("http://p.test/p"), ox.Literal(value), g
        )
        for i in range(n)
    ]


def _values(store: MeaStore) -> set[str]:
    return {
        row[0].value for row in store.query("SELECT DISTINCT ?o WHERE { ?s <http://p.test/p> ?o }")
    }  # type: ignore[union-attr]


def test_change_set_replaces_and_drops_in_one_apply() -> None:
    store = MeaStore()
    store.replace_graph(G + "a", _quads(G + "a", 3, "old"))
    store.replace_graph(G + "b", _quads(G + "b", 2))
    changes = ChangeSet()
    changes.put_graph(G + "a", _quads(G + "a", 1, "new"))
    changes.drop_graph(G + "b")
    store.apply(changes)
    assert _values(store) == {"new"} and len(store) == 1


def test_hostile_literals_cannot_break_out_of_the_update() -> None:
    store = MeaStore()
    store.replace_graph(G + "x", _quads(G + "x", 1))
    hostile = '"} } ; DROP ALL ; INSERT DATA { <a:a> <a:a> "'
    store.replace_graph(G + "x", _quads(G + "x", 1, hostile))
    assert _values(store) == {hostile}


def test_update_in_a_query_is_refused() -> None:
    with pytest.raises(QueryError):
        MeaStore().query("DROP ALL")


def test_a_second_process_is_told_the_store_is_locked(tmp_path: Path) -> None:
    store = MeaStore(tmp_path / "db")
    with pytest.raises(StoreLockedError, match="in use by another process"):
        MeaStore(tmp_path / "db")
    store.close()
    MeaStore(tmp_path / "db").close()


def test_published_generation_survives_a_reopen(tmp_path: Path) -> None:
    store = MeaStore(tmp_path / "db")
    store.replace_graph(G + "a", _quads(G + "a", 2, "gen1"))
    staged = store.stage()
    assert staged is not None
    staged.apply(_change(G + "a", "gen2"))
    assert _values(store) == {"gen1"}  # readers do not see the stage
    store.publish(staged)
    assert _values(store) == {"gen2"}
    store.close()
    reopened = MeaStore(tmp_path / "db")
    assert _values(reopened) == {"gen2"}
    assert _orphans(tmp_path / "db", reopened) == []


def _orphans(path: Path, store: MeaStore) -> list[str]:
    """Generations that are neither live nor superseded (kept a while for other readers)."""
    return [
        p.name
        for p in path.glob("gen-*")
        if p.name != store.generation and not (p / "SUPERSEDED").exists()
    ]


def test_superseded_generations_go_after_the_grace_period(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = MeaStore(tmp_path / "db")
    for value in ("a", "b", "c"):
        store.apply(_change(G + "x", value))
    assert len(list((tmp_path / "db").glob("gen-*"))) >= 3  # kept for readers elsewhere
    store.close()
    monkeypatch.setattr("harvester.store.embedded.GENERATION_GRACE_SECONDS", 0.0)
    reopened = MeaStore(tmp_path / "db")
    assert [p.name for p in (tmp_path / "db").glob("gen-*")] == [reopened.generation]
    assert _values(reopened) == {"c"}


def test_published_generations_are_never_written_again(tmp_path: Path) -> None:
    store = MeaStore(tmp_path / "db")
    store.apply(_change(G + "x", "one"))
    first = store.generation
    reader = ox.Store.read_only(str(tmp_path / "db" / first))
    store.apply(_change(G + "x", "two"))
    assert store.generation != first
    assert {q.object.value for q in reader.quads_for_pattern(None, None, None, None)} == {"one"}


def _change(graph: str, value: str) -> ChangeSet:
    changes = ChangeSet()
    changes.put_graph(graph, _quads(graph, 2, value))
    return changes


def test_discarded_or_orphaned_stages_leave_the_live_data(tmp_path: Path) -> None:
    store = MeaStore(tmp_path / "db")
    store.replace_graph(G + "a", _quads(G + "a", 1, "live"))
    discarded = store.stage()
    assert discarded is not None
    store.discard(discarded)
    orphan = store.stage()  # a crash before publish leaves this behind
    assert orphan is not None
    orphan.apply(_change(G + "a", "half-done"))
    store.close()
    reopened = MeaStore(tmp_path / "db")
    assert _values(reopened) == {"live"}
    assert _orphans(tmp_path / "db", reopened) == []


def test_writer_stages_large_runs_and_publishes_all_at_once(tmp_path: Path) -> None:
    store = MeaStore(tmp_path / "db")
    writer = ChangeWriter(store, batch_quads=10)
    for i in range(8):
        writer.put_graph(G + str(i), _quads(G + str(i), 3))
    assert writer.staged is not None
    assert len(store) == 0  # nothing visible before the commit
    writer.commit()
    assert len(store) == 24


def test_writer_abort_after_staging_leaves_the_store_as_it_was(tmp_path: Path) -> None:
    store = MeaStore(tmp_path / "db")
    store.replace_graph(G + "0", _quads(G + "0", 3, "before"))
    writer = ChangeWriter(store, batch_quads=5)
    for i in range(6):
        writer.put_graph(G + str(i), _quads(G + str(i), 3, "after"))
    writer.abort()
    assert _values(store) == {"before"} and len(store) == 3
    assert _orphans(tmp_path / "db", store) == []


def test_writer_applies_background_batches_in_order(tmp_path: Path) -> None:
    """A graph replaced again in a later batch ends with its last content."""
    store = MeaStore(tmp_path / "db")
    writer = ChangeWriter(store, batch_quads=4)
    for round_ in ("first", "second", "third"):
        for i in range(5):
            writer.put_graph(G + str(i), _quads(G + str(i), 2, round_))
    writer.drop_graph(G + "4")
    writer.commit()
    assert _values(store) == {"third"} and len(store) == 8
    assert _orphans(tmp_path / "db", store) == []


def test_a_failed_background_write_fails_the_commit_and_keeps_the_live_data(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = MeaStore(tmp_path / "db")
    store.replace_graph(G + "0", _quads(G + "0", 2, "before"))
    writer = ChangeWriter(store, batch_quads=3)

    def broken(self: object, changes: ChangeSet) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(StagedStore, "apply", broken)
    with pytest.raises(StoreError, match="disk full"):
        for i in range(1, 6):
            writer.put_graph(G + str(i), _quads(G + str(i), 3, "after"))
        writer.commit()
    writer.abort()  # as the harvester does when a run fails
    assert writer.staged is None
    assert _values(store) == {"before"} and len(store) == 2
    assert _orphans(tmp_path / "db", store) == []


def test_staged_batches_are_larger_and_at_most_two_are_held(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first batch switches the run to a staged generation; the next ones are
    STAGED_BATCH_FACTOR times batch_quads; a batch is handed over only once the one before is
    written."""
    store = MeaStore(tmp_path / "db")
    sizes: list[int] = []
    written = threading.Event()
    original = StagedStore.apply

    def slow(self: StagedStore, changes: ChangeSet) -> None:
        if not sizes:
            assert written.wait(10)  # hold the first batch until the test lets it go
        sizes.append(changes.quad_count)
        original(self, changes)

    monkeypatch.setattr(StagedStore, "apply", slow)
    writer = ChangeWriter(store, batch_quads=4)
    for i in range(2):
        writer.put_graph(G + str(i), _quads(G + str(i), 2))  # 4 quads: the first batch
    second = threading.Thread(
        target=lambda: [writer.put_graph(G + str(i), _quads(G + str(i), 2)) for i in range(2, 10)]
    )
    second.start()
    second.join(0.5)
    assert second.is_alive()  # the second batch waits for the first to be written
    written.set()
    second.join(10)
    writer.commit()
    staged, rest = divmod(16, 4 * STAGED_BATCH_FACTOR)  # the 16 quads after the first batch
    expected = [4] + [4 * STAGED_BATCH_FACTOR] * staged + ([rest] if rest else [])
    assert [n for n in sizes if n] == expected and len(store) == 20
    assert _values(store) == {"v"}


def test_a_staged_batch_reaches_the_bulk_loader_whole(tmp_path: Path) -> None:
    """Many graphs, text past the reader's buffer and characters cut across chunks."""
    store = MeaStore(tmp_path / "db")
    writer = ChangeWriter(store, batch_quads=50)
    long_text = "Écosystèmes ∂ 生物多样性 " * 400
    for i in range(60):
        writer.put_graph(G + str(i), _quads(G + str(i), 3, long_text + str(i)))
    writer.commit()
    assert len(store) == 180
    assert _values(store) == {long_text + str(i) for i in range(60)}


def test_writer_on_an_in_memory_store_uses_one_transaction() -> None:
    store = MeaStore()
    writer = ChangeWriter(store, batch_quads=2)
    for i in range(4):
        writer.put_graph(G + str(i), _quads(G + str(i), 2))
    assert len(store) == 0
    writer.commit()
    assert len(store) == 8


@pytest.mark.parametrize(
    ("clause", "union"),
    [
        ("", True),
        ("FROM <http://ex.org/g1>", False),
        ("from\n<http://ex.org/g1>", False),
        ("FROM NAMED <http://ex.org/g2>", False),
    ],
)
def test_the_default_graph_is_the_union_unless_the_query_names_its_dataset(
    clause: str, union: bool
) -> None:
    store = MeaStore(None)
    subject, predicate = ox.NamedNode("http://ex.org/s"), ox.NamedNode("http://ex.org/p")
    for graph, value in (("http://ex.org/g1", "one"), ("http://ex.org/g2", "two")):
        quad = ox.Quad(subject, predicate, ox.Literal(value), ox.NamedNode(graph))
        store.replace_graph(graph, [quad])
    # "wasDerivedFrom" and "?from" hold no FROM clause: the union stays the default graph
    query = (
        f"PREFIX prov: <http://www.w3.org/ns/prov#> SELECT ?from {clause} "
        "WHERE { OPTIONAL { ?x prov:wasDerivedFrom ?y } <http://ex.org/s> ?p ?from }"
    )
    found = {row[0].value for row in store.query(query)}  # type: ignore[union-attr]
    assert found == ({"one", "two"} if union else ({"one"} if "g1" in clause else set()))
