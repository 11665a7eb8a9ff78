"""How the pages read the store: bound queries, rows as plain values, labels in one query, and
a cache that lives as long as one store generation.

Every value a query depends on is bound, never spliced: one-row bindings go through
:func:`harvester.store.remote.bind_values` (a ``VALUES`` block written by pyoxigraph's own term
serialiser, which works on every backend), many-row bindings through :func:`values_block` (the
same serialiser). A harvested string never becomes query text.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import pyoxigraph as ox

from harvester.exceptions import StoreError
from harvester.store.api import StoreBackend
from harvester.store.remote import bind_values

__all__ = [
    "GenerationCache",
    "Reader",
    "Row",
    "Term",
    "integer",
    "labels",
    "preferred_labels",
    "literal_text",
    "values_block",
]

log = logging.getLogger(__name__)

Term = ox.NamedNode | ox.BlankNode | ox.Literal
Row = dict[str, Term]
T = TypeVar("T")

_XSD_INTEGER = ox.NamedNode("http://www.w3.org/2001/XMLSchema#integer")


def integer(value: int) -> ox.Literal:
    """An ``xsd:integer`` literal, to bind."""
    return ox.Literal(str(int(value)), datatype=_XSD_INTEGER)


def values_block(variable: str, terms: Iterable[ox.NamedNode | ox.Literal]) -> str:
    """``VALUES ?variable { <a> <b> ... }``, every term written by pyoxigraph (so escaped)."""
    if not variable.isidentifier():
        raise ValueError(f"not a variable name: {variable!r}")
    written = " ".join(dict.fromkeys(str(term) for term in terms))
    return f"VALUES ?{variable} {{ {written} }}"


def literal_text(term: Term | None) -> str | None:
    """The lexical value of a term (its IRI for an IRI), or None."""
    return None if term is None else term.value


@dataclass(frozen=True)
class Reader:
    """Runs the pages' SELECT queries over ``store``, ``timeout`` seconds at most where the
    backend can stop a query (a remote store)."""

    store: StoreBackend
    timeout: float | None = None

    def select(
        self, sparql: str, bindings: Mapping[str, ox.NamedNode | ox.Literal] | None = None
    ) -> list[Row]:
        """The rows of a SELECT, unbound variables left out of each row.

        :raises StoreError: when the store cannot answer.
        """
        text = bind_values(sparql, dict(bindings)) if bindings else sparql
        answer = self.store.query(text, timeout=self.timeout)
        if not isinstance(answer, ox.QuerySolutions):
            raise StoreError("a page query did not answer with solutions")
        names = list(enumerate(v.value for v in answer.variables))
        rows: list[Row] = []
        for solution in answer:
            row: Row = {}
            for index, name in names:
                value = solution[index]
                if value is not None and not isinstance(value, ox.Triple):
                    row[name] = value
            rows.append(row)
        return rows

    def select_values(
        self,
        sparql: str,
        variable: str,
        terms: Sequence[ox.NamedNode | ox.Literal],
        *,
        chunk: int = 2000,
    ) -> list[Row]:
        """A SELECT whose ``{values}`` placeholder is replaced by a ``VALUES`` block of ``terms``
        (no rows when there are none), ``chunk`` terms per query; the query text is ours, only
        the block is built."""
        rows: list[Row] = []
        unique = list(dict.fromkeys(terms))
        for start in range(0, len(unique), chunk):
            block = values_block(variable, unique[start : start + chunk])
            rows.extend(self.select(sparql.replace("{values}", block)))
        return rows


class GenerationCache:
    """Values computed from the store, kept while the store's version is the same.

    ``version`` returns the store's version tag (see :class:`sparql.caching.StoreVersion`); when
    it changes, everything cached is dropped. At most ``size`` keys are kept (least recently used
    go first). Misses are single-flight: concurrent requests for the same missing key at one
    version compute it once, the others wait for that computation (and get its value, or its
    exception).
    """

    def __init__(self, version: Callable[[], str], size: int = 64) -> None:
        self.version = version
        self.size = size
        self._tag = ""
        self._values: OrderedDict[tuple[Any, ...], Any] = OrderedDict()
        self._flights: dict[tuple[str, tuple[Any, ...]], _Flight] = {}
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0  # computations
        self.shared = 0  # misses that waited for another thread's computation

    def get(self, key: tuple[Any, ...], compute: Callable[[], T]) -> T:
        """The cached value of ``key`` at the current version, computed once if missing."""
        tag = self.version()
        with self._lock:
            if tag != self._tag:
                self._values.clear()
                self._tag = tag
            if key in self._values:
                self._values.move_to_end(key)
                self.hits += 1
                return self._values[key]  # type: ignore[no-any-return]
            flight = self._flights.get((tag, key))
            leader = flight is None
            if flight is None:
                flight = self._flights[(tag, key)] = _Flight()
                self.misses += 1
            else:
                self.shared += 1
        if not leader:
            return flight.wait()  # type: ignore[no-any-return]
        return self._lead(tag, key, flight, compute)

    def has(self, key: tuple[Any, ...]) -> bool:
        """Whether ``key`` is cached at the current version (nothing is computed)."""
        tag = self.version()
        with self._lock:
            return tag == self._tag and key in self._values

    def _lead(self, tag: str, key: tuple[Any, ...], flight: _Flight, compute: Callable[[], T]) -> T:
        try:
            value = compute()
        except BaseException as exc:
            self._land(tag, key)
            flight.fail(exc)
            raise
        with self._lock:
            if tag == self._tag:
                self._values[key] = value
                while len(self._values) > self.size:
                    self._values.popitem(last=False)
        self._land(tag, key)
        flight.done(value)
        return value

    def _land(self, tag: str, key: tuple[Any, ...]) -> None:
        with self._lock:
            self._flights.pop((tag, key), None)


class _Flight:
    """One computation of a cache key that other threads may wait for."""

    def __init__(self) -> None:
        self._event = threading.Event()
        self._value: Any = None
        self._error: BaseException | None = None

    def done(self, value: Any) -> None:
        self._value = value
        self._event.set()

    def fail(self, error: BaseException) -> None:
        self._error = error
        self._event.set()

    def wait(self) -> Any:
        self._event.wait()
        if self._error is not None:
            raise self._error
        return self._value


_LABEL_PROPERTIES = (
    "http://www.w3.org/2004/02/skos/core#prefLabel",
    "http://www.w3.org/2000/01/rdf-schema#label",
    "http://purl.org/dc/terms/title",
)
_LABELS = """PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
PREFIX dcterms: <http://purl.org/dc/terms/>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
SELECT ?x ?p ?l WHERE {
  {values} ?x ?p ?l FILTER(?p IN (skos:prefLabel, rdfs:label, dcterms:title) && isLITERAL(?l))
}"""


def labels(reader: Reader, iris: Iterable[str]) -> dict[str, list[ox.Literal]]:
    """The labels of many IRIs, in one query: each IRI's ``skos:prefLabel`` literals, else its
    ``rdfs:label`` ones, else its ``dcterms:title`` ones (a treaty's short name, not its full
    title)."""
    nodes = [ox.NamedNode(iri) for iri in dict.fromkeys(iris)]
    found: dict[str, dict[int, list[ox.Literal]]] = {}
    for row in reader.select_values(_LABELS, "x", nodes):
        label = row["l"]
        if isinstance(label, ox.Literal):
            rank = _LABEL_PROPERTIES.index(row["p"].value)
            found.setdefault(row["x"].value, {}).setdefault(rank, []).append(label)
    return {iri: ranked[min(ranked)] for iri, ranked in found.items()}


def preferred_labels(values: Mapping[str, Sequence[Term]]) -> list[ox.Literal]:
    """The literals of the first of :data:`_LABEL_PROPERTIES` that ``values`` has."""
    for predicate in _LABEL_PROPERTIES:
        found = [v for v in values.get(predicate, ()) if isinstance(v, ox.Literal)]
        if found:
            return found
    return []
