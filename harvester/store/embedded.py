"""The one owner of the pyoxigraph store: open it, query it, apply changes atomically, dump it.

Every harvested record lives in a named graph of its own. A harvest run collects its changes in a
:class:`ChangeSet` and applies them in one transaction (:meth:`MeaStore.apply`), so a reader sees a
source either before or after a run, never half-way. Queries see the union of all graphs as the
default graph.

On disk the store keeps *generations*: ``<path>/GENERATION`` names the live RocksDB folder
(``<path>/gen-000001``...). Every write stages (:meth:`~MeaStore.stage`) a copy of the live
generation (a hard-link checkpoint, milliseconds), writes to it (in bounded batches for a large
run, so memory stays flat), and publishes it (:meth:`~MeaStore.publish`) by swapping the pointer
atomically. So a published generation is never written again: other processes may open it
read-only (``pyoxigraph.Store.read_only``) and reopen when ``GENERATION`` changes; superseded
generations are kept ``GENERATION_GRACE_SECONDS`` for them. A crash before a publish leaves the
previous generation live; the orphaned stage is removed at the next open.
"""

from __future__ import annotations

import contextlib
import fcntl
import itertools
import json
import logging
import os
import shutil
import threading
import time
import uuid
import weakref
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import pyoxigraph as ox

from ..exceptions import QueryError, StoreError, StoreLockedError
from .capture import CaptureSpool
from .commits import CommitChain
from .parallel_dump import default_threads, dump_nquads

if TYPE_CHECKING:  # the search index hook (harvester.search)
    from ..search.sync import PublishHook

__all__ = [
    "PARTS_FILE",
    "ChangeSet",
    "MeaStore",
    "Snapshot",
    "QueryResult",
    "Sealed",
    "StagedStore",
    "graph_part",
    "live_generation_dir",
    "map_store_errors",
    "nquads_text",
    "open_snapshot",
    "query_store",
]

log = logging.getLogger(__name__)

QueryResult = ox.QuerySolutions | ox.QueryBoolean | ox.QueryTriples

# Bytes of triples per INSERT DATA operation of an update.
_INSERT_CHUNK_BYTES = 4_000_000


@contextlib.contextmanager
def map_store_errors(action: str) -> Iterator[None]:
    """Translate pyoxigraph's exceptions into :class:`StoreError` (the one boundary)."""
    try:
        yield
    except SyntaxError as exc:
        raise QueryError(f"{action}: {exc}") from exc
    except OSError as exc:
        if "lock" in str(exc).lower():
            raise StoreLockedError(
                f"{action}: the store is in use by another process "
                f"(stop `meahub serve` or wait for the running harvest): {exc}"
            ) from exc
        raise StoreError(f"{action}: {exc}") from exc
    except (ValueError, RuntimeError) as exc:
        raise StoreError(f"{action}: {exc}") from exc


@dataclass
class ChangeSet:
    """Graphs to replace and graphs to drop, applied together by :meth:`MeaStore.apply`.

    Graph contents are kept as N-Quads text written by pyoxigraph's term serialiser (a few
    hundred bytes a quad, against about a kilobyte for live term objects), so a large run stays
    lean and a batch goes to the bulk loader as it is; :meth:`triples` gives the SPARQL Update
    paths the same lines without the graph.
    """

    replace: dict[str, str] = field(default_factory=dict)
    drop: set[str] = field(default_factory=set)
    quad_count: int = 0

    def put_graph(self, graph: str, quads: Iterable[ox.Quad]) -> None:
        quads = list(quads)
        self.put_nquads(graph, nquads_text(quads, graph), len(quads))

    def put_nquads(self, graph: str, text: str, count: int) -> None:
        """Like :meth:`put_graph`, for quads already written by :func:`nquads_text`."""
        self.drop.discard(graph)
        self.quad_count += count
        self.replace[graph] = text

    def triples(self, graph: str) -> str:
        """The triples of a replaced graph, one per line, without final dots."""
        text, tail = self.replace[graph], _line_tail(graph)
        return text[: -len(tail)].replace(tail, "\n") if text else ""

    def drop_graph(self, graph: str) -> None:
        self.replace.pop(graph, None)
        self.drop.add(graph)

    def __bool__(self) -> bool:
        return bool(self.replace or self.drop)

    def parts(self) -> set[str]:
        """The dump parts (:func:`graph_part`) of every graph this change replaces or drops."""
        return {graph_part(g) for g in itertools.chain(self.replace, self.drop)}


