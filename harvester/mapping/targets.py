"""Target frameworks (Aichi, GBF): reading target names, their IRIs, and qualified link nodes."""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache
from typing import Any

import pyoxigraph as ox

from ..vocab import MEA, PROV, RDF, XSD
from . import values

__all__ = ["FRAMEWORKS", "link_lines", "link_triples", "target_iri", "target_number"]

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


_RDF_TYPE = ox.NamedNode(RDF + "type")
_LINK_CLASS = ox.NamedNode(MEA + "TargetLink")
_TARGET = ox.NamedNode(MEA + "target")
_METHOD = ox.NamedNode(MEA + "method")
_SCORE = ox.NamedNode(MEA + "score")
_EVIDENCE = ox.NamedNode(MEA + "evidence")
_GENERATED = ox.NamedNode(PROV + "wasGeneratedBy")
_DECIMAL = ox.NamedNode(XSD + "decimal")
_TYPE_LINE = f"{_RDF_TYPE} {_LINK_CLASS}"  # the N-Triples of the terms, as pyoxigraph writes them
_TARGET_TEXT, _METHOD_TEXT, _SCORE_TEXT = str(_TARGET), str(_METHOD), str(_SCORE)
_EVIDENCE_TEXT, _GENERATED_TEXT = str(_EVIDENCE), str(_GENERATED)


def link_triples(
    concept: ox.NamedNode, method: str, score: float, evidence: Iterable[str], run_iri: str | None
) -> list[tuple[ox.NamedNode, ox.NamedNode | ox.Literal]]:
    """Predicate-object pairs of a ``mea:TargetLink`` node (without its subject)."""
    pairs: list[tuple[ox.NamedNode, ox.NamedNode | ox.Literal]] = [
        (_RDF_TYPE, _LINK_CLASS),
        (_TARGET, concept),
        (_METHOD, ox.Literal(method)),
        (_SCORE, ox.Literal(f"{score:.3f}", datatype=_DECIMAL)),
    ]
    pairs.extend((_EVIDENCE, ox.Literal(cue)) for cue in evidence)
    if run_iri:
        pairs.append((_GENERATED, ox.NamedNode(run_iri)))
    return pairs


def link_lines(
    link: str, concept: str, method: str, score: float, evidence: Iterable[str], run: str | None
) -> list[str]:
    """The triples of :func:`link_triples` as N-Triples lines (no final dots), for the link node
    and concept given in N-Triples (``<iri>``), and ``run`` for ``run_iri``. Terms are written by
    pyoxigraph; repeated ones are remembered."""
    lines = [
        f"{link} {_TYPE_LINE}",
        f"{link} {_TARGET_TEXT} {concept}",
        f"{link} {_METHOD_TEXT} {_literal_text(method)}",
        f"{link} {_SCORE_TEXT} {_decimal_text(f'{score:.3f}')}",
    ]
    lines.extend(f"{link} {_EVIDENCE_TEXT} {_literal_text(cue)}" for cue in evidence)
    if run:
        lines.append(f"{link} {_GENERATED_TEXT} {run}")
    return lines


@lru_cache(maxsize=4096)
def _literal_text(text: str) -> str:
    return str(ox.Literal(text))


@lru_cache(maxsize=4096)
def _decimal_text(lexical: str) -> str:
    return str(ox.Literal(lexical, datatype=_DECIMAL))
