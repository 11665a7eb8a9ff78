"""Target frameworks (Aichi, GBF): reading target names, their IRIs, and qualified link nodes."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

import pyoxigraph as ox

from . import values
from .vocab import MEA, PROV, RDF, XSD

__all__ = ["FRAMEWORKS", "link_triples", "target_iri", "target_number"]

#: framework -> (IRI prefix of its targets, number of targets)
FRAMEWORKS = {
    "aichi": ("https://w3id.org/mea/aichi/target-", 20),
    "gbf": ("https://w3id.org/mea/gbf/target-", 23),
}

_PATTERNS = {
    "aichi": re.compile(
        r"^(?:aichi[\s_-]*(?:biodiversity[\s_-]*)?target[\s_-]*|at)0*(\d{1,2})$|"
        r"aichi[\s_-]*(?:biodiversity[\s_-]*)?target[\s_-]*0*(\d{1,2})\b",
        re.I,
    ),
    "gbf": re.compile(
        r"^(?:(?:kmgbf|gbf)[\s_-]*(?:target|t)[\s_-]*)0*(\d{1,2})$|"
        r"\b(?:kmgbf|gbf|global biodiversity framework)[\s_-]*target[\s_-]*0*(\d{1,2})\b",
        re.I,
    ),
}


def target_number(value: Any, framework: str) -> int | None:
    """The target a tag names (``AICHI-TARGET-11``, ``Aichi Target 11``, ``AT11``,
    ``GBF-TARGET-03``, ``https://w3id.org/mea/aichi/target-11``), or None."""
    text = values.clean_text(value)
    if text is None:
        return None
    prefix, count = FRAMEWORKS[framework]
    if text.startswith(prefix):
        text = text[len(prefix) :]
        number = int(text) if text.isdigit() else 0
    else:
        match = _PATTERNS[framework].search(text)
        number = int(match.group(1) or match.group(2)) if match else 0
    return number if 1 <= number <= count else None


def target_iri(framework: str, number: int) -> str:
    return FRAMEWORKS[framework][0] + str(number)


def link_triples(
    concept: ox.NamedNode, method: str, score: float, evidence: Iterable[str], run_iri: str | None
) -> list[tuple[ox.NamedNode, ox.NamedNode | ox.Literal]]:
    """Predicate-object pairs of a ``mea:TargetLink`` node (without its subject)."""
    pairs: list[tuple[ox.NamedNode, ox.NamedNode | ox.Literal]] = [
        (ox.NamedNode(RDF + "type"), ox.NamedNode(MEA + "TargetLink")),
        (ox.NamedNode(MEA + "target"), concept),
        (ox.NamedNode(MEA + "method"), ox.Literal(method)),
        (
            ox.NamedNode(MEA + "score"),
            ox.Literal(f"{score:.3f}", datatype=ox.NamedNode(XSD + "decimal")),
        ),
    ]
    pairs.extend((ox.NamedNode(MEA + "evidence"), ox.Literal(cue)) for cue in evidence)
    if run_iri:
        pairs.append((ox.NamedNode(PROV + "wasGeneratedBy"), ox.NamedNode(run_iri)))
    return pairs
