"""The Aichi Biodiversity Targets as the pages show them: number, code, names, official text,
strategic goal (one query over the reference scheme; the same for every page)."""

from __future__ import annotations

from dataclasses import dataclass, field

import pyoxigraph as ox

from .layout import AICHI_TARGET_NS
from .reading import Reader

__all__ = ["AICHI_SCHEME", "AichiTarget", "aichi_targets", "target_number"]

AICHI_SCHEME = "https://w3id.org/mea/scheme/aichi-targets"

_TARGETS = """PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
SELECT ?target ?code ?goal ?p ?o ?via WHERE {
  ?target skos:inScheme ?scheme ; skos:broader ?goal ; skos:notation ?code .
  { ?target ?p ?o FILTER(?p IN (skos:prefLabel, skos:altLabel, skos:definition)) }
  UNION { ?goal ?p ?o FILTER(?p IN (skos:prefLabel, skos:definition, skos:notation))
          BIND(skos:broader AS ?via) }
}"""


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
    """The targets of the Aichi scheme in the store, by number."""
    rows = reader.select(_TARGETS, {"scheme": ox.NamedNode(AICHI_SCHEME)})
    found: dict[str, AichiTarget] = {}
    for row in rows:
        iri = row["target"].value
        number = target_number(iri)
        if number is None:
            continue
        target = found.get(iri)
        if target is None:
            target = found[iri] = AichiTarget(number, iri, row["code"].value, row["goal"].value)
        _add(target, row)
    return sorted(found.values(), key=lambda t: t.number)


_SKOS = "http://www.w3.org/2004/02/skos/core#"


def _add(target: AichiTarget, row: dict[str, ox.NamedNode | ox.BlankNode | ox.Literal]) -> None:
    value, predicate = row.get("o"), row["p"].value
    if not isinstance(value, ox.Literal):
        return
    on_goal = "via" in row
    if on_goal:
        if predicate == _SKOS + "prefLabel":
            _once(target.goal_labels, value)
        elif predicate == _SKOS + "definition":
            _once(target.goal_definition, value)
        else:
            target.goal_code = value.value
    elif predicate == _SKOS + "prefLabel":
        _once(target.labels, value)
    elif predicate == _SKOS + "altLabel":
        _once(target.short, value)
    else:
        _once(target.definition, value)


def _once(values: list[ox.Literal], value: ox.Literal) -> None:
    if value not in values:
        values.append(value)
