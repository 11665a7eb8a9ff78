"""What the sources do not give, added to decision records after mapping: paragraphs split
from the decision's content, and Aichi target links inferred by the linker.

Inferred links live in a graph of their own beside the record's (``<record graph>/inferred``),
so ``meahub link`` can replace them alone after a linker or threshold change.

The triples are written once, as N-Triples lines (:meth:`Enricher.enrich_lines`, every term
written by pyoxigraph); :meth:`Enricher.enrich` and :meth:`Enricher.infer` read those lines back
as quads for callers that want them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from functools import lru_cache

import pyoxigraph as ox

from ..linking import METHOD, Linker, TargetScore, split_paragraphs
from ..vocab import DCTERMS, MEA, PROV, RDF
from . import targets
from .engine import MappedRecord, slug

__all__ = ["ENRICH_VERSION", "EnrichedLines", "Enricher", "inferred_graph"]

#: Part of every decision's change hash: bump it when paragraph splitting changes output.
ENRICH_VERSION = "paragraphs-1"

_TYPE = ox.NamedNode(RDF + "type")
_DECISION = ox.NamedNode(MEA + "Decision")
_PARAGRAPH_CLASS = ox.NamedNode(MEA + "DecisionParagraph")
_PARAGRAPH = ox.NamedNode(MEA + "paragraph")
_CONTENT = ox.NamedNode(MEA + "content")
_TEXT = ox.NamedNode(MEA + "text")
_NUMBER = ox.NamedNode(MEA + "number")
_AICHI = ox.NamedNode(MEA + "aichiTarget")
_TARGET_LINK = ox.NamedNode(MEA + "targetLink")
_IDENTIFIER = ox.NamedNode(DCTERMS + "identifier")
_TITLE = ox.NamedNode(DCTERMS + "title")
_ABSTRACT = ox.NamedNode(DCTERMS + "abstract")
_DERIVED = ox.NamedNode(PROV + "wasDerivedFrom")

_Value = ox.NamedNode | ox.Literal
_VALUE_TYPES = (ox.NamedNode, ox.Literal)


def inferred_graph(record_graph: str) -> str:
    """The graph of a record's inferred target links."""
    return record_graph + "/inferred"


@dataclass(frozen=True, slots=True)
class EnrichedLines:
    """What enrichment adds to a record, as N-Triples lines (terms as pyoxigraph writes them, no
    final dots).

    :ivar paragraphs: triples for the record's own graph, to follow its mapped quads.
    :ivar links: the triples of its inferred graph (:func:`inferred_graph`).
    """

    paragraphs: list[str]
    links: list[str]


class _Record:
    """The quads of one record, indexed by subject and predicate (IRI subjects, IRI or literal
    objects), and the triples added to it (:attr:`added`, as N-Triples lines)."""

    __slots__ = ("added", "index")

    def __init__(self, quads: Iterable[ox.Quad]) -> None:
        self.index: dict[ox.NamedNode, dict[ox.NamedNode, list[_Value]]] = {}
        self.added: list[str] = []
        index = self.index
        for quad in quads:
            subject, value = quad.subject, quad.object
            if isinstance(subject, ox.NamedNode) and isinstance(value, _VALUE_TYPES):
                index.setdefault(subject, {}).setdefault(quad.predicate, []).append(value)

    def add(self, subject: ox.NamedNode, predicate: ox.NamedNode, value: _Value, line: str) -> None:
        """Add a triple, given with its N-Triples ``line``."""
        self.index.setdefault(subject, {}).setdefault(predicate, []).append(value)
        self.added.append(line)

    def decisions(self) -> list[ox.NamedNode]:
        return [s for s, props in self.index.items() if _DECISION in props.get(_TYPE, ())]

    def values(self, subject: ox.NamedNode, predicate: ox.NamedNode) -> list[_Value]:
        properties = self.index.get(subject)
        return properties.get(predicate, []) if properties is not None else []


