"""What the sources do not give, added to decision records after mapping: paragraphs split
from the decision's content, and Aichi target links inferred by the linker.

Inferred links live in a graph of their own beside the record's (``<record graph>/inferred``),
so ``meahub link`` can replace them alone after a linker or threshold change.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

import pyoxigraph as ox

from . import targets
from .linking import METHOD, Linker, TargetScore, split_paragraphs
from .mapping import MappedRecord, slug
from .vocab import DCTERMS, MEA, PROV, RDF

__all__ = ["ENRICH_VERSION", "Enricher", "inferred_graph"]

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


def inferred_graph(record_graph: str) -> str:
    """The graph of a record's inferred target links."""
    return record_graph + "/inferred"


@dataclass
class _Record:
    """The quads of one record, indexed by subject and predicate."""

    quads: list[ox.Quad]
    index: dict[ox.NamedNode, dict[ox.NamedNode, list[ox.NamedNode | ox.Literal]]]

    @classmethod
    def of(cls, quads: Sequence[ox.Quad]) -> _Record:
        index: dict[ox.NamedNode, dict[ox.NamedNode, list[ox.NamedNode | ox.Literal]]] = (
            defaultdict(lambda: defaultdict(list))
        )
        for q in quads:
            if isinstance(q.subject, ox.NamedNode) and isinstance(
                q.object, ox.NamedNode | ox.Literal
            ):
                index[q.subject][q.predicate].append(q.object)
        return cls(list(quads), index)

    def extend(self, quads: Iterable[ox.Quad]) -> None:
        for q in quads:
            self.quads.append(q)
            if isinstance(q.subject, ox.NamedNode) and isinstance(
                q.object, ox.NamedNode | ox.Literal
            ):
                self.index[q.subject][q.predicate].append(q.object)

    def decisions(self) -> list[ox.NamedNode]:
        return [s for s, props in self.index.items() if _DECISION in props.get(_TYPE, [])]

    def values(
        self, subject: ox.NamedNode, predicate: ox.NamedNode
    ) -> list[ox.NamedNode | ox.Literal]:
        return self.index.get(subject, {}).get(predicate, [])


class Enricher:
    """Adds paragraphs and inferred links to mapped decision records.

    :param linker: the Aichi target linker; None turns inference off.
    :param threshold: the score a link must pass to be kept (``mea:aichiTarget``).
    """

    def __init__(self, linker: Linker | None, threshold: float) -> None:
        self.linker = linker
        self.threshold = threshold

    # -- paragraphs --------------------------------------------------------------------------

    def add_paragraphs(self, mapped: MappedRecord) -> MappedRecord:
        """A decision that has content but no paragraph nodes gets them, split from its content
        (numbers as published, one ``mea:text`` per language)."""
        record = _Record.of(mapped.quads)
        extra: list[ox.Quad] = []
        graph = ox.NamedNode(mapped.graph)
        for decision in record.decisions():
            if not record.values(decision, _PARAGRAPH):
                extra.extend(_paragraph_quads(record, decision, graph))
        return replace(mapped, quads=mapped.quads + extra) if extra else mapped

    def enrich(
        self, mapped: MappedRecord, run_iri: str | None
    ) -> tuple[MappedRecord, list[ox.Quad]]:
        """:meth:`add_paragraphs` then :meth:`infer`, indexing the record's quads once."""
        record = _Record.of(mapped.quads)
        graph = ox.NamedNode(mapped.graph)
        for decision in record.decisions():
            if not record.values(decision, _PARAGRAPH):
                record.extend(_paragraph_quads(record, decision, graph))
        if len(record.quads) != len(mapped.quads):
            mapped = replace(mapped, quads=record.quads)
        return mapped, self._infer_record(record, mapped.graph, run_iri)

    # -- inferred links ----------------------------------------------------------------------

    def infer(self, mapped: MappedRecord, run_iri: str | None) -> list[ox.Quad]:
        """The inferred-link quads of a decision record (for :func:`inferred_graph`): every
        paragraph without source tags is scored; the decision gets the targets of its paragraphs
        (or, without paragraphs, of its title and summary), unless the source tagged it."""
        return self._infer_record(_Record.of(mapped.quads), mapped.graph, run_iri)

    def _infer_record(
        self, record: _Record, record_graph: str, run_iri: str | None
    ) -> list[ox.Quad]:
        if self.linker is None:
            return []
        graph = ox.NamedNode(inferred_graph(record_graph))
        out: list[ox.Quad] = []
        for decision in record.decisions():
            out.extend(self._infer_decision(record, decision, graph, run_iri))
        return out

    def _infer_decision(
        self, record: _Record, decision: ox.NamedNode, graph: ox.NamedNode, run_iri: str | None
    ) -> list[ox.Quad]:
        best: dict[int, TargetScore] = {}
        out: list[ox.Quad] = []
        paragraphs = [p for p in record.values(decision, _PARAGRAPH) if isinstance(p, ox.NamedNode)]
        for paragraph in paragraphs:
            if record.values(paragraph, _AICHI):
                continue
            found = self._link(_texts(record, paragraph, (_TEXT,)))
            out.extend(_link_quads(paragraph, found, graph, run_iri))
            for score in found:
                current = best.get(score.target)
                if current is None or score.score > current.score:
                    best[score.target] = _labelled(score, record, paragraph)
        if not paragraphs:
            best = {s.target: s for s in self._link(_texts(record, decision, (_TITLE, _ABSTRACT)))}
        if record.values(decision, _AICHI):
            return out  # the source tagged the decision itself
        return out + _link_quads(decision, list(best.values()), graph, run_iri)

    def _link(self, text: tuple[str, str] | None) -> list[TargetScore]:
        assert self.linker is not None
        if text is None:
            return []
        body, lang = text
        return self.linker.link(body, self.threshold, lang=lang)


