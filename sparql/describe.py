"""What the store says about one IRI: the data behind its linked-data page and RDF documents.

A description holds

- the IRI's own statements (with the named graph each comes from);
- the statements of the nodes it *owns*: blank nodes and IRIs under it (``<record>/file/1``,
  target-link nodes), one level down;
- the inverse links: statements whose object is the IRI (the decisions of a meeting, the records
  linked to a target), at most :data:`MAX_INVERSE`;
- the labels of every IRI on the page, and the harvest runs that wrote the record.

An IRI that is the subject or object of nothing but names a graph (``{base}graph/...``) is
described by the graph's contents. Every query binds the IRI with ``substitutions``: no value
ever reaches query text.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

import pyoxigraph as ox

from harvester.store.api import StoreBackend
from harvester.vocab import DCTERMS, RDFS, SKOS

__all__ = ["MAX_INVERSE", "Description", "Statement", "describe"]

#: Inverse links fetched per page (the page says when there are more).
MAX_INVERSE = 1000
#: Inverse subjects per property whose labels are looked up (the page lists as many).
LABELLED_INVERSE = 50
#: Graph statements fetched for a graph IRI.
MAX_GRAPH_STATEMENTS = 5000

Subject = ox.NamedNode | ox.BlankNode
Term = ox.NamedNode | ox.BlankNode | ox.Literal

LABEL_PROPERTIES = (SKOS + "prefLabel", DCTERMS + "title", RDFS + "label")

_OUTGOING = "SELECT ?s ?p ?o ?g WHERE { GRAPH ?g { ?s ?p ?o } }"
_OWNED = """SELECT ?s ?n ?p ?o ?g WHERE {
  GRAPH ?g { ?s ?link ?n . ?n ?p ?o }
  FILTER(isBLANK(?n) || STRSTARTS(STR(?n), CONCAT(STR(?s), "/"))
         || STRSTARTS(STR(?n), CONCAT(STR(?s), "#")))
}"""
_INVERSE = f"SELECT ?s ?x ?p ?g WHERE {{ GRAPH ?g {{ ?x ?p ?s }} }} LIMIT {MAX_INVERSE + 1}"
_GRAPH = f"SELECT ?g ?s ?p ?o WHERE {{ GRAPH ?g {{ ?s ?p ?o }} }} LIMIT {MAX_GRAPH_STATEMENTS}"
_LABELS = (
    "PREFIX skos: <http://www.w3.org/2004/02/skos/core#> "
    "PREFIX dcterms: <http://purl.org/dc/terms/> "
    "PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#> "
    "SELECT ?x ?l WHERE { ?x skos:prefLabel|dcterms:title|rdfs:label ?l FILTER(isLITERAL(?l)) }"
)
_RUNS = (
    "PREFIX prov: <http://www.w3.org/ns/prov#> "
    "SELECT ?s ?run ?started WHERE { ?s prov:wasGeneratedBy ?run "
    "OPTIONAL { ?run prov:startedAtTime ?started } }"
)


@dataclass(frozen=True)
class Statement:
    """One triple and the named graph it was found in."""

    subject: Subject
    predicate: ox.NamedNode
    object: Term
    graph: str | None = None

    def triple(self) -> ox.Triple:
        return ox.Triple(self.subject, self.predicate, self.object)


@dataclass
class Description:
    """Everything a page or an RDF document about :attr:`iri` shows."""

    iri: str
    outgoing: list[Statement] = field(default_factory=list)
    owned: list[Statement] = field(default_factory=list)
    inverse: list[Statement] = field(default_factory=list)
    labels: dict[str, list[ox.Literal]] = field(default_factory=dict)
    runs: list[tuple[str, str | None]] = field(default_factory=list)
    is_graph: bool = False
    inverse_truncated: bool = False

    def statements(self) -> Iterator[Statement]:
        yield from self.outgoing
        yield from self.owned
        yield from self.inverse

    def triples(self) -> list[ox.Triple]:
        """The document's triples, each once, in a stable order."""
        seen = dict.fromkeys(s.triple() for s in self.statements())
        return list(seen)

    def values(self, predicate: str) -> list[Term]:
        """Objects of the IRI's own statements with ``predicate``."""
        return [s.object for s in self.outgoing if s.predicate.value == predicate]

    def graphs(self) -> list[str]:
        """The named graphs the IRI's own statements live in."""
        return sorted({s.graph for s in self.outgoing if s.graph})


