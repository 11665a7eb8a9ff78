"""Members written in the same commit as the changes they record.

:func:`attach` sets ``store.change_hook``; every :class:`~harvester.store.writer.ChangeWriter`
over that store (a harvest, ``meahub remap``, ``meahub link``) then asks it for a
:class:`CommitRecorder`, which sees each batch of changes before it is written
(:meth:`CommitRecorder.batch`) and adds to that very batch one member graph per record the
batch creates, updates or deletes. The last batch also gets the commit's graph (its members'
time) and the feed's state (the member counter, the last time), so a commit that is never
published leaves no member, and no change is published without its member.

A record is its graph ``{base}graph/<source>/<entity>/<id>`` with its ``/inferred`` graph: one
member per record per commit, whichever of the two changed. Create or update is told by the
live store (the generation the commit replaces): a record graph it has is updated.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

import pyoxigraph as ox

from ..settings import Settings
from ..store.api import StoreBackend
from ..store.embedded import ChangeSet
from ..vocab import MEA, PROV, XSD
from .terms import (
    FEED_COUNT,
    FEED_FIRST,
    FEED_FIRST_KEPT,
    FEED_KIND,
    FEED_LAST,
    FEED_PAGE_SIZE,
    FEED_PAYLOAD,
    FEED_RECORD,
    FEED_RETENTION,
    FEED_TIME,
    FeedTerms,
    encode_payload,
    record_of_graph,
    value_of,
)

__all__ = [
    "CommitRecorder",
    "FeedHook",
    "FeedState",
    "Retention",
    "attach",
    "attach_feed",
    "read_state",
]

log = logging.getLogger(__name__)

_HARVEST_SOURCE = f"<{MEA}harvestSource>"
_HARVEST_SOURCE_AFTER = f" {_HARVEST_SOURCE} "
_RECORD, _KIND, _PAYLOAD = (str(ox.NamedNode(p)) for p in (FEED_RECORD, FEED_KIND, FEED_PAYLOAD))
_INFERRED = "/inferred"
_GENERATED_BY = f" <{PROV}wasGeneratedBy> "


@dataclass(frozen=True)
class Retention:
    """How much of the feed is kept: members of the last ``days``, or the last ``count``
    members (None: everything). Whole pages only are dropped, so page URLs stay stable."""

    days: float | None = None
    count: int | None = None

    def describe(self) -> str:
        if self.days is not None:
            return f"{self.days:g}d"
        return f"{self.count}" if self.count is not None else "none"


@dataclass
class FeedState:
    """What the feed's state graph holds: members so far, the last member's time, the page
    size the pages were cut with (fixed at the first commit), the first member kept."""

    count: int = 0
    time: datetime | None = None
    page_size: int = 250
    first_kept: int = 1
    #: the retention policy the last commit applied (:meth:`Retention.describe`)
    retention: str = "none"


def read_state(store: StoreBackend, terms: FeedTerms, page_size: int) -> FeedState:
    """The feed's state as the live store has it (a fresh state when there is none)."""
    state = FeedState(page_size=page_size)
    for quad in store.graph_quads(terms.state_graph):
        predicate, value = quad.predicate.value, value_of(quad.object)
        if predicate == FEED_COUNT:
            state.count = int(value)
        elif predicate == FEED_TIME:
            state.time = datetime.fromisoformat(value)
        elif predicate == FEED_PAGE_SIZE:
            state.page_size = int(value)
        elif predicate == FEED_FIRST_KEPT:
            state.first_kept = int(value)
        elif predicate == FEED_RETENTION:
            state.retention = value
    return state


@dataclass
class FeedHook:
    """The store's ``change_hook``: makes a recorder for each writer."""

    terms: FeedTerms
    page_size: int = 250
    retention: Retention = field(default_factory=Retention)
    #: in a command's chain of commits (harvester.store.commits), the state the last commit
    #: closed, which may not have landed yet: the next commit numbers its members after it
    closed: tuple[object, FeedState] | None = None

    def __call__(self, store: StoreBackend) -> CommitRecorder:
        return CommitRecorder(store, self)

    def state_for(self, store: StoreBackend) -> FeedState:
        """The state the next commit starts from: what the last commit of the store's chain
        closed, else what the live store has."""
        chain = getattr(store, "chain", None)
        if chain is not None and self.closed is not None and self.closed[0] is chain:
            return replace(self.closed[1])
        return read_state(store, self.terms, self.page_size)

    def close(self, store: StoreBackend, state: FeedState) -> None:
        chain = getattr(store, "chain", None)
        self.closed = None if chain is None else (chain, replace(state))


def attach_feed(store: StoreBackend, settings: Settings) -> FeedHook | None:
    """The feed ``[feed]`` configures, attached to ``store`` (None when disabled)."""
    feed = settings.feed
    if not feed.enabled:
        return None
    retention = Retention(days=feed.retention_days, count=feed.retention_count)
    return attach(store, settings.server.base_iri, page_size=feed.page_size, retention=retention)