class Enricher:
    """Adds paragraphs and inferred links to mapped decision records.

    :param linker: the Aichi target linker; None turns inference off.
    :param threshold: the score a link must pass to be kept (``mea:aichiTarget``).
    """

    def __init__(self, linker: Linker | None, threshold: float) -> None:
        self.linker = linker
        self.threshold = threshold

    def enrich_lines(self, mapped: MappedRecord, run_iri: str | None) -> EnrichedLines:
        """The paragraphs of :meth:`add_paragraphs` and the links of :meth:`infer`, as lines,
        indexing the record's quads once."""
        record = _Record(mapped.quads)
        _add_paragraphs(record)
        return EnrichedLines(record.added, self._infer_lines(record, run_iri))

    def enrich(
        self, mapped: MappedRecord, run_iri: str | None
    ) -> tuple[MappedRecord, list[ox.Quad]]:
        """:meth:`add_paragraphs` then :meth:`infer` (:meth:`enrich_lines` as quads)."""
        lines = self.enrich_lines(mapped, run_iri)
        if lines.paragraphs:
            mapped = replace(mapped, quads=mapped.quads + _quads(lines.paragraphs, mapped.graph))
        return mapped, _quads(lines.links, inferred_graph(mapped.graph))

    # -- paragraphs --------------------------------------------------------------------------

    def add_paragraphs(self, mapped: MappedRecord) -> MappedRecord:
        """A decision that has content but no paragraph nodes gets them, split from its content
        (numbers as published, one ``mea:text`` per language)."""
        record = _Record(mapped.quads)
        _add_paragraphs(record)
        if not record.added:
            return mapped
        return replace(mapped, quads=mapped.quads + _quads(record.added, mapped.graph))

    # -- inferred links ----------------------------------------------------------------------

    def infer(self, mapped: MappedRecord, run_iri: str | None) -> list[ox.Quad]:
        """The inferred-link quads of a decision record (for :func:`inferred_graph`): every
        paragraph without source tags is scored; the decision gets the targets of its paragraphs
        (or, without paragraphs, of its title and summary), unless the source tagged it."""
        lines = self._infer_lines(_Record(mapped.quads), run_iri)
        return _quads(lines, inferred_graph(mapped.graph))

    def _infer_lines(self, record: _Record, run_iri: str | None) -> list[str]:
        if self.linker is None:
            return []
        run = _iri_text(run_iri) if run_iri else None
        out: list[str] = []
        for decision in record.decisions():
            out.extend(self._infer_decision(record, decision, run))
        return out

    def _infer_decision(
        self, record: _Record, decision: ox.NamedNode, run: str | None
    ) -> list[str]:
        best: dict[int, TargetScore] = {}
        out: list[str] = []
        paragraphs = [p for p in record.values(decision, _PARAGRAPH) if isinstance(p, ox.NamedNode)]
        for paragraph in paragraphs:
            if record.values(paragraph, _AICHI):
                continue
            found = self._link(_texts(record, paragraph, (_TEXT,)))
            out.extend(_link_lines(paragraph, found, run))
            for score in found:
                current = best.get(score.target)
                if current is None or score.score > current.score:
                    best[score.target] = _labelled(score, record, paragraph)
        if not paragraphs:
            best = {s.target: s for s in self._link(_texts(record, decision, (_TITLE, _ABSTRACT)))}
        if record.values(decision, _AICHI):
            return out  # the source tagged the decision itself
        return out + _link_lines(decision, list(best.values()), run)

    def _link(self, text: tuple[str, str] | None) -> list[TargetScore]:
        assert self.linker is not None
        if text is None:
            return []
        body, lang = text
        return self.linker.link(body, self.threshold, lang=lang)


def _quads(lines: Sequence[str], graph: str) -> list[ox.Quad]:
    """Lines written here, read back as quads of ``graph``. The parser need not validate them
    again (``lenient``): every term was made, so checked, by pyoxigraph before it wrote it."""
    if not lines:
        return []
    name = str(ox.NamedNode(graph))
    data = "".join(f"{line} {name} .\n" for line in lines)
    return list(ox.parse(data, format=ox.RdfFormat.N_QUADS, lenient=True))


def _texts(
    record: _Record, subject: ox.NamedNode, predicates: Iterable[ox.NamedNode]
) -> tuple[str, str] | None:
    """The English text of a node (joined over ``predicates``), else the first language given."""
    by_lang: dict[str, list[str]] = {}
    for predicate in predicates:
        for value in record.values(subject, predicate):
            if isinstance(value, ox.Literal):
                by_lang.setdefault(value.language or "und", []).append(value.value)
    if not by_lang:
        return None
    lang = "en" if "en" in by_lang else next(iter(by_lang))
    return " ".join(by_lang[lang]), lang


