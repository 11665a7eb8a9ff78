"""``harvester.store.dumps``: dumps proportional to what changed, one gzip member per part,
consistent with the generation they name, written in the background or by a detached process."""

from __future__ import annotations

import gzip
import subprocess
import sys
import threading
import time
from pathlib import Path

import pyoxigraph as ox
import pytest

from harvester.store.dumps import (
    MANIFEST,
    NQUADS_DUMP,
    TRIG_DUMP,
    BackgroundDumps,
    read_manifest,
    write_dumps,
)
from harvester.store.embedded import ChangeSet, MeaStore, graph_part

HUB = "http://hub.test/"
P = ox.NamedNode(HUB + "p")


def _graph(source: str, n: int) -> str:
    return f"{HUB}graph/{source}/Decisions/{n}"


def _changes(source: str, records: range, text: str = "v1") -> ChangeSet:
    changes = ChangeSet()
    for n in records:
        graph = _graph(source, n)
        quads = [
            ox.Quad(
                ox.NamedNode(f"{HUB}decision/{source}/{n}"),
                P,
                ox.Literal(text),
                ox.NamedNode(graph),
            ),
            ox.Quad(ox.BlankNode(), P, ox.Literal(f"line .\nbreak {n}"), ox.NamedNode(graph)),
        ]
        changes.put_graph(graph, quads)
    return changes


def _dumped(directory: Path, name: str, fmt: ox.RdfFormat) -> set[ox.Quad]:
    return set(ox.parse(gzip.decompress((directory / name).read_bytes()), format=fmt))


@pytest.fixture
def store(tmp_path: Path) -> MeaStore:
    store = MeaStore(tmp_path / "store")
    store.apply(_changes("alpha", range(100)))
    store.apply(_changes("beta", range(150)))
    return store


def test_graph_parts_follow_the_graph_iri() -> None:
    assert graph_part(_graph("alpha", 1)) == "alpha"
    assert graph_part(_graph("alpha", 1) + "/inferred") == "alpha"
    assert graph_part(HUB + "graph/runs/alpha-2026") == "runs"
    assert graph_part("https://w3id.org/mea/graph/shapes") == "shapes"
    assert graph_part("http://elsewhere.test/g") == "other"


def test_both_dumps_are_the_store_with_graph_names(store: MeaStore, tmp_path: Path) -> None:
    directory = tmp_path / "dumps"
    assert write_dumps(store, directory) is True
    everything = set(store.quads())
    assert _dumped(directory, NQUADS_DUMP, ox.RdfFormat.N_QUADS) == everything
    assert _dumped(directory, TRIG_DUMP, ox.RdfFormat.TRIG) == everything
    manifest = read_manifest(directory)
    assert manifest["generation"] == store.generation
    assert manifest["quads"] == len(everything)
    assert write_dumps(store, directory) is False  # same generation: nothing to do


def test_only_the_parts_that_changed_are_serialised(store: MeaStore, tmp_path: Path) -> None:
    directory = tmp_path / "dumps"
    write_dumps(store, directory)
    parts = directory / "parts"
    before = {p.name: p.stat().st_mtime_ns for p in parts.iterdir()}
    alpha_bytes = (parts / "alpha.nq.gz").read_bytes()
    store.apply(_changes("beta", range(10), text="v2"))
    write_dumps(store, directory)
    after = {p.name: p.stat().st_mtime_ns for p in parts.iterdir()}
    assert after["alpha.nq.gz"] == before["alpha.nq.gz"]  # untouched source: file kept as it was
    assert after["alpha.trig.gz"] == before["alpha.trig.gz"]
    assert (parts / "alpha.nq.gz").read_bytes() == alpha_bytes
    assert after["beta.nq.gz"] != before["beta.nq.gz"]
    dumped = _dumped(directory, NQUADS_DUMP, ox.RdfFormat.N_QUADS)
    assert dumped == set(store.quads())  # and the whole is the new generation, exactly
    assert ox.Literal("v2") in {q.object for q in dumped}