def attach(
    store: StoreBackend,
    base_iri: str,
    *,
    page_size: int = 250,
    retention: Retention | None = None,
) -> FeedHook:
    """Record a feed of every change written to ``store`` through a ``ChangeWriter``."""
    hook = FeedHook(FeedTerms(base_iri), page_size, retention or Retention())
    store.change_hook = hook  # type: ignore[attr-defined]
    return hook


@dataclass
class _Record:
    """A record touched by one batch: its graph's new text (None: not in this batch), whether
    it was dropped, and the same for its inferred graph."""

    graph: str
    text: str | None = None
    dropped: bool = False
    inferred: str | None = None
    inferred_dropped: bool = False


class CommitRecorder:
    """The members of one commit (one :class:`ChangeWriter`): numbers from the stored
    counter on, the commit's time given to them all by its last batch."""

    def __init__(self, store: StoreBackend, hook: FeedHook) -> None:
        self.store = store
        self.terms = hook.terms
        self.hook = hook
        self.state: FeedState | None = None
        self.first = 0
        self.next = 0
        #: record graphs given a member in this commit (a record split over two batches)
        self.done: set[str] = set()

    # -- the writer's side -------------------------------------------------------------------

    def batch(self, changes: ChangeSet, *, final: bool) -> ChangeSet | None:
        """Add the members of the records ``changes`` touches to ``changes``. Unless ``final``,
        the last record written is carried over to the next batch (returned), as its
        ``/inferred`` graph may follow; on the final batch, the commit and the state too."""
        carry = None if final else self._carry(changes)
        for record in self._records(changes):
            self._member(changes, record)
        if final:
            self._close(changes)
        return carry

    def _carry(self, changes: ChangeSet) -> ChangeSet | None:
        if not changes.replace:
            return None
        last = next(reversed(changes.replace))
        record = record_of_graph(last, self.terms.graph_prefix)
        if record is None:
            return None
        carry = ChangeSet()
        for graph in (record, record + _INFERRED):
            if graph in changes.replace:
                text = changes.replace.pop(graph)
                carry.put_nquads(graph, text, text.count("\n"))
        return carry

    def _records(self, changes: ChangeSet) -> Iterable[_Record]:
        found: dict[str, _Record] = {}
        prefix = self.terms.graph_prefix
        for graph, text in changes.replace.items():
            key = record_of_graph(graph, prefix)
            if key is None:
                continue
            record = found.setdefault(key, _Record(key))
            if graph == key:
                record.text = text
            else:
                record.inferred = text
        for graph in sorted(changes.drop):
            key = record_of_graph(graph, prefix)
            if key is None:
                continue
            record = found.setdefault(key, _Record(key))
            if graph == key:
                record.dropped = True
            else:
                record.inferred_dropped = True
        return found.values()

    # -- one member --------------------------------------------------------------------------

    def _member(self, changes: ChangeSet, record: _Record) -> None:
        if record.graph in self.done:
            if not record.dropped:  # an inferred graph split from its record: one member
                log.debug("feed: %s already has a member in this commit", record.graph)
            return
        existed = self.store.has_graph(record.graph)
        if record.dropped:
            if not existed:
                return  # never published: nothing to tell
            kind, iri, payload = "Delete", self._stored_iri(record.graph), ""
        else:
            kind = "Update" if existed else "Create"
            payload = self._payload(record)
            if existed and _same(payload, self._stored_payload(record.graph)):
                return  # written again as it was (a remap): no change to tell
            iri = _record_iri(payload)
        if iri is None:
            log.warning("feed: no record (mea:harvestSource) in %s; no member", record.graph)
            return
        self.done.add(record.graph)
        number = self._number()
        graph = self.terms.member_graph(number)
        # written as N-Quads text at once (every term by pyoxigraph's serialiser): the member
        # is written for every record a harvest changes, so it is kept cheap
        member, tail = ox.NamedNode(self.terms.member(number)), _line_tail(graph)
        lines = [
            f"{member} {_RECORD} {ox.NamedNode(iri)}{tail}",
            f"{member} {_KIND} {ox.Literal(kind)}{tail}",
        ]
        if payload:
            lines.append(f"{member} {_PAYLOAD} {encode_payload(payload)}{tail}")
        changes.put_nquads(graph, "".join(lines), len(lines))

    def _payload(self, record: _Record) -> str:
        """The record's triples as committed (its graph and its inferred graph): N-Quads lines
        as written (the graph names are ignored when read back) and N-Triples lines of the
        graph not in this batch, read from the store."""
        main = record.text if record.text is not None else self._stored(record.graph)
        if record.inferred_dropped:
            inferred = ""
        elif record.inferred is not None:
            inferred = record.inferred
        else:
            inferred = self._stored(record.graph + _INFERRED)
        return main + inferred

    def _stored(self, graph: str) -> str:
        return "".join(
            f"{q.subject} {q.predicate} {q.object} .\n" for q in self.store.graph_quads(graph)
        )

    def _stored_payload(self, graph: str) -> str:
        return self._stored(graph) + self._stored(graph + _INFERRED)

    def _stored_iri(self, graph: str) -> str | None:
        return _record_iri(self._stored(graph))

    def _number(self) -> int:
        if self.state is None:
            self.state = self.hook.state_for(self.store)
            self.first = self.next = self.state.count + 1
        number = self.next
        self.next += 1
        return number

    # -- the commit --------------------------------------------------------------------------

    def _close(self, changes: ChangeSet) -> None:
        """The commit's time (never before the last one), its graph, the state; retention."""
        if self.state is None or self.next == self.first:
            return
        state = self.state
        now = datetime.now(UTC)
        if state.time is not None and now <= state.time:
            now = state.time + timedelta(microseconds=1)
        last = self.next - 1
        commit = ox.NamedNode(self.terms.commit_graph(self.first))
        changes.put_graph(
            commit.value,
            [
                ox.Quad(commit, ox.NamedNode(FEED_FIRST), _int(self.first)),
                ox.Quad(commit, ox.NamedNode(FEED_LAST), _int(last)),
                ox.Quad(commit, ox.NamedNode(PROV + "generatedAtTime"), _time(now)),
            ],
        )
        state.count, state.time = last, now
        state.retention = self.hook.retention.describe()
        self._retain(changes, state, now)
        self.hook.close(self.store, state)
        stream = ox.NamedNode(self.terms.stream)
        changes.put_graph(
            self.terms.state_graph,
            [
                ox.Quad(stream, ox.NamedNode(FEED_COUNT), _int(state.count)),
                ox.Quad(stream, ox.NamedNode(FEED_TIME), _time(now)),
                ox.Quad(stream, ox.NamedNode(FEED_PAGE_SIZE), _int(state.page_size)),
                ox.Quad(stream, ox.NamedNode(FEED_FIRST_KEPT), _int(state.first_kept)),
                ox.Quad(stream, ox.NamedNode(FEED_RETENTION), ox.Literal(state.retention)),
            ],
        )

    def _retain(self, changes: ChangeSet, state: FeedState, now: datetime) -> None:
        """Drop the whole pages the retention policy no longer keeps (never the newest)."""
        retention, size = self.hook.retention, state.page_size
        newest_page = state.count // size + 1
        keep_from = state.first_kept
        if retention.count is not None:
            keep_from = max(keep_from, state.count - retention.count + 1)
        if retention.days is not None:
            cutoff = now - timedelta(days=retention.days)
            for _, last, time in commits(self.store, self.terms):
                if time < cutoff:
                    keep_from = max(keep_from, last + 1)
        page = min((keep_from - 1) // size + 1, newest_page)
        keep_from = (page - 1) * size + 1
        if keep_from <= state.first_kept:
            return
        for number in range(state.first_kept, keep_from):
            changes.drop_graph(self.terms.member_graph(number))
        for first, last, _ in commits(self.store, self.terms):
            if last < keep_from:
                changes.drop_graph(self.terms.commit_graph(first))
        state.first_kept = keep_from


def commits(store: StoreBackend, terms: FeedTerms) -> list[tuple[int, int, datetime]]:
    """Every commit the feed keeps: its first and last member, its time; in order."""
    found = []
    query = (
        f"SELECT ?first ?last ?time WHERE {{ GRAPH ?g {{ ?c <{FEED_FIRST}> ?first ; "
        f"<{FEED_LAST}> ?last ; <{PROV}generatedAtTime> ?time }} }}"
    )
    for row in store.query(query):  # type: ignore[union-attr]
        first, last, time = (row[i].value for i in range(3))
        found.append((int(first), int(last), datetime.fromisoformat(time)))
    return sorted(found)


def _record_iri(ntriples: str) -> str | None:
    """The subject of the record's ``mea:harvestSource`` triple (found with ``str.find``; a
    literal holding the predicate's text is passed over: its line does not start with the
    match's subject)."""
    at = ntriples.find(_HARVEST_SOURCE_AFTER)
    while at != -1:
        subject = ntriples[ntriples.rfind("\n", 0, at) + 1 : at]
        if subject.startswith("<") and subject.endswith(">") and " " not in subject:
            return subject[1:-1]
        at = ntriples.find(_HARVEST_SOURCE_AFTER, at + 1)
    return None


def _line_tail(graph: str) -> str:
    return f" {ox.NamedNode(graph)} .\n"


def _same(written: str, stored: str) -> bool:
    """Whether a record's new triples are its stored ones (the store keeps literals in
    canonical form, ``"0.550"^^xsd:decimal`` as ``"0.55"``: compare what it would keep)."""
    store = ox.Store()
    store.load(written.encode("utf-8"), format=ox.RdfFormat.N_QUADS)
    kept = {f"{q.subject} {q.predicate} {q.object} ." for q in store}
    return _content(kept) == _content(stored.splitlines())


def _content(lines: Iterable[str]) -> set[str]:
    """A record's lines but the link to the run that wrote it (a new run, same record)."""
    return {line for line in lines if _GENERATED_BY not in line}


def _int(value: int) -> ox.Literal:
    return ox.Literal(str(value), datatype=ox.NamedNode(XSD + "integer"))


def _time(value: datetime) -> ox.Literal:
    return ox.Literal(value.isoformat(), datatype=ox.NamedNode(XSD + "dateTime"))
