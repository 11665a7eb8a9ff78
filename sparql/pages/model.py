"""Reading records as the pages need them: statements grouped by property, qualified target
links, and the order paragraphs were published in."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import pyoxigraph as ox

from harvester.vocab import MEA, PROV, RDF

from .reading import Row, Term

__all__ = [
    "Properties",
    "TargetLink",
    "group_rows",
    "links_of",
    "ordered_paragraphs",
    "paragraph_anchor",
    "paragraph_key",
    "score_text",
]

_TYPE = RDF + "type"
_LINK_CLASS = MEA + "TargetLink"
_SHORTCUTS = (MEA + "aichiTarget", MEA + "gbfTarget")


@dataclass
class Properties:
    """The statements of one subject, by property IRI."""

    iri: str
    values: dict[str, list[Term]] = field(default_factory=lambda: defaultdict(list))

    def all(self, predicate: str) -> list[Term]:
        return self.values.get(predicate, [])

    def first(self, predicate: str) -> Term | None:
        found = self.values.get(predicate)
        return found[0] if found else None

    def text(self, predicate: str) -> str | None:
        term = self.first(predicate)
        return term.value if term is not None else None

    def literals(self, predicate: str) -> list[ox.Literal]:
        return [v for v in self.all(predicate) if isinstance(v, ox.Literal)]

    def iris(self, predicate: str) -> list[str]:
        return [v.value for v in self.all(predicate) if isinstance(v, ox.NamedNode)]

    def has_type(self, cls: str) -> bool:
        return cls in self.iris(_TYPE)


def group_rows(
    rows: Iterable[Row], subject: str = "s", predicate: str = "p", obj: str = "o"
) -> dict[str, Properties]:
    """Rows of (subject, predicate, object) variables as :class:`Properties` by subject."""
    grouped: dict[str, Properties] = {}
    for row in rows:
        s, p, o = row.get(subject), row.get(predicate), row.get(obj)
        if s is None or p is None or o is None:
            continue
        entry = grouped.get(s.value)
        if entry is None:
            entry = grouped[s.value] = Properties(s.value)
        entry.values[p.value].append(o)
    return grouped


@dataclass(frozen=True)
class TargetLink:
    """How a record or paragraph is linked to one target.

    :ivar method: ``"source"``, an inferring method's name, or None for a bare
        ``mea:aichiTarget``/``mea:gbfTarget`` with no qualified node (given, details unknown).
    """

    target: str
    method: str | None
    score: float | None
    evidence: tuple[str, ...] = ()
    run: str | None = None
    node: str | None = None

    @property
    def inferred(self) -> bool:
        return self.method is not None and self.method != "source"

    def sort_key(self) -> tuple[int, float, str]:
        """Given by the source first, then inferred by falling score."""
        return (1 if self.inferred else 0, -(self.score or 0.0), self.target)


def links_of(subject: Properties, nodes: Mapping[str, Properties]) -> list[TargetLink]:
    """The target links of ``subject``: its qualified ``mea:targetLink`` nodes (looked up in
    ``nodes``), then the shortcuts no node explains; best first."""
    found: list[TargetLink] = []
    for node_iri in subject.iris(MEA + "targetLink"):
        node = nodes.get(node_iri)
        if node is None or not node.has_type(_LINK_CLASS):
            continue
        concepts = node.iris(MEA + "target")
        if not concepts:
            continue
        found.append(
            TargetLink(
                target=concepts[0],
                method=node.text(MEA + "method") or "source",
                score=_float(node.text(MEA + "score")),
                evidence=tuple(sorted(v.value for v in node.literals(MEA + "evidence"))),
                run=next(iter(node.iris(PROV + "wasGeneratedBy")), None),
                node=node_iri,
            )
        )
    qualified = {link.target for link in found}
    for predicate in _SHORTCUTS:
        for target in subject.iris(predicate):
            if target not in qualified:
                found.append(TargetLink(target=target, method=None, score=None))
                qualified.add(target)
    return sorted(found, key=TargetLink.sort_key)


def _float(text: str | None) -> float | None:
    try:
        return float(text) if text is not None else None
    except ValueError:
        return None


def paragraph_anchor(number: str | None, position: int = 0) -> str:
    """The fragment of a paragraph on its decision's page: ``paragraph-3-a`` for ``3(a)``;
    ``paragraph-u<position>`` for an unnumbered one."""
    if not number:
        return f"paragraph-u{position}"
    slug = "".join(c if c.isalnum() else "-" for c in number).strip("-")
    while "--" in slug:
        slug = slug.replace("--", "-")
    return "paragraph-" + slug


def score_text(score: float | None) -> str:
    """``0.7`` for 0.700, ``0.99`` for 0.992 (two decimals at most)."""
    if score is None:
        return ""
    return f"{score:.2f}".rstrip("0").rstrip(".") or "0"


_TOKEN = re.compile(r"\d+|[A-Za-z]+")
_ROMAN = re.compile(r"^(?:i{1,3}|iv|vi{0,3}|ix|x{1,3}i{0,3}|xi?v|xi?x)$")
_ROMAN_VALUES = {"i": 1, "v": 5, "x": 10}


def _roman(text: str) -> int:
    total, previous = 0, 0
    for char in reversed(text):
        value = _ROMAN_VALUES[char]
        total += value if value >= previous else -value
        previous = max(previous, value)
    return total


def paragraph_key(
    number: str | None, order: int | None, identifier: str | None, position: int
) -> tuple[object, ...]:
    """Where a paragraph stands in its decision as published.

    A source's ``mea:displayOrder`` decides when given. Otherwise unnumbered (preambular)
    paragraphs come first, in the position their identifier records (``...#p3``), then the
    numbered ones by their number read naturally: ``2`` < ``2 bis`` < ``2(a)`` < ``2(a)(ii)``
    < ``10``, with sub-sub-items read as Roman numerals (``(ix)`` after ``(v)``).
    """
    if order is not None:
        return (0, order, position)
    if not number:
        tail = (identifier or "").rsplit("#p", 1)
        rank = int(tail[1]) if len(tail) == 2 and tail[1].isdigit() else position
        return (1, rank, position)
    parts: list[tuple[int, int | str]] = []
    for depth, token in enumerate(_TOKEN.findall(number)):
        lowered = token.lower()
        if token.isdigit():
            parts.append((0, int(token)))
        elif depth >= 2 and _ROMAN.match(lowered):
            parts.append((0, _roman(lowered)))
        elif lowered in ("bis", "ter", "quater", "quinquies"):
            parts.append((1, ("bis", "ter", "quater", "quinquies").index(lowered)))
        else:
            parts.append((2, lowered))
    return (2, tuple(parts), position)


def ordered_paragraphs(paragraphs: Sequence[Properties]) -> list[Properties]:
    """``paragraphs`` in published order (see :func:`paragraph_key`)."""

    def key(item: tuple[int, Properties]) -> tuple[object, ...]:
        position, para = item
        order = para.text(MEA + "displayOrder")
        return paragraph_key(
            para.text(MEA + "number"),
            int(order) if order is not None and order.lstrip("-").isdigit() else None,
            para.text("http://purl.org/dc/terms/identifier"),
            position,
        )

    return [p for _, p in sorted(enumerate(paragraphs), key=key)]
