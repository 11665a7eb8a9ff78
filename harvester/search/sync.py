"""The index of a store object: opened once, hooked into the store's publishes, and rebuilt.

:func:`attach` gives a store its :class:`~harvester.search.index.SearchIndex` (once per store
object) and sets the store's ``publish_hook`` to a :class:`PublishHook`: the one place where
the store tells the index what a write changed, just before readers can see it (see
:mod:`harvester.search.index`). Only the embedded store has generations; a remote store has no
index (:func:`attach` returns None).
"""

from __future__ import annotations

import logging
import weakref
from collections.abc import Collection, Iterable, Mapping

import pyoxigraph as ox

from harvester.exceptions import SearchUnavailableError
from harvester.store.api import StoreBackend
from harvester.store.embedded import ChangeSet, MeaStore
from harvester.vocab import MEA

from .documents import INDEXED_PREDICATES
from .index import INFERRED_SUFFIX, GraphReader, SearchIndex, generation_number

__all__ = [
    "PublishHook",
    "attach",
    "reader_generation",
    "reindex",
    "search_enabled",
    "unavailable_reason",
]

log = logging.getLogger(__name__)

_INDEXES: weakref.WeakKeyDictionary[MeaStore, SearchIndex] = weakref.WeakKeyDictionary()
_DISABLED: weakref.WeakSet[MeaStore] = weakref.WeakSet()
_HARVEST_SOURCE = ox.NamedNode(MEA + "harvestSource")
#: an N-Quads line (as pyoxigraph writes them: one space between terms) whose predicate the
#: index reads; the subject is an IRI or a blank node, neither holds a space
#: `` <predicate> `` of each predicate the index reads, as pyoxigraph writes N-Quads lines
_NEEDLES = tuple(f" {ox.NamedNode(p)} " for p in sorted(INDEXED_PREDICATES))


class PublishHook:
    """What :class:`~harvester.store.embedded.MeaStore` calls before a write becomes visible."""

    def __init__(self, index: SearchIndex) -> None:
        self.index = index

    @staticmethod
    def capture(graph: str, text: str) -> str | None:
        """What the index needs of ``graph``, written to a stage as ``text``: nothing (None)
        when it cannot hold a record (:func:`_maybe_records`: the change feed's and the run
        history's graphs), else :meth:`indexed_lines`."""
        return PublishHook.indexed_lines(text) if _RECORD_GRAPHS in graph else None

    @staticmethod
    def indexed_lines(text: str) -> str:
        """The N-Quads lines of ``text`` with one of :data:`INDEXED_PREDICATES`, each once,
        in order. Found with ``str.find`` per predicate:
        half the time of one multi-line regular expression (0.41 against 0.79 s for 200,000
        lines in graphs of 100 lines). A literal that happens to contain the text of a
        predicate only adds a line the index ignores."""
        lines: dict[int, str] = {}
        for needle in _NEEDLES:
            at = text.find(needle)
            while at != -1:
                start = text.rfind("\n", 0, at) + 1
                end = text.find("\n", at)
                end = len(text) if end == -1 else end + 1
                lines[start] = text[start:end]
                at = text.find(needle, end)
        return "".join(lines[start] for start in sorted(lines))

    def before_publish(
        self,
        name: str,
        graphs: Collection[str],
        live: ox.Store,
        captured: Mapping[str, bytes] | None = None,
    ) -> None:
        """An on-disk generation ``name`` is about to go live; ``live`` is it, read-only;
        ``captured`` has :meth:`capture` of each graph written to it or dropped, UTF-8
        (:class:`~harvester.store.capture.CaptureSpool`); a graph it lacks was not touched
        and is read from ``live`` (reading a generation just bulk-loaded, not yet compacted,
        cost ~1.5 ms a graph)."""
        read = _store_reader(live)
        if captured:
            read = _captured_reader(captured, read)
        self._update(generation_number(name), _maybe_records(graphs), read)

    def before_apply(self, version: int, changes: ChangeSet, store: ox.Store) -> None:
        """An in-memory store is about to apply ``changes`` as its ``version``."""
        graphs = set(changes.replace) | changes.drop
        self._update(version, graphs, _change_reader(changes, store))

    def _update(self, generation: int, graphs: Collection[str], read: GraphReader) -> None:
        """A failing index must not fail the write: the index is then behind the store, so it
        answers nothing (and says to run ``meahub reindex``) instead of stale hits."""
        try:
            self.index.on_publish(generation, graphs, read)
        except Exception:
            log.exception("search index update failed for generation %d", generation)