def _labelled(score: TargetScore, record: _Record, paragraph: ox.NamedNode) -> TargetScore:
    numbers = [v.value for v in record.values(paragraph, _NUMBER) if isinstance(v, ox.Literal)]
    where = f"paragraph {numbers[0]}" if numbers else "a paragraph"
    return TargetScore(
        score.target, score.score, tuple(f"{where}: {e}" for e in score.evidence[:3])
    )


# -- writing triples -----------------------------------------------------------------------------
# The N-Triples text of constant terms, as pyoxigraph writes them.
_TYPE_TEXT, _PARAGRAPH_CLASS_TEXT = str(_TYPE), str(_PARAGRAPH_CLASS)
_PARAGRAPH_TEXT, _TEXT_TEXT, _NUMBER_TEXT = str(_PARAGRAPH), str(_TEXT), str(_NUMBER)
_IDENTIFIER_TEXT, _DERIVED_TEXT = str(_IDENTIFIER), str(_DERIVED)
_AICHI_TEXT, _TARGET_LINK_TEXT = str(_AICHI), str(_TARGET_LINK)


@lru_cache(maxsize=64)
def _iri_text(iri: str) -> str:
    """The N-Triples of an IRI used again and again (run, target concepts)."""
    return str(ox.NamedNode(iri))


_slug = lru_cache(maxsize=1024)(slug)  # of paragraph numbers ("1", "2(a)"): few, repeated


def _link_lines(subject: ox.NamedNode, found: Sequence[TargetScore], run: str | None) -> list[str]:
    """The lines of ``subject``'s inferred links (``run``: the run IRI as N-Triples)."""
    out: list[str] = []
    if not found:
        return out
    node = str(subject)
    for score in found:
        concept = _iri_text(targets.target_iri("aichi", score.target))
        link = str(ox.NamedNode(f"{subject.value}/inferred/aichi-{score.target}"))
        out.append(f"{node} {_AICHI_TEXT} {concept}")
        out.append(f"{node} {_TARGET_LINK_TEXT} {link}")
        out.extend(targets.link_lines(link, concept, METHOD, score.score, score.evidence, run))
    return out


def _add_paragraphs(record: _Record) -> None:
    """Give each decision that has content but no paragraph nodes the paragraphs split from its
    content (numbers as published, one ``mea:text`` per language)."""
    for decision in record.decisions():
        if not record.values(decision, _PARAGRAPH):
            _add_decision_paragraphs(record, decision)


def _add_decision_paragraphs(record: _Record, decision: ox.NamedNode) -> None:
    groups = _paragraph_groups(record, decision)
    identifier = next((v.value for v in record.values(decision, _IDENTIFIER)), decision.value)
    derived = [(value, str(value)) for value in record.values(decision, _DERIVED)]
    subject = str(decision)
    for key, (number, texts) in groups.items():
        node = ox.NamedNode(f"{decision.value}/paragraph/{_slug(key)}")
        name = str(node)
        record.add(decision, _PARAGRAPH, node, f"{subject} {_PARAGRAPH_TEXT} {name}")
        record.add(node, _TYPE, _PARAGRAPH_CLASS, f"{name} {_TYPE_TEXT} {_PARAGRAPH_CLASS_TEXT}")
        label = ox.Literal(f"{identifier}#{key}")
        record.add(node, _IDENTIFIER, label, f"{name} {_IDENTIFIER_TEXT} {label}")
        if number:
            literal = ox.Literal(number)
            record.add(node, _NUMBER, literal, f"{name} {_NUMBER_TEXT} {literal}")
        for text in texts:
            record.add(node, _TEXT, text, f"{name} {_TEXT_TEXT} {text}")
        for value, written in derived:
            record.add(node, _DERIVED, value, f"{name} {_DERIVED_TEXT} {written}")


def _paragraph_groups(
    record: _Record, decision: ox.NamedNode
) -> dict[str, tuple[str | None, list[ox.Literal]]]:
    """Paragraphs by number (or position), gathering their texts across languages."""
    groups: dict[str, tuple[str | None, list[ox.Literal]]] = {}
    for content in record.values(decision, _CONTENT):
        if not isinstance(content, ox.Literal):
            continue
        for position, paragraph in enumerate(split_paragraphs(content.value), start=1):
            key = paragraph.number or f"p{position}"
            number, texts = groups.setdefault(key, (paragraph.number, []))
            if not any(t.language == content.language for t in texts):
                texts.append(ox.Literal(paragraph.text, language=content.language or "und"))
    return groups
