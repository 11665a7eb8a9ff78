"""The Aichi Biodiversity Targets as the pages show them: number, code, names, official text,
strategic goal (one query over the reference scheme; the same for every page)."""

from __future__ import annotations

from dataclasses import dataclass, field

import pyoxigraph as ox

from .layout import AICHI_TARGET_NS
from .reading import Reader

__all__ = ["AICHI_SCHEME", "AichiTarget", "aichi_targets", "target_number"]

AICHI_SCHEME = "https://w3id.org/mea/scheme/aichi-targets"

# Two plain queries: in one, the engine evaluated the union of the labels first, over every
# statement of the store (0.84 s at 800,000 quads, growing with the store).
_TARGETS = """PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
SELECT ?target ?code ?goal WHERE {
  ?target skos:inScheme ?scheme ; skos:broader ?goal ; skos:notation ?code .
}"""
_LITERALS = """PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
SELECT ?x ?p ?o WHERE {
  {values} ?x ?p ?o
  FILTER(?p IN (skos:prefLabel, skos:altLabel, skos:definition, skos:notation) && isLITERAL(?o))
}"""
#: what a page shows of a target, and of its goal (``via``: read on the goal)
_ON_TARGET = ("prefLabel", "altLabel", "definition")
_ON_GOAL = ("prefLabel", "definition", "notation")


@dataclass
class AichiTarget:
    """One target of the scheme and its strategic goal (literals in every language given)."""

    number: int
    iri: str
    code: str
    goal: str
    labels: list[ox.Literal] = field(default_factory=list)
    short: list[ox.Literal] = field(default_factory=list)
    definition: list[ox.Literal] = field(default_factory=list)
    goal_labels: list[ox.Literal] = field(default_factory=list)
    goal_definition: list[ox.Literal] = field(default_factory=list)
    goal_code: str = ""


def target_number(iri: str) -> int | None:
    """``11`` for ``https://w3id.org/mea/aichi/target-11``, else None."""
    tail = iri[len(AICHI_TARGET_NS) :] if iri.startswith(AICHI_TARGET_NS) else ""
    return int(tail) if tail.isdigit() else None


def aichi_targets(reader: Reader) -> list[AichiTarget]:
    """The targets of the Aichi scheme in the store, by number (two queries)."""
    found: dict[str, AichiTarget] = {}
    for row in reader.select(_TARGETS, {"scheme": ox.NamedNode(AICHI_SCHEME)}):
        iri = row["target"].value
        number = target_number(iri)
        if number is not None and iri not in found:
            found[iri] = AichiTarget(number, iri, row["code"].value, row["goal"].value)
    nodes = [ox.NamedNode(i) for t in found.values() for i in (t.iri, t.goal)]
    literals: dict[str, list[tuple[str, ox.Literal]]] = {}
    for row in reader.select_values(_LITERALS, "x", nodes):
        value = row["o"]
        if isinstance(value, ox.Literal):
            name = row["p"].value.removeprefix(_SKOS)
            literals.setdefault(row["x"].value, []).append((name, value))
    for target in found.values():
        for name, value in literals.get(target.iri, ()):
            if name in _ON_TARGET:
                _add(target, name, value, on_goal=False)
        for name, value in literals.get(target.goal, ()):
            if name in _ON_GOAL:
                _add(target, name, value, on_goal=True)
    return sorted(found.values(), key=lambda t: t.number)


_SKOS = "http://www.w3.org/2004/02/skos/core#"


def _add(target: AichiTarget, name: str, value: ox.Literal, *, on_goal: bool) -> None:
    if on_goal:
        if name == "prefLabel":
            _once(target.goal_labels, value)
        elif name == "definition":
            _once(target.goal_definition, value)
        else:
            target.goal_code = value.value
    elif name == "prefLabel":
        _once(target.labels, value)
    elif name == "altLabel":
        _once(target.short, value)
    else:
        _once(target.definition, value)


def _once(values: list[ox.Literal], value: ox.Literal) -> None:
    if value not in values:
        values.append(value)