def test_a_deleted_source_leaves_no_part_behind(store: MeaStore, tmp_path: Path) -> None:
    directory = tmp_path / "dumps"
    write_dumps(store, directory)
    drop = ChangeSet()
    for n in range(100):
        drop.drop_graph(_graph("alpha", n))
    store.apply(drop)
    write_dumps(store, directory)
    assert not (directory / "parts" / "alpha.nq.gz").exists()
    assert _dumped(directory, NQUADS_DUMP, ox.RdfFormat.N_QUADS) == set(store.quads())


def test_a_generation_without_markers_is_dumped_whole(store: MeaStore, tmp_path: Path) -> None:
    directory = tmp_path / "dumps"
    write_dumps(store, directory)
    (store.path / store.generation / "PARTS.json").unlink()  # type: ignore[operator]
    store.close()
    reopened = MeaStore(tmp_path / "store")
    reopened.apply(_changes("beta", range(1), text="v3"))
    write_dumps(reopened, directory)
    assert _dumped(directory, NQUADS_DUMP, ox.RdfFormat.N_QUADS) == set(reopened.quads())
    assert set(read_manifest(directory)["parts"]) >= {"alpha", "beta"}
    reopened.close()


def test_an_in_memory_store_is_dumped_whole(tmp_path: Path) -> None:
    store = MeaStore(None)
    store.apply(_changes("alpha", range(3)))
    directory = tmp_path / "dumps"
    assert write_dumps(store, directory) is True
    assert _dumped(directory, TRIG_DUMP, ox.RdfFormat.TRIG) == set(store.quads())


def test_a_detached_process_writes_the_dumps_of_the_live_generation(
    store: MeaStore, tmp_path: Path
) -> None:
    directory = tmp_path / "dumps"
    expected, generation = set(store.quads()), store.generation
    command = [sys.executable, "-m", "harvester.store.dumps", str(store.path), str(directory)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert read_manifest(directory)["generation"] == generation  # while this process holds it
    assert _dumped(directory, NQUADS_DUMP, ox.RdfFormat.N_QUADS) == expected


def test_the_detached_writer_fails_loudly_without_a_store(tmp_path: Path) -> None:
    command = [sys.executable, "-m", "harvester.store.dumps", str(tmp_path / "none"), str(tmp_path)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 1
    assert "could not write the dumps" in done.stderr
    assert not (tmp_path / MANIFEST).exists()


def test_background_dumps_fold_requests_and_survive_a_failure() -> None:
    calls: list[float] = []
    started, release = threading.Event(), threading.Event()

    def refresh() -> None:
        calls.append(time.monotonic())
        started.set()
        release.wait(5)
        if len(calls) == 1:
            raise OSError("disk full")  # logged; the thread goes on

    background = BackgroundDumps(refresh)
    background.request()
    assert started.wait(5)
    for _ in range(5):  # made while the first refresh runs: folded into one more refresh
        background.request()
    release.set()
    deadline = time.monotonic() + 5
    while len(calls) < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.2)
    assert len(calls) == 2
    background.close(timeout=5)


def test_spawned_writer_outlives_the_call_and_writes_the_dumps(
    store: MeaStore, tmp_path: Path
) -> None:
    from harvester.settings import ServerSettings
    from harvester.store.dumps import spawn_refresh

    directory, log_file = tmp_path / "dumps", tmp_path / "state" / "dumps.log"
    server = ServerSettings(base_iri=HUB, dumps_dir=directory)
    started = time.monotonic()
    assert spawn_refresh(store, server, log_file) is True
    assert time.monotonic() - started < 2  # the caller does not wait for the dump
    deadline = time.monotonic() + 60
    while not read_manifest(directory) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert read_manifest(directory)["generation"] == store.generation
    assert _dumped(directory, NQUADS_DUMP, ox.RdfFormat.N_QUADS) == set(store.quads())
    assert "wrote dumps" in log_file.read_text()


def test_nothing_is_spawned_for_an_in_memory_store(tmp_path: Path) -> None:
    from harvester.settings import ServerSettings
    from harvester.store.dumps import spawn_refresh

    server = ServerSettings(base_iri=HUB, dumps_dir=tmp_path / "dumps")
    assert spawn_refresh(MeaStore(None), server, tmp_path / "dumps.log") is False
