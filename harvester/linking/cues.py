"""The cue table of the linker: every cue of every target, stemmed and weighted.

Sources, per target: the cues of ``ontology/aichi-keywords.json``, the target's short title
(``skos:altLabel`` in ``ontology/aichi-targets.ttl``) and the hand-written paraphrase cues of
:mod:`harvester.linking.lexicon`. An ontology cue's weight is derived, not typed:

- *specificity*: a one-word cue counts 0.45, two words 0.65, three or more 0.75, an acronym 0.6;
  a cue made only of generic stems (:data:`~harvester.linking.lexicon.GENERIC_WORDS`) counts
  40 % of that; :data:`~harvester.linking.lexicon.WEIGHT_OVERRIDES` replaces the result for cues
  that this rule misjudges ("water", "data", "protected areas");
- *sharing*: a cue listed for ``k`` targets is divided by ``sqrt(k)`` ("pesticides" is a cue of
  both target 7 and target 8, so it proves neither alone).
"""

from __future__ import annotations

import json
import math
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from rdflib import Graph, Literal
from rdflib.namespace import SKOS

from .lexicon import (
    BOILERPLATE,
    EXCLUDED_CUES,
    EXTRA_CUES,
    FOREIGN_CUES,
    GENERIC_WORDS,
    PROCEDURAL_CUES,
    WEIGHT_OVERRIDES,
)
from .text import stem_phrase

__all__ = [
    "Cue",
    "build_cues",
    "foreign_cues",
    "load_keywords",
    "load_short_titles",
    "procedural_cues",
]

_LENGTH_WEIGHT = {1: 0.45, 2: 0.65}
_ACRONYM_RE = re.compile(r"^[A-Z][A-Z0-9+]{1,6}$")
_TARGET_IRI_RE = re.compile(r"/target-(\d+)$")


@dataclass(frozen=True, slots=True)
class Cue:
    """One cue, ready for matching.

    :ivar target: the Aichi target (1..20), or 0 for a procedural or boilerplate cue
        (boilerplate: a set phrase that only hides the cues inside it).
    :ivar label: the cue as written (reported as evidence).
    :ivar parts: stemmed parts; one part is a phrase, several a window cue.
    :ivar weight: evidence strength 0..1 (for procedural cues: the share of scores taken away).
    :ivar negatable: whether a negation before the cue cancels it.
    """

    target: int
    label: str
    parts: tuple[tuple[str, ...], ...]
    weight: float
    negatable: bool = True


def load_keywords(path: Path) -> dict[int, list[str]]:
    """Read ``aichi-keywords.json`` (``{"AT01": [...], ...}``) keyed by target number."""
    raw: dict[str, list[str]] = json.loads(path.read_text(encoding="utf-8"))
    return {int(key[2:]): list(values) for key, values in raw.items()}


def load_short_titles(path: Path) -> dict[int, str]:
    """The English ``skos:altLabel`` (CBD short title) of each target in ``aichi-targets.ttl``."""
    graph = Graph().parse(path, format="turtle")
    titles: dict[int, str] = {}
    for subject, label in graph.subject_objects(SKOS.altLabel):
        match = _TARGET_IRI_RE.search(str(subject))
        if match and isinstance(label, Literal) and label.language in (None, "en"):
            titles[int(match.group(1))] = str(label)
    return titles


def derived_weight(cue: str, stems: tuple[str, ...]) -> float:
    """Specificity weight of an ontology cue, before sharing (see the module docstring)."""
    if cue in WEIGHT_OVERRIDES:
        return WEIGHT_OVERRIDES[cue]
    if _ACRONYM_RE.match(cue):
        return 0.6
    weight = _LENGTH_WEIGHT.get(len(stems), 0.75)
    if all(stem in GENERIC_WORDS for stem in stems):
        weight *= 0.4
    return weight


def _parts(label: str, lang: str) -> tuple[tuple[str, ...], ...]:
    return tuple(p for p in (stem_phrase(part, lang) for part in label.split("~")) if p)


def _negatable(label: str) -> bool:
    return not re.search(r"\b(not|no|non)\b", label.lower())


def build_cues(keywords: Mapping[int, Iterable[str]], titles: Mapping[int, str]) -> list[Cue]:
    """All English cues of the 20 targets, weighted and de-duplicated per target."""
    weighted: dict[tuple[int, tuple[tuple[str, ...], ...]], Cue] = {}
    for target, label, weight in _ontology_cues(keywords, titles):
        if label in EXCLUDED_CUES:
            continue
        _keep_strongest(
            weighted, Cue(target, label, _parts(label, "en"), weight, _negatable(label))
        )
    for target, extra in EXTRA_CUES.items():
        for label, weight in extra.items():
            _keep_strongest(weighted, Cue(target, label, _parts(label, "en"), weight))
    boilerplate = [Cue(0, label, _parts(label, "en"), 0.0, False) for label in BOILERPLATE]
    return [cue for cue in weighted.values() if cue.parts and not _numeric(cue)] + boilerplate


def _numeric(cue: Cue) -> bool:
    """Whether a cue is only numbers ("17%" stems to "17": it would match any paragraph 17)."""
    return all(stem.isdigit() for part in cue.parts for stem in part)


def _ontology_cues(
    keywords: Mapping[int, Iterable[str]], titles: Mapping[int, str]
) -> list[tuple[int, str, float]]:
    """(target, cue, weight) for keyword cues and short titles, weights divided by sharing."""
    owners: dict[tuple[str, ...], set[int]] = defaultdict(set)
    listed = {t: [c for c in cues if stem_phrase(c)] for t, cues in keywords.items()}
    for target, cues in listed.items():
        for cue in cues:
            owners[stem_phrase(cue)].add(target)
    found = [
        (t, c, derived_weight(c, stem_phrase(c)) / math.sqrt(len(owners[stem_phrase(c)])))
        for t, cues in listed.items()
        for c in cues
    ]
    return found + [(t, title, 0.8) for t, title in titles.items()]


def _keep_strongest(table: dict[tuple[int, tuple[tuple[str, ...], ...]], Cue], cue: Cue) -> None:
    key = (cue.target, cue.parts)
    if key not in table or table[key].weight < cue.weight:
        table[key] = cue


def procedural_cues(lang: str = "en") -> list[Cue]:
    """The procedural cues (target 0), English only: other languages get none."""
    if lang != "en":
        return []
    return [Cue(0, label, _parts(label, "en"), s) for label, s in PROCEDURAL_CUES.items()]


def foreign_cues(lang: str) -> list[Cue]:
    """The small built-in cue list of ``lang`` (``fr``, ``es``); empty for other languages."""
    table = FOREIGN_CUES.get(lang, {})
    return [
        Cue(target, label, _parts(label, lang), weight)
        for target, cues in table.items()
        for label, weight in cues.items()
    ]
