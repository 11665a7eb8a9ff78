"""A record graph's quads to the document that indexes it (:class:`RecordText`).

The record of a graph is its subject with ``mea:harvestSource`` (every harvested record has one;
paragraphs, files and target links hang off it). Graphs without one (the ontology), run
descriptions and records without any text are not indexed. What is searched:

- ``title``: ``dcterms:title``, ``mea:officialName``;
- ``summary``: ``dcterms:abstract``, ``mea:longTitle``, ``dcterms:description``;
- ``body``: ``mea:content`` with its HTML stripped, and the ``mea:text`` of the record's
  paragraphs in the languages the content does not cover (paragraphs are split from the
  content, so the same words are not counted twice).

A paragraph's match is its decision's: the decision is the document. Facets: the record's class
(``Decision``), its treaties' short names (``cbd``), the year of ``dcterms:issued``, and the
Aichi targets it or its paragraphs are linked to, given by the source or inferred (the record's
``/inferred`` graph is read with it).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

import pyoxigraph as ox

from harvester.mapping.countries import TREATY_NS
from harvester.vocab import AICHI, DCTERMS, MEA, RDF

from .analysis import bucket, plain_text

__all__ = ["INDEXED_PREDICATES", "RecordText", "record_text"]

_KIND_OF = {
    DCTERMS + "title": "title",
    MEA + "officialName": "title",
    DCTERMS + "abstract": "summary",
    MEA + "longTitle": "summary",
    DCTERMS + "description": "summary",
}
_CONTENT = MEA + "content"
_TEXT = MEA + "text"
_PARAGRAPH = MEA + "paragraph"
_HARVEST_SOURCE = MEA + "harvestSource"
_TYPE = RDF + "type"
_TREATY = MEA + "treaty"
_ISSUED = DCTERMS + "issued"
_AICHI = MEA + "aichiTarget"
_YEAR = re.compile(r"^(-?\d{4})")
#: every predicate :func:`record_text` reads (an index may keep a graph's quads of these only)
INDEXED_PREDICATES = frozenset(
    {*_KIND_OF, _CONTENT, _TEXT, _PARAGRAPH, _HARVEST_SOURCE, _TYPE, _TREATY, _ISSUED, _AICHI}
)
#: Harvest run descriptions carry ``mea:harvestSource`` too; they are not searched.
_NOT_INDEXED = frozenset({"HarvestRun"})


@dataclass
class RecordText:
    """What the index keeps of one record.

    :ivar texts: ``(kind, bucket) -> texts`` (plain text).
    :ivar titles: ``(language, title)`` pairs, for display.
    """

    iri: str
    graph: str
    type: str = ""
    treaties: list[str] = field(default_factory=list)
    year: int | None = None
    aichi: list[str] = field(default_factory=list)
    titles: list[tuple[str, str]] = field(default_factory=list)
    texts: dict[tuple[str, str], list[str]] = field(default_factory=dict)

    def add(self, kind: str, literal: ox.Literal) -> None:
        text = plain_text(literal.value)
        if text:
            self.texts.setdefault((kind, bucket(literal.language or "")), []).append(text)


class _Graph:
    """A graph's quads by subject and predicate."""

    def __init__(self, quads: Iterable[ox.Quad]) -> None:
        self.by_subject: dict[str, dict[str, list[ox.NamedNode | ox.Literal]]] = {}
        for quad in quads:
            value = quad.object
            if isinstance(quad.subject, ox.NamedNode) and isinstance(
                value, ox.NamedNode | ox.Literal
            ):
                predicates = self.by_subject.setdefault(quad.subject.value, {})
                predicates.setdefault(quad.predicate.value, []).append(value)

    def values(self, subject: str, predicate: str) -> list[ox.NamedNode | ox.Literal]:
        return self.by_subject.get(subject, {}).get(predicate, [])

    def literals(self, subject: str, predicate: str) -> list[ox.Literal]:
        return [v for v in self.values(subject, predicate) if isinstance(v, ox.Literal)]

    def iris(self, subject: str, predicate: str) -> list[str]:
        return [v.value for v in self.values(subject, predicate) if isinstance(v, ox.NamedNode)]

    def record(self) -> str | None:
        records = sorted(s for s, p in self.by_subject.items() if _HARVEST_SOURCE in p)
        return records[0] if records else None


def record_text(
    graph: str, quads: Iterable[ox.Quad], inferred: Iterable[ox.Quad] = ()
) -> RecordText | None:
    """The searchable text of the record in ``graph`` (None when the graph holds no harvested
    record). ``inferred`` are the quads of its ``/inferred`` graph (target links)."""
    data = _Graph(quads)
    iri = data.record()
    if iri is None:
        return None
    record = RecordText(iri=iri, graph=graph)
    _describe(record, data)
    _add_texts(record, data)
    if not record.texts or record.type in _NOT_INDEXED:
        return None
    links = _Graph(inferred)
    paragraphs = data.iris(iri, _PARAGRAPH)
    targets = {t for s in (iri, *paragraphs) for g in (data, links) for t in g.iris(s, _AICHI)}
    record.aichi = sorted(_target_name(t) for t in targets)
    return record


def _describe(record: RecordText, data: _Graph) -> None:
    iri = record.iri
    types = sorted(t[len(MEA) :] for t in data.iris(iri, _TYPE) if t.startswith(MEA))
    record.type = types[0] if types else ""
    record.treaties = sorted({_treaty_name(t) for t in data.iris(iri, _TREATY)})
    issued = data.literals(iri, _ISSUED)
    years = [int(m.group(1)) for lit in issued if (m := _YEAR.match(lit.value.strip()))]
    record.year = min(years) if years else None
    record.titles = [
        (lit.language or "", lit.value.strip()) for lit in data.literals(iri, DCTERMS + "title")
    ]


def _add_texts(record: RecordText, data: _Graph) -> None:
    iri = record.iri
    for predicate, kind in _KIND_OF.items():
        for literal in data.literals(iri, predicate):
            record.add(kind, literal)
    content = data.literals(iri, _CONTENT)
    for literal in content:
        record.add("body", literal)
    covered = {bucket(lit.language or "") for lit in content}
    for paragraph in sorted(data.iris(iri, _PARAGRAPH)):
        for literal in data.literals(paragraph, _TEXT):
            if bucket(literal.language or "") not in covered:
                record.add("body", literal)


def _treaty_name(iri: str) -> str:
    return iri[len(TREATY_NS) :].lower() if iri.startswith(TREATY_NS) else iri.rsplit("/", 1)[-1]


def _target_name(iri: str) -> str:
    """``https://w3id.org/mea/aichi/target-11`` -> ``11``."""
    name = iri[len(AICHI) :] if iri.startswith(AICHI) else iri.rsplit("/", 1)[-1]
    return name.removeprefix("target-")
