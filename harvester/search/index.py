"""The full-text index of a store, kept in step with its generations.

The store publishes immutable generations (:mod:`harvester.store.embedded`: stage, write, publish by
a pointer swap). The index follows them without ever being ahead of or behind what a reader sees:

- every document is one *version* of a record, valid from ``gen_from`` (the generation that
  committed it) up to, not including, ``gen_to`` (the one that replaced or deleted it; a
  current version's is :data:`~harvester.search.schema.OPEN`). A reader on generation ``G``
  searches ``gen_from <= G < gen_to`` only: exactly the records its generation has, in the
  form it has them, totals and facets included;
- the store calls :meth:`SearchIndex.on_publish` with the graphs a publish changed *before* it
  swaps the pointer: the new versions are added, the versions they replace re-added with their
  ``gen_to`` closed (a deletion closes the version and adds nothing), and the index committed
  (tantivy commits are atomic). So once a reader can see generation ``G``, the index already
  answers for it: no grace period;
- versions no reader can still be on (``gen_to`` at or below the oldest generation kept on disk)
  are deleted at the next publish;
- ``SEARCH.json`` beside the generations names the index folder, its format, the store it
  belongs to and ``synced``, the newest generation it has seen. An index that is missing, of
  another format or store, or behind the store (a program that did not keep it wrote the store)
  answers nothing (:class:`~harvester.exceptions.SearchUnavailableError`) until
  ``meahub reindex`` rebuilds it. A publish that failed after the index commit leaves versions
  of a generation that never went live: they are rolled back before that number is used again.

An in-memory store gets an in-memory index, numbered by the store's ``version``.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import shutil
import threading
import uuid
from collections.abc import Callable, Collection, Iterable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

import pyoxigraph as ox
import tantivy

from harvester.exceptions import SearchUnavailableError

from .analysis import register_analyzers
from .documents import RecordText, record_text
from .schema import FORMAT, OPEN, schema, text_field

__all__ = [
    "INFERRED_SUFFIX",
    "STATE_FILE",
    "GraphReader",
    "IndexState",
    "SearchIndex",
    "generation_number",
    "result_count",
]

log = logging.getLogger(__name__)

STATE_FILE = "SEARCH.json"
INFERRED_SUFFIX = "/inferred"
#: The writer's memory budget (tantivy flushes a segment when it is used up) and threads.
WRITER_HEAP = 48_000_000
WRITER_THREADS = 1
#: Records looked up (current versions) per query while a publish is indexed.
_LOOKUP_BATCH = 512

GraphReader = Callable[[str], Iterable[ox.Quad]]


def generation_number(name: str) -> int:
    """``gen-000012`` -> 12 (0 for the unnamed generation of an in-memory store)."""
    digits = name.rpartition("-")[2]
    return int(digits) if digits.isdigit() else 0


@dataclass(frozen=True)
class IndexState:
    """What ``SEARCH.json`` says (see the module docstring)."""

    format: int
    store_id: str
    directory: str
    synced: int

    def problem(self, store_id: str, generation: int) -> str | None:
        """Why this index cannot answer a reader on ``generation`` (None: it can)."""
        if self.format != FORMAT:
            return f"the search index is of format {self.format}, this version reads {FORMAT}"
        if self.store_id != store_id:
            return "the search index belongs to another store"
        if self.synced < generation:
            return (
                f"the search index has generations up to {self.synced}, the store is at "
                f"{generation} (written by a program that did not keep the index)"
            )
        return None


def read_state(store_path: Path) -> IndexState | None:
    try:
        data = json.loads((store_path / STATE_FILE).read_text(encoding="utf-8"))
        return IndexState(**data)
    except (OSError, ValueError, TypeError):
        return None


def _write_state(store_path: Path, state: IndexState) -> None:
    temporary = store_path / (STATE_FILE + ".tmp")
    with open(temporary, "w", encoding="utf-8") as out:
        json.dump(asdict(state), out)
        out.flush()
        os.fsync(out.fileno())
    os.replace(temporary, store_path / STATE_FILE)


def _store_id(store_path: Path) -> str:
    try:
        return (store_path / "STORE_ID").read_text(encoding="ascii").strip()
    except OSError:
        return ""


class SearchIndex:
    """The index of the store at ``store_path`` (in memory when None).

    :param store_id: the store's id (read from the store folder when not given).
    """

    def __init__(self, store_path: Path | None, store_id: str | None = None) -> None:
        self.store_path = store_path
        self.store_id = store_id if store_id is not None else _store_id(store_path or Path())
        self._lock = threading.RLock()
        self._index: tantivy.Index | None = None
        self._state: IndexState | None = None
        self._stamp: tuple[int, int] | None = None
        self._loaded = -1  # the generation the reader was last reloaded for
        if store_path is None:
            self._memory_state(synced=0)

    # -- opening ---------------------------------------------------------------------------

    def _memory_state(self, synced: int) -> None:
        self._index = _new_index(None)
        self._state = IndexState(FORMAT, self.store_id, "", synced)

    def state(self) -> IndexState | None:
        """The current ``SEARCH.json`` (re-read when it changed), or the in-memory state."""
        if self.store_path is None:
            return self._state
        with self._lock:
            stamp = _stamp(self.store_path / STATE_FILE)
            if stamp != self._stamp:
                state = read_state(self.store_path)
                if state is None or self._state is None or state.directory != self._state.directory:
                    self._index = None  # another folder: opened on the next use
                self._state, self._stamp = state, stamp
            return self._state

    def _open(self, state: IndexState) -> tantivy.Index:
        if self._index is None:
            assert self.store_path is not None
            try:
                self._index = tantivy.Index.open(str(self.store_path / state.directory))
            except (OSError, ValueError) as exc:
                raise SearchUnavailableError(f"the search index cannot be opened: {exc}") from exc
            register_analyzers(self._index)
            self._loaded = -1
        return self._index

    def problem(self, generation: int) -> str | None:
        """Why the index cannot answer for ``generation``; None when it can."""
        state = self.state()
        if state is None:
            return "there is no search index for this store yet"
        return state.problem(self.store_id, generation)

    # -- reading ---------------------------------------------------------------------------

    def searcher(self, generation: int) -> tantivy.Searcher:
        """A searcher that has every version of ``generation`` (reloaded when needed).

        :raises SearchUnavailableError: when the index cannot answer (see :meth:`problem`).
        """
        with self._lock:
            problem = self.problem(generation)
            if problem is not None:
                raise SearchUnavailableError(problem + "; run `meahub reindex`.")
            state = self.state()
            assert state is not None
            index = self._open(state)
            if self._loaded < generation or self._loaded > state.synced:
                index.reload()
                self._loaded = state.synced
            return index.searcher()

    # -- writing: one publish --------------------------------------------------------------

    def on_publish(self, generation: int, graphs: Collection[str], read: GraphReader) -> None:
        """Index what a publish of ``generation`` changed, before it becomes visible.

        :param graphs: the graphs the publish replaced or dropped.
        :param read: the quads of a graph in the generation being published (none if absent).
        """
        with self._lock:
            state = self.state()
            live = self._live_before(generation)
            if state is None or state.problem(self.store_id, live) is not None:
                log.warning(
                    "search index not updated for generation %d: %s; run `meahub reindex`",
                    generation,
                    self.problem(live),
                )
                return
            index = self._open(state)
            if state.synced >= generation:
                self._roll_back(index, generation)
            records = sorted({g.removesuffix(INFERRED_SUFFIX) for g in graphs})
            changed = _apply_versions(index, generation, records, read, self._oldest(generation))
            self._synced(state, generation)
            index.reload()
            self._loaded = generation
            log.debug("search index: %d of %d records changed", changed, len(records))

    def _live_before(self, generation: int) -> int:
        """The live generation while ``generation`` is being published (the pointer still
        names it)."""
        if self.store_path is None:
            return generation - 1
        try:
            name = (self.store_path / "GENERATION").read_text(encoding="ascii").strip()
        except OSError:
            return generation - 1
        return generation_number(name)

    def _oldest(self, generation: int) -> int:
        """The oldest generation a reader may still be on (versions closed at or before it
        are garbage)."""
        if self.store_path is None:
            return generation - 1
        numbers = [generation_number(p.name) for p in self.store_path.glob("gen-*")]
        return min((n for n in numbers if n), default=generation - 1)

    def _synced(self, state: IndexState, generation: int) -> None:
        new = IndexState(state.format, state.store_id, state.directory, generation)
        if self.store_path is not None:
            _write_state(self.store_path, new)
            self._stamp = _stamp(self.store_path / STATE_FILE)
        self._state = new

    def roll_back_to(self, generation: int) -> None:
        """Forget every generation after ``generation`` (the store's live one)."""
        with self._lock:
            state = self.state()
            if state is None or state.synced <= generation:
                return
            self._roll_back(self._open(state), generation + 1)
            self._synced(state, generation)

    def _roll_back(self, index: tantivy.Index, generation: int) -> None:
        """Undo what the index holds of ``generation`` and later (a publish that failed after
        the index was committed): their versions go, the versions they closed reopen."""
        log.warning("search index: rolling back generations from %d", generation)
        index.reload()
        searcher = index.searcher()
        closed = _range(index, "gen_to", generation, OPEN - 1)
        reopened = [searcher.doc(address) for address in _addresses(searcher, closed)]
        with _writer(index) as writer:
            writer.delete_documents_by_query(_range(index, "gen_from", generation, OPEN))
            for doc in reopened:
                _reopen(writer, doc)
        index.reload()

    # -- writing: everything ---------------------------------------------------------------

    def rebuild(self, generation: int, graphs: Iterable[str], read: GraphReader) -> int:
        """Index every record of ``generation`` anew (``meahub reindex``), in a new folder that
        replaces the old one once complete. Returns the number of records indexed.

        :param graphs: every graph of the generation that may hold a record.
        """
        with self._lock:
            directory = f"search-{uuid.uuid4().hex[:12]}"
            target = None if self.store_path is None else self.store_path / directory
            index = _new_index(target)
            count = 0
            with _writer(index) as writer:
                for graph in graphs:
                    record = _read_record(graph, read)
                    if record is not None:
                        writer.add_document(_document(record, generation))
                        count += 1
            self._replace(index, directory, generation)
            return count

    def _replace(self, index: tantivy.Index, directory: str, generation: int) -> None:
        previous = self._state.directory if self._state is not None else ""
        self._index = index
        state = IndexState(FORMAT, self.store_id, directory, generation)
        if self.store_path is not None:
            _write_state(self.store_path, state)
            self._stamp = _stamp(self.store_path / STATE_FILE)
            for old in self.store_path.glob("search-*"):
                if old.name != directory:
                    shutil.rmtree(old, ignore_errors=True)
            log.info("search index rebuilt in %s (was %s)", directory, previous or "none")
        self._state = state
        index.reload()
        self._loaded = generation

    def start_empty(self, generation: int) -> None:
        """Create an empty index for a store that has no records yet."""
        self.rebuild(generation, (), lambda graph: ())


# -- helpers ---------------------------------------------------------------------------------


def _new_index(directory: Path | None) -> tantivy.Index:
    if directory is not None:
        directory.mkdir(parents=True, exist_ok=False)
    index = tantivy.Index(schema(), path=None if directory is None else str(directory))
    register_analyzers(index)
    return index


def _stamp(path: Path) -> tuple[int, int] | None:
    try:
        status = os.stat(path)
    except OSError:
        return None
    return status.st_ino, status.st_mtime_ns


@contextlib.contextmanager
def _writer(index: tantivy.Index) -> Iterator[tantivy.IndexWriter]:
    """A writer for one batch of changes, committed at the end (rolled back on an error); made
    anew each time, so no process keeps the index's write lock between publishes."""
    writer = index.writer(WRITER_HEAP, WRITER_THREADS)
    try:
        yield writer
    except BaseException:
        writer.rollback()
        raise
    writer.commit()
    writer.wait_merging_threads()


def _range(index: tantivy.Index, field: str, low: int, high: int) -> tantivy.Query:
    return tantivy.Query.range_query(
        index.schema, field, tantivy.FieldType.Unsigned, low, high, True, True
    )


def _addresses(searcher: tantivy.Searcher, query: tantivy.Query) -> list[tantivy.DocAddress]:
    count = result_count(searcher.search(query, limit=1))
    if count == 0:
        return []
    return [address for _, address in searcher.search(query, limit=count).hits]


def result_count(result: tantivy.SearchResult) -> int:
    """The number of matches of a search run with ``count=True`` (the default)."""
    return int(getattr(result, "count", 0) or 0)


def _read_record(graph: str, read: GraphReader) -> RecordText | None:
    return record_text(graph, read(graph), read(graph + INFERRED_SUFFIX))


def _apply_versions(
    index: tantivy.Index,
    generation: int,
    graphs: list[str],
    read: GraphReader,
    oldest: int,
) -> int:
    """Add the new versions of ``graphs`` at ``generation``, close the ones they replace, drop
    garbage; one commit. Returns how many records changed."""
    changed = 0
    searcher = index.searcher()
    with _writer(index) as writer:
        for start in range(0, len(graphs), _LOOKUP_BATCH):
            batch = graphs[start : start + _LOOKUP_BATCH]
            current = _current_versions(index, searcher, batch)
            for graph in batch:
                changed += _apply_version(writer, generation, graph, read, current.get(graph))
        if oldest > 0:
            writer.delete_documents_by_query(_range(index, "gen_to", 0, oldest))
    return changed


def _apply_version(
    writer: tantivy.IndexWriter,
    generation: int,
    graph: str,
    read: GraphReader,
    current: tantivy.Document | None,
) -> int:
    record = _read_record(graph, read)
    new = None if record is None else _document(record, generation)
    if current is not None and new is not None and _digest_of(current) == _digest_of(new):
        return 0  # touched, but what the index keeps of it is the same
    if current is None and new is None:
        return 0
    if current is not None:
        _close(writer, current, generation)
    if new is not None:
        writer.add_document(new)
    return 1


def _current_versions(
    index: tantivy.Index, searcher: tantivy.Searcher, graphs: list[str]
) -> dict[str, tantivy.Document]:
    """The current (open) version of each of ``graphs`` that has one."""
    query = tantivy.Query.boolean_query(
        [
            (tantivy.Occur.Must, tantivy.Query.term_set_query(index.schema, "graph", graphs)),
            (tantivy.Occur.Must, _range(index, "gen_to", OPEN, OPEN)),
        ]
    )
    found: dict[str, tantivy.Document] = {}
    for _, address in searcher.search(query, limit=len(graphs)).hits:
        doc = searcher.doc(address)
        found[str(doc.get_first("graph"))] = doc
    return found


def _close(writer: tantivy.IndexWriter, doc: tantivy.Document, generation: int) -> None:
    """Replace the open version ``doc`` by the same version valid until ``generation``."""
    data = doc.to_dict()
    writer.delete_documents_by_term("key", str(doc.get_first("key")))
    data["gen_to"] = [generation]
    writer.add_document(tantivy.Document.from_dict(data, schema()))


def _reopen(writer: tantivy.IndexWriter, doc: tantivy.Document) -> None:
    data = doc.to_dict()
    writer.delete_documents_by_term("key", str(doc.get_first("key")))
    data["gen_to"] = [OPEN]
    writer.add_document(tantivy.Document.from_dict(data, schema()))


def _document(record: RecordText, generation: int) -> tantivy.Document:
    doc = tantivy.Document()
    doc.add_text("key", f"{record.graph}@{generation}")
    doc.add_text("graph", record.graph)
    doc.add_text("iri", record.iri)
    doc.add_unsigned("gen_from", generation)
    doc.add_unsigned("gen_to", OPEN)
    if record.type:
        doc.add_text("type", record.type)
    for treaty in record.treaties:
        doc.add_text("treaty", treaty)
    if record.year is not None:
        doc.add_integer("year", record.year)
    for target in record.aichi:
        doc.add_text("aichi", target)
    doc.add_bytes("titles", json.dumps(record.titles, ensure_ascii=False).encode("utf-8"))
    for (kind, bucket), texts in sorted(record.texts.items()):
        for text in texts:
            doc.add_text(text_field(kind, bucket), text)
    return doc


def _digest_of(doc: tantivy.Document) -> bytes:
    """What a version holds, without the fields that only say which version it is."""
    data = {k: v for k, v in doc.to_dict().items() if k not in ("key", "gen_from", "gen_to")}
    text = json.dumps(data, sort_keys=True, default=_bytes_text, ensure_ascii=False)
    return hashlib.blake2b(text.encode("utf-8"), digest_size=16).digest()


def _bytes_text(value: object) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    raise TypeError(type(value).__name__)