def _texts(
    record: _Record, subject: ox.NamedNode, predicates: Iterable[ox.NamedNode]
) -> tuple[str, str] | None:
    """The English text of a node (joined over ``predicates``), else the first language given."""
    by_lang: dict[str, list[str]] = defaultdict(list)
    for predicate in predicates:
        for value in record.values(subject, predicate):
            if isinstance(value, ox.Literal):
                by_lang[value.language or "und"].append(value.value)
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


def _link_quads(
    subject: ox.NamedNode, found: Sequence[TargetScore], graph: ox.NamedNode, run_iri: str | None
) -> list[ox.Quad]:
    out: list[ox.Quad] = []
    for score in found:
        concept = ox.NamedNode(targets.target_iri("aichi", score.target))
        link = ox.NamedNode(f"{subject.value}/inferred/aichi-{score.target}")
        out.append(ox.Quad(subject, _AICHI, concept, graph))
        out.append(ox.Quad(subject, _TARGET_LINK, link, graph))
        pairs = targets.link_triples(concept, METHOD, score.score, score.evidence, run_iri)
        out.extend(ox.Quad(link, p, o, graph) for p, o in pairs)
    return out


def _paragraph_quads(record: _Record, decision: ox.NamedNode, graph: ox.NamedNode) -> list[ox.Quad]:
    groups = _paragraph_groups(record, decision)
    identifier = next((v.value for v in record.values(decision, _IDENTIFIER)), decision.value)
    derived = record.values(decision, _DERIVED)
    out: list[ox.Quad] = []
    for key, (number, texts) in groups.items():
        node = ox.NamedNode(f"{decision.value}/paragraph/{slug(key)}")
        out.append(ox.Quad(decision, _PARAGRAPH, node, graph))
        out.append(ox.Quad(node, _TYPE, _PARAGRAPH_CLASS, graph))
        out.append(ox.Quad(node, _IDENTIFIER, ox.Literal(f"{identifier}#{key}"), graph))
        if number:
            out.append(ox.Quad(node, _NUMBER, ox.Literal(number), graph))
        out.extend(ox.Quad(node, _TEXT, text, graph) for text in texts)
        out.extend(ox.Quad(node, _DERIVED, d, graph) for d in derived)
    return out


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