def describe(store: StoreBackend, iri: str) -> Description | None:
    """The description of ``iri``, or None when the store knows nothing about it.

    :raises StoreError: when the store cannot be read.
    """
    node = ox.NamedNode(iri)
    found = Description(iri)
    found.outgoing = list(_statements(store, _OUTGOING, node, ("s", "p", "o")))
    found.owned = list(_statements(store, _OWNED, node, ("n", "p", "o")))
    found.inverse = list(_statements(store, _INVERSE, node, ("x", "p", "s")))
    if len(found.inverse) > MAX_INVERSE:
        found.inverse, found.inverse_truncated = found.inverse[:MAX_INVERSE], True
    if not found.outgoing and not found.inverse:
        if not store.has_graph(iri):
            return None
        found.outgoing, found.is_graph = _graph_contents(store, node), True
    found.runs = _runs(store, node)
    found.labels = labels_of(store, _named(found))
    return found


def _statements(
    store: StoreBackend, query: str, node: ox.NamedNode, names: tuple[str, str, str]
) -> Iterator[Statement]:
    subject, predicate, obj = names
    for row in store.query(query, substitutions={"s": node}):  # type: ignore[union-attr]
        graph = row["g"]
        yield Statement(
            row[subject], row[predicate], row[obj], graph.value if graph is not None else None
        )


def _graph_contents(store: StoreBackend, node: ox.NamedNode) -> list[Statement]:
    rows = store.query(_GRAPH, substitutions={"g": node})
    return [Statement(r["s"], r["p"], r["o"], node.value) for r in rows]  # type: ignore[union-attr]


def _runs(store: StoreBackend, node: ox.NamedNode) -> list[tuple[str, str | None]]:
    rows = store.query(_RUNS, substitutions={"s": node})
    runs = {(r["run"].value, r["started"].value if r["started"] else None) for r in rows}  # type: ignore[union-attr]
    return sorted(runs, key=lambda run: run[1] or "", reverse=True)


def _named(found: Description) -> set[str]:
    """The IRIs a page shows: everything in the own and owned statements, the predicates of
    the inverse links, and only the first :data:`LABELLED_INVERSE` subjects of each (a page
    lists no more; a treaty has thousands of decisions)."""
    names = {found.iri, *(run for run, _ in found.runs)}
    for statement in (*found.outgoing, *found.owned):
        names.update(_iris(statement.subject, statement.predicate, statement.object))
    per_predicate: dict[str, int] = {}
    for statement in found.inverse:
        seen = per_predicate.get(statement.predicate.value, 0)
        per_predicate[statement.predicate.value] = seen + 1
        names.update(
            _iris(statement.predicate, *([statement.subject] if seen < LABELLED_INVERSE else []))
        )
    return names


def _iris(*terms: Term) -> Iterator[str]:
    return (t.value for t in terms if isinstance(t, ox.NamedNode))


def labels_of(store: StoreBackend, iris: Iterable[str]) -> dict[str, list[ox.Literal]]:
    """The labels (``skos:prefLabel``, ``dcterms:title``, ``rdfs:label``) of each IRI."""
    labels: dict[str, list[ox.Literal]] = {}
    for iri in iris:
        rows = store.query(_LABELS, substitutions={"x": ox.NamedNode(iri)})
        found = [row["l"] for row in rows]  # type: ignore[union-attr]
        if found:
            labels[iri] = found
    return labels