def graph_part(graph: str) -> str:
    """The part of the dumps a graph belongs to: the segment after the last ``/graph/`` of its
    IRI (``{base}graph/<source>/...`` is the source's, ``{base}graph/runs/...`` the run
    history's, ``.../graph/shapes`` the shapes'), ``other`` for any other graph. A part of the
    dumps is rewritten only when a write touched one of its graphs (see :class:`Snapshot`)."""
    _, found, rest = graph.rpartition("/graph/")
    return rest.split("/", 1)[0] or "other" if found else "other"


@dataclass(frozen=True)
class Snapshot:
    """A published generation opened for reading, and the markers of its dump parts: each part
    of the dumps has a marker that changes with every publish that touched a graph of the part
    (None when the generation has none: every part counts as changed)."""

    store: ox.Store
    state: str
    generation: str
    markers: dict[str, str] | None


class MeaStore:
    """An embedded Oxigraph store (on disk, or in memory when ``path`` is None).

    :raises StoreLockedError: when another process has the store open.
    :raises StoreError: when the store cannot be opened.
    """

    def __init__(self, path: Path | None = None) -> None:
        self.path = path
        self.version = 0
        self._lock_file: IO[bytes] | None = None
        self._compacted_files: int | None = None
        self._debt_quads = 0  # quads bulk-loaded since the last compaction
        self._swap = threading.Lock()  # a snapshot sees the store and its generation together
        self._defer_compaction = False
        #: the newest sealed generation not yet published (see :meth:`seal`), the next stage's
        #: base; None when the live generation is the newest
        self._tip: Sealed | None = None
        #: stages being written, kept when a publish removes other generations
        self._staging: set[str] = set()
        #: the commits of a command, in order (:meth:`pipelined`); None: each commit waits
        self.chain: CommitChain | None = None
        with map_store_errors(f"cannot open store at {path}"):
            if path is None:
                self._store = ox.Store()
                self.generation = ""
                self.store_id = uuid.uuid4().hex
            else:
                self._lock_file = _lock(path)
                weakref.finalize(self, self._lock_file.close)
                self.generation = _live_generation(path)
                self.store_id = _store_id(path)
                self._store = ox.Store.read_only(str(path / self.generation))
                # Compaction debt counts from the generation this process found: a new process
                # does not compact a store it has not written to (a no-change harvest used to
                # optimize the whole store at its end).
                self._compacted_files = _sst_files(path / self.generation)
                _remove_other_generations(path, keep={self.generation})

    # -- reading -----------------------------------------------------------------------------

    def query(
        self,
        sparql: str,
        *,
        default_graph: Sequence[str] | None = None,
        named_graphs: Sequence[str] | None = None,
        substitutions: dict[str, ox.NamedNode | ox.Literal] | None = None,
        timeout: float | None = None,
    ) -> QueryResult:
        """Evaluate a SPARQL query; the default graph is the union of all graphs unless given.

        Results must be consumed on the calling thread (pyoxigraph results are not sendable).

        :param substitutions: variable name (without ``?``) to term; how callers bind values
            without splicing them into query text.
        :param timeout: ignored: pyoxigraph cannot stop a query (the endpoint's query workers
            enforce the timeout by killing the process).
        :raises QueryError: on a syntax error or an update passed as a query.
        """
        return query_store(
            self._store,
            sparql,
            default_graph=default_graph,
            named_graphs=named_graphs,
            substitutions=substitutions,
        )

    def graph_quads(self, graph: str) -> list[ox.Quad]:
        """All quads of one named graph."""
        with map_store_errors(f"cannot read graph {graph}"):
            return list(self._store.quads_for_pattern(None, None, None, ox.NamedNode(graph)))

    def has_graph(self, graph: str) -> bool:
        with map_store_errors(f"cannot read graph {graph}"):
            return _has_graph(self._store, graph)

    def __len__(self) -> int:
        with map_store_errors("cannot count quads"):
            return len(self._store)

    #: a large run writes to a staged generation, published at once (see :meth:`stage`)
    write_batch_quads: int | None = None
    #: told what each write changed before readers can see it (the search index,
    #: :func:`harvester.search.sync.attach`); None: nothing to tell
    publish_hook: PublishHook | None = None

    def writer_lease(self) -> contextlib.AbstractContextManager[None]:
        """Nothing to take: the advisory lock taken at open already makes this process the only
        writer of the embedded store."""
        return contextlib.nullcontext()

    # -- writing -----------------------------------------------------------------------------

    def apply(self, changes: ChangeSet) -> None:
        """Replace and drop graphs in one transaction; an empty change set writes nothing.

        :raises StoreError: when the write fails; then nothing of ``changes`` is visible.
        """
        if not changes:
            return
        if self.path is None:
            if self.publish_hook is not None:  # search index hook (harvester.search)
                self.publish_hook.before_apply(self.version + 1, changes, self._store)
            _apply(self._store, changes)
            self.version += 1
            return
        self._commit(lambda staged: staged.apply(changes))

    def _commit(
        self, write: Callable[[StagedStore], None], *, optimize: bool | None = None
    ) -> None:
        """Stage, ``write``, publish, in the calling thread: in a command's chain of commits
        (:meth:`pipelined`) in its turn, after the commits under way. ``optimize`` None: when
        the compaction debt warrants it."""
        commit = self.chain.begin() if self.chain is not None else None
        try:
            if commit is not None:
                commit.after_previous_sealed()
            staged = self.stage()
            assert staged is not None
            try:
                write(staged)
            except BaseException:
                self.discard(staged)
                raise
            compact = self.needs_compaction(staged) if optimize is None else optimize
            sealed = self.seal(staged, optimize=compact)
            if commit is not None:
                commit.sealed()
                commit.after_previous_landed()
            self.publish_sealed(sealed)
        except BaseException as exc:
            if commit is not None:
                commit.fail(exc)
            raise
        if commit is not None:
            commit.land()

    def replace_graph(self, graph: str, quads: Iterable[ox.Quad]) -> None:
        """Replace one graph atomically."""
        changes = ChangeSet()
        changes.put_graph(graph, quads)
        self.apply(changes)

    def close(self) -> None:
        """Release the store (and its lock); the object must not be used afterwards."""
        del self._store
        if self._lock_file is not None:
            self._lock_file.close()

    # -- export ------------------------------------------------------------------------------

    def dump(self, output: IO[bytes], fmt: ox.RdfFormat, *, graph: str | None = None) -> None:
        """Serialise the whole dataset (or one graph, for triple formats) to ``output``; the
        whole dataset of an on-disk store as N-Quads by several threads
        (:mod:`harvester.store.parallel_dump`)."""
        if fmt == ox.RdfFormat.N_QUADS and graph is None and self.path is not None:
            # An on-disk generation never changes, so dumping it graph by graph is a snapshot.
            with map_store_errors("export failed"):
                dump_nquads(self._store, output, threads=default_threads())
            return
        kwargs: dict[str, Any] = {"format": fmt}
        if graph is not None:
            kwargs["from_graph"] = _graph_term(graph)
        with map_store_errors("export failed"):
            self._store.dump(output, **kwargs)

    def snapshot(self) -> Snapshot | None:
        """The live generation for a reader that must see one state throughout (the dumps);
        None for an in-memory store, which has no immutable generation."""
        if self.path is None:
            return None
        with self._swap:
            store, generation = self._store, self.generation
        markers = _read_parts(self.path / generation)
        return Snapshot(store, f"{self.store_id}:{generation}", generation, markers)

    def quads(self) -> Iterator[ox.Quad]:
        """Every quad of the store (streamed)."""
        with map_store_errors("cannot read quads"):
            yield from self._store.quads_for_pattern(None, None, None, None)

    # -- generations -------------------------------------------------------------------------

    def stage(self) -> StagedStore | None:
        """A writable copy of the live data that readers do not see until :meth:`publish`;
        None for an in-memory store (there, use :meth:`apply`)."""
        if self.path is None:
            return None
        with self._swap:
            base = self._store if self._tip is None else self._tip.store
            name = _next_generation(self.path, self._staging)
            self._staging.add(name)
        with map_store_errors("cannot stage a new generation"):
            base.backup(str(self.path / name))
            capture = None if self.publish_hook is None else self.publish_hook.capture
            spool = None if capture is None else CaptureSpool(self.path)
            return StagedStore(name, ox.Store(str(self.path / name)), capture=capture, spool=spool)

    @contextlib.contextmanager
    def pipelined(self) -> Iterator[CommitChain | None]:
        """Within, a :class:`~harvester.store.writer.ChangeWriter`'s commit returns at once: its
        last batches are written, and it is sealed and published, in the background, in order,
        while the next run fetches (one run's commit tail overlaps the next run's work). Each
        commit's stage copies the commit before it once that one is sealed, and publishes after
        it. At the end every commit has landed (or failed: the first error is raised)."""
        if self.path is None or self.chain is not None:
            yield None
            return
        chain = self.chain = CommitChain()
        try:
            yield chain
        finally:
            self.chain = None
            chain.drain()

    @contextlib.contextmanager
    def compaction_deferred(self) -> Iterator[None]:
        """Publishes within do not compact; at the end, the live generation is compacted once
        when the files added since the last compaction pass the bound (one ``optimize`` of the
        whole store, not one per source: 2.4-2.9 s against 9.1 s for four sources)."""
        if self.path is None or self._defer_compaction:
            yield
            return
        self._defer_compaction = True
        try:
            yield
        finally:
            self._defer_compaction = False
        self.compact_if_needed()

    def compact_if_needed(self) -> bool:
        """Compact the live generation (as a new one, same content) when its compaction debt
        passes a bound (:meth:`_in_debt`); :returns: whether it did."""
        if self.chain is not None:
            self.chain.wait_all()
        if self.path is None or not self._in_debt(_sst_files(self.path / self.generation), 0):
            return False
        self._commit(lambda staged: None, optimize=True)
        return True

    def needs_compaction(self, staged: StagedStore) -> bool:
        """Whether publishing ``staged`` should compact it (never while deferred)."""
        return not self._defer_compaction and self._needs_compaction(staged)

    def _needs_compaction(self, staged: StagedStore) -> bool:
        """Every write adds level-0 files (about one per index) that a read-only generation
        never compacts, and a bulk load leaves data unmerged: after one harvest the user-story
        queries ran 1.5x slower (115 against 75 ms on the bench store) until it was optimized,
        and optimizing 1.5M quads takes about 2.4 s."""
        assert self.path is not None
        return self._in_debt(_sst_files(self.path / staged.name), staged.bulk_quads)

    def _in_debt(self, files: int, more_quads: int) -> bool:
        """Whether the files added since the last compaction (or since this process found the
        store) pass :data:`COMPACT_AFTER_FILES`, or the quads bulk-loaded since then pass
        :data:`COMPACT_AFTER_QUADS`."""
        added = files - (self._compacted_files or 0)
        return added > COMPACT_AFTER_FILES or self._debt_quads + more_quads > COMPACT_AFTER_QUADS

    def publish(self, staged: StagedStore, *, optimize: bool = False) -> None:
        """Make a staged generation the live one, atomically (:meth:`seal`, then
        :meth:`publish_sealed`). The live generation is open read-only, in this process as in
        any other, so nothing ever writes to it again."""
        self.publish_sealed(self.seal(staged, optimize=optimize))

    def seal(self, staged: StagedStore, *, optimize: bool = False) -> Sealed:
        """Close a stage for writing (compacting it when ``optimize``) and open it read-only:
        its content is final, and the next :meth:`stage` copies it, though it is not live yet."""
        assert self.path is not None
        with map_store_errors("cannot seal the new generation"):
            staged.close(optimize=optimize)  # no writer will ever touch it again
            if optimize:
                self._compacted_files = _sst_files(self.path / staged.name)
                self._debt_quads = 0
            else:
                self._debt_quads += staged.bulk_quads
            sealed = Sealed(staged, ox.Store.read_only(str(self.path / staged.name)))
        with self._swap:
            self._tip = sealed
        return sealed

    def publish_sealed(self, sealed: Sealed) -> None:
        """Make a sealed generation the live one: the search index first, then the pointer."""
        assert self.path is not None
        try:
            self._publish_sealed(sealed)
        except BaseException:
            with self._swap:  # never the base of a stage: it did not go live
                if self._tip is sealed:
                    self._tip = None
            raise
        self.version += 1

    def _publish_sealed(self, sealed: Sealed) -> None:
        assert self.path is not None
        staged, live = sealed.staged, sealed.store
        with map_store_errors("cannot publish the new generation"):
            try:
                if self.publish_hook is not None:  # search index hook (harvester.search)
                    hook = self.publish_hook
                    hook.before_publish(staged.name, staged.graphs, live, staged.captured)
            finally:
                staged.release()
            markers = self._next_markers(live, staged.touched)
            _write_parts(self.path / staged.name, markers)
            _write_pointer(self.path, staged.name)
            previous = self.generation
            with self._swap:
                self._store, self.generation = live, staged.name
                if self._tip is sealed:
                    self._tip = None
                self._staging.discard(staged.name)
                keep = {staged.name, previous, *self._staging}
            (self.path / previous / _SUPERSEDED).touch()
            _remove_other_generations(self.path, keep=keep)

    def _next_markers(self, staged: ox.Store, touched: set[str]) -> dict[str, str]:
        """The live generation's part markers, with a new marker for each part ``touched``;
        every part gets one when the live generation has none (made before parts existed)."""
        assert self.path is not None
        markers = _read_parts(self.path / self.generation)
        if markers is None:
            touched = touched | {graph_part(str(g)) for g in staged.named_graphs()}
            markers = {}
        fresh = uuid.uuid4().hex
        return {**markers, **dict.fromkeys(touched, fresh)}

    def discard(self, staged: StagedStore) -> None:
        """Throw a staged generation away (the run failed)."""
        assert self.path is not None
        staged.close()
        staged.release()
        shutil.rmtree(self.path / staged.name, ignore_errors=True)
        with self._swap:
            self._staging.discard(staged.name)