def _maybe_records(graphs: Collection[str]) -> list[str]:
    """The graphs that may hold a harvested record: they are all minted as ``{base}graph/...``
    (the change feed's member, commit and state graphs are not, and a publish has as many of
    them as records: reading each cost about 0.8 s of a 2,000-decision harvest)."""
    return [graph for graph in graphs if _RECORD_GRAPHS in graph]


_RECORD_GRAPHS = "/graph/"


def _store_reader(store: ox.Store) -> GraphReader:
    def read(graph: str) -> list[ox.Quad]:
        return list(store.quads_for_pattern(None, None, None, ox.NamedNode(graph)))

    return read


def _captured_reader(captured: Mapping[str, bytes], otherwise: GraphReader) -> GraphReader:
    def read(graph: str) -> Iterable[ox.Quad]:
        data = captured.get(graph)
        if data is None:
            return otherwise(graph)
        if not data:
            return []
        return list(ox.parse(data, format=ox.RdfFormat.N_QUADS, lenient=True))

    return read


def _change_reader(changes: ChangeSet, store: ox.Store) -> GraphReader:
    """A graph as it will be once ``changes`` are applied to ``store``."""
    before = _store_reader(store)

    def read(graph: str) -> list[ox.Quad]:
        if graph in changes.replace:
            text = changes.replace[graph]
            return list(ox.parse(text.encode("utf-8"), format=ox.RdfFormat.N_QUADS))
        if graph in changes.drop:
            return []
        return list(before(graph))

    return read


def reader_generation(store: StoreBackend) -> int:
    """The generation a reader of ``store`` in this process sees now."""
    return generation_number(store.generation) if store.path is not None else store.version


def attach(store: StoreBackend, *, enabled: bool = True) -> SearchIndex | None:
    """The index of ``store``, opened and hooked into its writes on the first call; None for a
    store without generations (a remote one), or one whose owner turned search off
    (``enabled=False``, from ``[search] enabled = false``: no index is opened or kept, and
    later calls for that store object answer None too)."""
    if not isinstance(store, MeaStore):
        return None
    if not enabled:
        _DISABLED.add(store)
    if store in _DISABLED:
        return None
    index = _INDEXES.get(store)
    if index is None:
        index = SearchIndex(store.path, store.store_id)
        _prepare(index, store)
        store.publish_hook = PublishHook(index)
        _INDEXES[store] = index
    return index


def _prepare(index: SearchIndex, store: MeaStore) -> None:
    """Bring a newly opened index in line with the store, where that needs no rebuild."""
    generation = reader_generation(store)
    state = index.state()
    if store.path is None:  # an in-memory index starts with the store's content
        reindex(store, index)
        return
    if state is None:
        if not _record_graphs(store):
            index.start_empty(generation)
        else:
            log.warning("this store has no search index yet: run `meahub reindex`")
        return
    problem = index.problem(generation)
    if problem is not None:
        log.warning("search index unusable (%s): run `meahub reindex`", problem)
    elif state.synced > generation:  # a publish failed after the index was committed
        index.roll_back_to(generation)


def search_enabled(store: StoreBackend) -> bool:
    """Whether ``store`` can have an index: an embedded store whose owner did not turn search
    off (``[search] enabled = false``)."""
    return isinstance(store, MeaStore) and store not in _DISABLED


def unavailable_reason(store: StoreBackend) -> str:
    """Why :func:`attach` gives ``store`` no index."""
    if isinstance(store, MeaStore) and store in _DISABLED:
        return "full-text search is turned off here ([search] enabled = false)"
    return "full-text search needs the embedded store"


def _record_graphs(store: StoreBackend) -> list[str]:
    """The graphs that hold a harvested record (or a run description)."""
    rows = store.query(
        f"SELECT DISTINCT ?g WHERE {{ GRAPH ?g {{ ?record {_HARVEST_SOURCE} ?v }} }}"
    )
    graphs = [row[0].value for row in rows]  # type: ignore[union-attr]
    return sorted(g for g in graphs if not g.endswith(INFERRED_SUFFIX))


def reindex(store: StoreBackend, index: SearchIndex | None = None) -> int:
    """Rebuild the index of ``store`` from its live generation; returns the records indexed.

    :raises SearchUnavailableError: for a store without generations (a remote one).
    """
    index = index or attach(store)
    if index is None:
        raise SearchUnavailableError(unavailable_reason(store))
    graphs: Iterable[str] = _record_graphs(store)
    count = index.rebuild(reader_generation(store), graphs, store.graph_quads)
    log.info("search index: %d records indexed", count)
    return count
