"""``harvester.store.parallel_dump``: the N-Quads export written by several threads is the store,
line for line, in the same order whatever the number of threads."""

from __future__ import annotations

import io
from pathlib import Path

import pyoxigraph as ox
import pytest

from harvester.exceptions import StoreError
from harvester.store.embedded import ChangeSet, MeaStore
from harvester.store.parallel_dump import BLOCK_GRAPHS, dump_nquads

EX = "http://example.org/"
P = ox.NamedNode(EX + "p")
# Literals that look like line ends, language tags, datatypes, blank nodes.
TRICKY = [
    ox.Literal("ends like a line .\nand goes on"),
    ox.Literal('quote " and backslash \\ .'),
    ox.Literal("Décision", language="fr"),
    ox.Literal("12", datatype=ox.NamedNode("http://www.w3.org/2001/XMLSchema#integer")),
    ox.BlankNode("link1"),
]


def _quads(graphs: int) -> list[ox.Quad]:
    quads = [ox.Quad(ox.NamedNode(EX + "default"), P, ox.Literal("in the default graph"))]
    for n in range(graphs):
        graph = ox.NamedNode(f"{EX}record/{n}")
        for k, obj in enumerate(TRICKY):
            quads.append(ox.Quad(ox.NamedNode(f"{EX}s{n}/{k}"), P, obj, graph))
    blank_graph = ox.BlankNode("bg")
    quads.append(ox.Quad(ox.BlankNode("b2"), P, ox.Literal("in a blank graph"), blank_graph))
    return quads


@pytest.fixture(scope="module")
def store() -> ox.Store:
    store = ox.Store()
    store.extend(_quads(graphs=BLOCK_GRAPHS * 9 + 5))  # more blocks than any pool holds ahead
    return store


def _dump(store: ox.Store, threads: int) -> bytes:
    out = io.BytesIO()
    dump_nquads(store, out, threads=threads)
    return out.getvalue()


def test_every_thread_count_writes_the_same_bytes(store: ox.Store) -> None:
    one = _dump(store, 1)
    assert _dump(store, 2) == _dump(store, 3)
    assert sorted(_dump(store, 2).splitlines()) == sorted(one.splitlines())


def test_the_threaded_dump_parses_back_to_the_store(store: ox.Store) -> None:
    data = _dump(store, 3)
    assert data.count(b"\n") == len(store)
    parsed = ox.Store()
    parsed.load(data, format=ox.RdfFormat.N_QUADS)
    assert len(parsed) == len(store)
    assert _ground(parsed) == _ground(store)  # parsing gives blank nodes new labels


def _ground(store: ox.Store) -> set[ox.Quad]:
    def blank(term: object) -> bool:
        return isinstance(term, ox.BlankNode)

    return {q for q in store if not any(map(blank, (q.subject, q.object, q.graph_name)))}


def test_a_failing_output_stops_the_dump_with_its_error(store: ox.Store) -> None:
    class Full(io.BytesIO):
        def write(self, data: object) -> int:
            if self.tell() > 10_000:
                raise OSError(28, "No space left on device")
            return super().write(data)  # type: ignore[arg-type]

    with pytest.raises(OSError, match="No space left"):
        dump_nquads(store, Full(), threads=2)


def test_an_on_disk_store_exports_every_record(tmp_path: Path) -> None:
    db = MeaStore(tmp_path / "db")
    changes = ChangeSet()
    graphs = BLOCK_GRAPHS * 3
    for n in range(graphs):
        graph = f"{EX}record/{n}"
        changes.put_graph(graph, [ox.Quad(ox.NamedNode(graph), P, TRICKY[0], ox.NamedNode(graph))])
    db.apply(changes)
    out = io.BytesIO()
    db.dump(out, ox.RdfFormat.N_QUADS)
    db.close()
    parsed = ox.Store()
    parsed.load(out.getvalue(), format=ox.RdfFormat.N_QUADS)
    assert len(parsed) == graphs
    assert {q.graph_name.value for q in parsed} == {f"{EX}record/{n}" for n in range(graphs)}


def test_export_errors_are_store_errors(tmp_path: Path) -> None:
    db = MeaStore(tmp_path / "db")
    changes = ChangeSet()
    changes.put_graph(
        EX + "g", [ox.Quad(ox.NamedNode(EX + "s"), P, TRICKY[0], ox.NamedNode(EX + "g"))]
    )
    db.apply(changes)

    class Closed(io.BytesIO):
        def write(self, data: object) -> int:
            raise OSError(32, "Broken pipe")

    with pytest.raises(StoreError, match="Broken pipe"):
        db.dump(Closed(), ox.RdfFormat.N_QUADS)
    db.close()