@dataclass(frozen=True)
class Sealed:
    """A stage closed for writing and opened read-only, not yet live (:meth:`MeaStore.seal`)."""

    staged: StagedStore
    store: ox.Store


class StagedStore:
    """A generation being written; see :meth:`MeaStore.stage`."""

    def __init__(
        self,
        name: str,
        store: ox.Store,
        *,
        capture: Callable[[str, str], str | None] | None = None,
        spool: CaptureSpool | None = None,
    ) -> None:
        self.name = name
        self.store = store
        #: what the publish hook keeps of each graph written or dropped (``capture(graph,
        #: nquads text)``, None for a graph it never reads; in ``captured``, on disk), so it
        #: never reads the graphs back from a generation not yet compacted (see
        #: :mod:`harvester.store.capture`)
        self.capture = capture
        self.captured = spool
        #: quads written through the bulk loader (compaction debt, see MeaStore._in_debt)
        self.bulk_quads = 0
        #: the dump parts of the graphs written or dropped (:func:`graph_part`)
        self.touched: set[str] = set()
        #: every graph written or dropped (for the search index hook, harvester.search)
        self.graphs: set[str] = set()

    def apply(self, changes: ChangeSet) -> None:
        """Write a batch to the staged copy. No reader sees a stage, so it needs no transaction:
        the graphs it replaces or drops are removed by one SPARQL update, and the new triples go
        through pyoxigraph's bulk loader (about 3x faster than a transaction, memory bounded),
        then to disk at once, so RocksDB's write buffers do not grow with the run."""
        if not changes:
            return
        self.touched |= changes.parts()
        self.graphs.update(changes.replace, changes.drop)
        if self.capture is not None and self.captured is not None:
            self._capture(changes)
        with map_store_errors("cannot write to the staged generation"):
            existing = [g for g in changes.replace if _may_have_graph(self.store, g)]
            removals = list(_delete_operations(changes.drop, existing))
            if removals:
                self.store.update(";\n".join(removals))
            if any(changes.replace.values()):
                # bytes, not a reader: the loader parses them without the GIL, where a Python
                # reader takes it back for every 8 KB (a 100,000-quad batch loaded in 0.7 s
                # alone, 59 s beside one busy Python thread). Lenient: the lines were all
                # written by pyoxigraph's serialiser (ChangeSet), so IRIs need no re-checking.
                data = _nquads(changes)
                self.store.bulk_load(data, format=ox.RdfFormat.N_QUADS, lenient=True)
                del data
                self.bulk_quads += changes.quad_count
            self.store.flush()

    def _capture(self, changes: ChangeSet) -> None:
        """Keep what the hook needs of each graph written (nothing of one dropped)."""
        assert self.capture is not None and self.captured is not None
        for graph in changes.drop:
            self.captured.drop(graph)
        capture = self.capture
        kept = ((graph, capture(graph, text)) for graph, text in changes.replace.items())
        self.captured.put_many((graph, text) for graph, text in kept if text is not None)

    def close(self, *, optimize: bool = False) -> None:
        """Flush (and, after a large change, compact: queries ran 2-4x slower before) and
        close the writable handle; RocksDB finishes its background work on close."""
        with map_store_errors("cannot close the staged generation"):
            self.store.flush()
            if optimize:
                self.store.optimize()
        del self.store

    def release(self) -> None:
        """Free what was captured (after the publish hook ran, or when the stage is given up)."""
        if self.captured is not None:
            self.captured.close()


