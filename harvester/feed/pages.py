"""The feed read back from the store: the stream's state, and its pages of members.

Page ``n`` holds members ``(n - 1) * size + 1`` to ``n * size`` (the size is fixed by the
first commit and kept in the store, so page URLs never move). Every page but the newest is full
and final: its members and its relation to the next page never change again. The newest page
(possibly empty) changes with each commit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import pyoxigraph as ox

from ..store.api import StoreBackend
from .recorder import FeedState, commits, read_state
from .terms import (
    FEED_KIND,
    FEED_PAYLOAD,
    FEED_PREDICATES,
    FEED_RECORD,
    FeedTerms,
    decode_payload,
    value_of,
)

__all__ = ["FeedPage", "FeedReader", "Member", "feed_quads"]

_FEED_QUADS = """SELECT (COUNT(*) AS ?n) WHERE {
  VALUES ?p { %s }
  GRAPH ?g { ?s ?p ?o }
  FILTER(STRSTARTS(STR(?g), %s))
}"""


@dataclass(frozen=True)
class Member:
    """One version of one record: its number, the record, the time, the change kind
    (``Create``, ``Update``, ``Delete``) and, unless deleted, the record's triples."""

    number: int
    record: str
    time: datetime
    kind: str
    payload: tuple[ox.Triple, ...]


@dataclass(frozen=True)
class FeedPage:
    """A page: its number, its members, whether it is final (full: immutable), and the
    lowest time of the pages after it (None for the newest)."""

    number: int
    members: tuple[Member, ...]
    final: bool
    next_value: datetime | None


class FeedReader:
    """Reads the feed ``terms`` names from ``store``."""

    def __init__(self, store: StoreBackend, terms: FeedTerms, *, page_size: int = 250) -> None:
        self.store = store
        self.terms = terms
        self.page_size = page_size

    def state(self) -> FeedState:
        return read_state(self.store, self.terms, self.page_size)

    def newest_page(self, state: FeedState) -> int:
        return state.count // state.page_size + 1

    def first_page(self, state: FeedState) -> int:
        return (state.first_kept - 1) // state.page_size + 1

    def page(self, number: int, state: FeedState | None = None) -> FeedPage | None:
        """Page ``number``; None when it is past the newest page or dropped by retention."""
        state = state or self.state()
        newest = self.newest_page(state)
        if number < self.first_page(state) or number > newest:
            return None
        size = state.page_size
        first, last = (number - 1) * size + 1, min(number * size, state.count)
        times = _times(commits(self.store, self.terms))
        members = tuple(self._member(n, times) for n in range(first, last + 1))
        final = number < newest
        next_value = members[-1].time if final and members else None
        return FeedPage(number, members, final, next_value)

    def _member(self, number: int, times: list[tuple[int, datetime]]) -> Member:
        record = kind = payload = ""
        for quad in self.store.graph_quads(self.terms.member_graph(number)):
            predicate = quad.predicate.value
            if predicate == FEED_RECORD:
                record = value_of(quad.object)
            elif predicate == FEED_KIND:
                kind = value_of(quad.object)
            elif predicate == FEED_PAYLOAD:
                payload = decode_payload(quad.object)
        triples = tuple(
            t.triple if isinstance(t, ox.Quad) else t
            for t in ox.parse(payload.encode("utf-8"), format=ox.RdfFormat.N_QUADS)
        )
        return Member(number, record, _time_of(number, times), kind, triples)


def feed_quads(store: StoreBackend, terms: FeedTerms) -> int:
    """The quads of the feed's own graphs (not part of the dataset they describe). Counted per
    predicate of theirs (an index range each), not by scanning every graph of the store."""
    predicates = " ".join(str(ox.NamedNode(p)) for p in FEED_PREDICATES)
    # the prefix written by pyoxigraph's serialiser (escaped), from [server] base_iri
    prefix = str(ox.Literal(terms.feed_graph_prefix))
    rows = store.query(_FEED_QUADS % (predicates, prefix))
    assert isinstance(rows, ox.QuerySolutions)
    return sum(int(row["n"].value) for row in rows)


def _times(found: list[tuple[int, int, datetime]]) -> list[tuple[int, datetime]]:
    return [(first, time) for first, _, time in found]


def _time_of(number: int, times: list[tuple[int, datetime]]) -> datetime:
    """The time of the commit that wrote member ``number`` (the last commit starting at or
    before it)."""
    found = times[0][1]
    for first, time in times:
        if first > number:
            break
        found = time
    return found