_POINTER = "GENERATION"
_SUPERSEDED = "SUPERSEDED"
#: Uncompacted files a generation may gather (about 11 a write: one per index) before a publish
#: compacts it.
COMPACT_AFTER_FILES = 40
#: Quads bulk-loaded (a large run's staged batches) since the last compaction, past which a
#: publish compacts: one staged batch (4 x 50,000 quads).
COMPACT_AFTER_QUADS = 200_000


#: in a generation's folder: the markers of its dump parts (JSON), written before it is published
PARTS_FILE = "PARTS.json"


def _read_parts(folder: Path) -> dict[str, str] | None:
    try:
        data = json.loads((folder / PARTS_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _write_parts(folder: Path, markers: dict[str, str]) -> None:
    """Written into the staged folder before the pointer names it, so a published generation
    always has the markers of its own content."""
    (folder / PARTS_FILE).write_text(json.dumps(markers, sort_keys=True), encoding="utf-8")


def open_snapshot(path: Path) -> Snapshot:
    """The live generation of the on-disk store at ``path``, opened read-only by a process that
    does not hold the store (the dumps written after ``meahub harvest`` exits).

    :raises StoreError: when the store has no generation or it cannot be opened.
    """
    folder = live_generation_dir(path)
    with map_store_errors(f"cannot open {folder}"):
        store = ox.Store.read_only(str(folder))
    state = f"{_store_id(path)}:{folder.name}"
    return Snapshot(store, state, folder.name, _read_parts(folder))


def _sst_files(folder: Path) -> int:
    return sum(1 for _ in folder.glob("*.sst"))


#: How long a superseded generation is kept for readers in other processes that still use it.
GENERATION_GRACE_SECONDS = 300.0


def query_store(
    store: ox.Store,
    sparql: str,
    *,
    default_graph: Sequence[str] | None = None,
    named_graphs: Sequence[str] | None = None,
    substitutions: dict[str, ox.NamedNode | ox.Literal] | None = None,
) -> QueryResult:
    """:meth:`MeaStore.query` over any pyoxigraph store (for example a read-only generation
    opened by a query worker process)."""
    kwargs: dict[str, Any] = {}
    if default_graph or named_graphs:  # the protocol's dataset replaces the query's, whole
        kwargs["default_graph"] = [_graph_term(g) for g in default_graph or ()]
        kwargs["named_graphs"] = [ox.NamedNode(g) for g in named_graphs or ()]
    elif not _declares_dataset(sparql):  # FROM / FROM NAMED in the query win over the union
        kwargs["use_default_graph_as_union"] = True
    if substitutions:
        kwargs["substitutions"] = {ox.Variable(k): v for k, v in substitutions.items()}
    with map_store_errors("query failed"):
        return store.query(sparql, **kwargs)


def _mentions_from(sparql: str) -> bool:
    """Whether ``FROM`` stands as a word anywhere (not in ``prov:wasDerivedFrom``); 8x faster
    than a case-insensitive regular expression with look-arounds, on every query."""
    upper = sparql.upper()
    at = upper.find("FROM")
    while at >= 0:
        before, after = upper[at - 1 : at] if at else "", upper[at + 4 : at + 5]
        if not _in_name(before) and not _in_name(after):
            return True
        at = upper.find("FROM", at + 4)
    return False


def _in_name(char: str) -> bool:
    return bool(char) and (char.isalnum() or char in "_:-.")


def _declares_dataset(sparql: str) -> bool:
    """True when the query has a ``FROM`` or ``FROM NAMED`` clause."""
    if not _mentions_from(sparql):  # the common case, without lexing
        return False
    from sparql.guard import declares_dataset  # late: the sparql package imports this module

    return declares_dataset(sparql)


def live_generation_dir(path: Path) -> Path:
    """The folder of the live generation of the store at ``path`` (read from ``GENERATION``),
    for readers in other processes; they open it with ``pyoxigraph.Store.read_only``.

    :raises StoreError: when the store has no published generation.
    """
    with map_store_errors(f"cannot read the live generation of {path}"):
        return path / (path / _POINTER).read_text(encoding="ascii").strip()


def _lock(path: Path) -> IO[bytes]:
    """One process at a time: an advisory lock beside the generations."""
    path.mkdir(parents=True, exist_ok=True)
    handle = open(path / "meahub.lock", "ab")  # held until close()
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as exc:
        handle.close()
        raise OSError(f"lock held on {path}") from exc
    return handle


def _live_generation(path: Path) -> str:
    pointer = path / _POINTER
    if pointer.exists():
        return pointer.read_text(encoding="ascii").strip()
    name = "gen-000001"
    empty = ox.Store(str(path / name))
    empty.flush()
    del empty
    _write_pointer(path, name)
    return name


def _store_id(path: Path) -> str:
    """A random id made when the store is created: state kept elsewhere can tell whether it
    still describes this store (or one deleted and made anew)."""
    marker = path / "STORE_ID"
    if not marker.exists():
        marker.write_text(uuid.uuid4().hex + "\n", encoding="ascii")
    return marker.read_text(encoding="ascii").strip()


def _next_generation(path: Path, staging: Iterable[str] = ()) -> str:
    names = itertools.chain((p.name for p in path.glob("gen-*")), staging)
    numbers = [int(name[4:]) for name in names if name[4:].isdigit()]
    return f"gen-{max(numbers, default=0) + 1:06d}"


def _write_pointer(path: Path, name: str) -> None:
    """Replace the pointer file atomically and durably (write, fsync, rename, fsync dir)."""
    temporary = path / (_POINTER + ".tmp")
    with open(temporary, "w", encoding="ascii") as out:
        out.write(name + "\n")
        out.flush()
        os.fsync(out.fileno())
    os.replace(temporary, path / _POINTER)
    directory = os.open(path, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


def _remove_other_generations(path: Path, keep: set[str]) -> None:
    """Remove orphaned stages, and superseded generations once no reader can still be on them
    (readers in other processes reopen when ``GENERATION`` changes)."""
    now = time.time()
    for folder in path.glob("gen-*"):
        # a stage being made is first written as ``<name>.tmp`` (RocksDB's checkpoint)
        if folder.name.removesuffix(".tmp") in keep or not folder.is_dir():
            continue
        marker = folder / _SUPERSEDED
        if marker.exists() and now - marker.stat().st_mtime < GENERATION_GRACE_SECONDS:
            continue
        log.info("removing store generation %s", folder)
        shutil.rmtree(folder, ignore_errors=True)


def _apply(store: ox.Store, changes: ChangeSet) -> None:
    """Replace and drop graphs in one transaction of ``store``.

    When every graph is new (a first harvest), the change is one transactional N-Quads
    ``load``: about 8x less memory and 3x faster than a SPARQL update of the same quads.
    Otherwise it is one SPARQL update (deletes and inserts together).
    """
    with map_store_errors("cannot write to the store"):
        if not changes.drop and not any(_may_have_graph(store, g) for g in changes.replace):
            store.load(_nquads(changes), format=ox.RdfFormat.N_QUADS)
        else:
            store.update(";\n".join(_update_operations(changes)))
    log.debug("applied %d graphs, %d dropped", len(changes.replace), len(changes.drop))


def _has_graph(store: ox.Store, graph: str) -> bool:
    node = ox.NamedNode(graph)
    return any(True for _ in store.quads_for_pattern(None, None, None, node))


def _may_have_graph(store: ox.Store, graph: str) -> bool:
    """Whether ``graph`` may hold quads that a write must remove first: a direct lookup of the
    graph's name, 4x cheaper than asking for its first quad. A graph emptied by an update keeps
    its name, so this may say yes for an empty graph (emptying it again is harmless)."""
    return store.contains_named_graph(ox.NamedNode(graph))


def _graph_term(graph: str) -> ox.NamedNode | ox.DefaultGraph:
    return ox.DefaultGraph() if graph == "" else ox.NamedNode(graph)


def _update_operations(changes: ChangeSet) -> Iterator[str]:
    """SPARQL Update operations for a change set; terms are written by pyoxigraph's serialiser.

    Harvested values reach the update text only through ``str(term)``, the N-Triples form that
    pyoxigraph produces with all quotes, backslashes and line breaks escaped.
    """
    replaced = sorted(changes.replace)
    yield from _delete_operations(changes.drop, replaced)
    yield from _insert_blocks(changes, replaced)


def _delete_operations(dropped: Iterable[str], replaced: Sequence[str]) -> Iterator[str]:
    """Operations that drop graphs, and empty the graphs about to be refilled."""
    for graph in sorted(dropped):
        yield f"DROP SILENT GRAPH {ox.NamedNode(graph)}"
    for start in range(0, len(replaced), 500):
        values = " ".join(str(ox.NamedNode(g)) for g in replaced[start : start + 500])
        yield (
            "DELETE { GRAPH ?g { ?s ?p ?o } } WHERE { VALUES ?g { "
            + values
            + " } GRAPH ?g { ?s ?p ?o } }"
        )


def nquads_text(quads: Iterable[ox.Quad], graph: str) -> str:
    """The quads' triples in ``graph``, as N-Quads lines. Every term is written by pyoxigraph's
    serialiser (quotes, backslashes and line breaks escaped), so a line break only ever ends a
    line and harvested text cannot break out of its literal."""
    tail = _line_tail(graph)
    return "".join(f"{q.subject} {q.predicate} {q.object}{tail}" for q in quads)


def _line_tail(graph: str) -> str:
    return f" {ox.NamedNode(graph)} .\n"


def _nquads(changes: ChangeSet) -> bytes:
    return "".join(changes.replace.values()).encode("utf-8")


def _insert_blocks(changes: ChangeSet, graphs: list[str]) -> Iterator[str]:
    block: list[str] = []
    size = 0
    for graph in graphs:
        triples = changes.triples(graph).replace("\n", " .\n")
        block.append(f"GRAPH {ox.NamedNode(graph)} {{\n{triples} .\n}}" if triples else "")
        size += len(triples)
        if size >= _INSERT_CHUNK_BYTES:
            yield "INSERT DATA {\n" + "\n".join(block) + "\n}"
            block, size = [], 0
    if block:
        yield "INSERT DATA {\n" + "\n".join(block) + "\n}"
