"""The lexical linker: scores each (paragraph, Aichi target) pair from weighted cues.

How a score is made (method :data:`METHOD`):

1. The text is analysed (:func:`~harvester.linking.text.analyse`): lower case, Snowball stems,
   stop words dropped, negation scopes marked.
2. Cues are found by one pass over the stems (:class:`~harvester.linking.matcher.CueIndex`).
   A negated cue ("not including protected areas") is dropped; a cue contained in a longer cue
   of the same target ("protected areas" inside "marine protected areas") is not counted twice.
3. Per target, the weights ``w`` of the distinct cues found combine as a noisy-OR,
   ``1 - prod(1 - w)``: several weak cues add up, none exceeds 1.
4. Procedural paragraphs (dates, hosts, agendas, budgets, reports) lose the share of their score
   given by the strongest procedural cue, so only strong topical evidence survives.
5. An explicit mention ("Aichi Biodiversity Targets 11 and 12") scores at least
   :data:`EXPLICIT_SCORE`, procedural or not.

Languages: English text is scored with the full cue table. Text in French or Spanish (given as
``lang`` or recognised from its function words when no English is at hand) is scored with the
small cue list of :data:`~harvester.linking.lexicon.FOREIGN_CUES`; any other language gets no
targets.
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from ..paths import ONTOLOGY_DIR
from .cues import build_cues, foreign_cues, load_keywords, load_short_titles, procedural_cues
from .matcher import CueIndex, Hit
from .text import Analysed, analyse_tokens, tokenise

__all__ = ["DEFAULT_THRESHOLD", "EXPLICIT_SCORE", "METHOD", "Linker", "TargetScore"]

METHOD = "lexical-v1"
"""The method name stored on inferred ``mea:targetLink`` nodes."""

DEFAULT_THRESHOLD = 0.5
"""Links scoring above this are kept by :meth:`Linker.link` unless told otherwise."""

EXPLICIT_SCORE = 0.95

_EXPLICIT_RE = re.compile(
    r"\baichi\s+(?:biodiversity\s+)?targets?\s+(\d{1,2}(?:\s*(?:,|and|to|-|–|&)\s*\d{1,2})*)",
    re.IGNORECASE,
)
_RANGE_RE = re.compile(r"(\d{1,2})\s*(?:to|-|–)\s*(\d{1,2})")
_LANG_OF_WORD = {
    "the": "en", "of": "en", "and": "en", "les": "fr", "des": "fr", "du": "fr", "et": "fr",
    "aux": "fr", "los": "es", "las": "es", "del": "es", "y": "es",
}  # fmt: skip
_FUNCTION_WORD_RE = re.compile(rf"\b({'|'.join(_LANG_OF_WORD)})\b", re.IGNORECASE)
_LOWER_FUNCTION_WORD_RE = re.compile(rf"\b({'|'.join(_LANG_OF_WORD)})\b")
"""The same words in lower-case ASCII text, where it finds what the other does, faster."""


@dataclass(frozen=True, slots=True)
class TargetScore:
    """How strongly a text addresses one Aichi target.

    :ivar target: the target number, 1..20.
    :ivar score: 0..1.
    :ivar evidence: the cues matched, strongest first (``"Aichi Target 11"`` for explicit ones).
    """

    target: int
    score: float
    evidence: tuple[str, ...]


class Linker:
    """Scores texts against the 20 Aichi targets; pure, thread-safe after construction."""

    def __init__(
        self,
        indexes: Mapping[str, CueIndex],
        procedural: CueIndex,
        threshold: float = DEFAULT_THRESHOLD,
    ) -> None:
        """:param indexes: cue index per language (``en`` is required).
        :param procedural: the procedural cues (English).
        :param threshold: default threshold of :meth:`link`."""
        self._indexes = dict(indexes)
        self._procedural = procedural
        self.threshold = threshold

    @classmethod
    def from_ontology(
        cls, directory: Path = ONTOLOGY_DIR, threshold: float = DEFAULT_THRESHOLD
    ) -> Linker:
        """A linker over ``aichi-keywords.json`` and ``aichi-targets.ttl`` in ``directory``."""
        keywords = load_keywords(directory / "aichi-keywords.json")
        titles = load_short_titles(directory / "aichi-targets.ttl")
        indexes = {"en": CueIndex(build_cues(keywords, titles))}
        indexes |= {lang: CueIndex(foreign_cues(lang)) for lang in ("fr", "es")}
        return cls(indexes, CueIndex(procedural_cues()), threshold)

    def score(self, text: str, lang: str = "en") -> list[TargetScore]:
        """Every target with a score above 0 for ``text``, best first."""
        tokens = tokenise(text)
        lang = _language(text, lang, tokens)
        index = self._indexes.get(lang)
        if index is None or not text.strip():
            return []
        analysed = analyse_tokens(tokens, lang)
        grouped = _per_target([h for h in index.find(analysed) if not h.negated])
        explicit = _explicit_targets(text)
        if not grouped and not explicit:
            return []
        factor = 1.0 - self._procedural_strength(analysed) if lang == "en" else 1.0
        return _rank(_combine(grouped, factor, explicit))

    def link(
        self, text: str, threshold: float | None = None, lang: str = "en"
    ) -> list[TargetScore]:
        """The targets of :meth:`score` above ``threshold`` (default: :attr:`threshold`)."""
        limit = self.threshold if threshold is None else threshold
        return [s for s in self.score(text, lang) if s.score > limit]

    def _procedural_strength(self, analysed: Analysed) -> float:
        """The strongest procedural cue of ``analysed`` (0 for a substantive paragraph)."""
        hits = [h.cue.weight for h in self._procedural.find(analysed) if not h.negated]
        return max(hits, default=0.0)


def _language(text: str, lang: str, tokens: list[str]) -> str:
    """``lang`` reduced to its primary subtag; English text given as another is kept English,
    and text given as English that is clearly French or Spanish is treated as such.

    :param tokens: the tokens of ``text`` (:func:`~harvester.linking.text.tokenise`)."""
    primary = lang.lower().split("-")[0].split("_")[0] or "en"
    counts: dict[str, int] = defaultdict(int)
    for word in _function_words(text, tokens):
        counts[_LANG_OF_WORD[word]] += 1
    if not counts:
        return primary
    best = max(counts, key=counts.__getitem__)
    return best if counts[best] >= 2 * counts.get(primary, 0) + 2 else primary


def _function_words(text: str, tokens: list[str]) -> list[str]:
    """The function words in the first 2,000 characters of ``text``, lower-cased, in order."""
    if len(text) <= 2000 and text.isascii() and "_" not in text:
        return [token for token in tokens if token in _LANG_OF_WORD]  # found as tokens
    head = text[:2000]
    if head.isascii():  # lower-casing ASCII text first is matching case-insensitively
        return _LOWER_FUNCTION_WORD_RE.findall(head.lower())
    # casefold, not lower: the pattern also matches "leſ" (long s)
    return [word.casefold() for word in _FUNCTION_WORD_RE.findall(head)]


def _per_target(hits: Iterable[Hit]) -> dict[int, list[Hit]]:
    """Hits grouped by target, leaving out those covered by another hit (:func:`_covers`)."""
    kept: list[Hit] = []
    for hit in sorted(hits, key=lambda h: h.start - h.end):
        for other in kept:
            if _covers(other, hit):
                break
        else:
            kept.append(hit)
    grouped: dict[int, list[Hit]] = {}
    for hit in kept:
        if hit.cue.target:
            grouped.setdefault(hit.cue.target, []).append(hit)
    return grouped


def _covers(other: Hit, hit: Hit) -> bool:
    """Whether phrase hit ``other`` spans ``hit``: any hit of the same target or boilerplate,
    a strictly shorter one of another target ("poverty eradication" hides "eradication");
    a window hit only when strictly shorter or inside boilerplate."""
    if len(other.cue.parts) > 1 or not (other.start <= hit.start and hit.end <= other.end):
        return False
    longer = other.end - other.start > hit.end - hit.start
    if len(hit.cue.parts) > 1:  # a window cue adds a second word: only a longer phrase hides it
        return longer or other.cue.target == 0
    return longer or other.cue.target in (0, hit.cue.target)


def _combine(
    grouped: Mapping[int, list[Hit]], factor: float, explicit: set[int]
) -> dict[int, TargetScore]:
    """Noisy-OR of the distinct cue weights of each target, then procedural damping."""
    scores: dict[int, TargetScore] = {}
    for target, hits in grouped.items():
        cues = {h.cue.label: h.cue.weight for h in hits}
        strongest = sorted(cues, key=cues.__getitem__, reverse=True)  # ties keep their order
        evidence = tuple(strongest)
        value = (1.0 - math.prod([1.0 - w for w in cues.values()])) * factor
        scores[target] = TargetScore(target, round(value, 4), evidence)
    for target in explicit:
        old = scores.get(target, TargetScore(target, 0.0, ()))
        label = f"Aichi Target {target}"
        scores[target] = TargetScore(target, max(old.score, EXPLICIT_SCORE), (label, *old.evidence))
    return scores


def _explicit_targets(text: str) -> set[int]:
    """Targets named outright: "Aichi Target 11", "Aichi Biodiversity Targets 5, 11 and 15"."""
    found: set[int] = set()
    if text.isascii() and "aichi" not in text.lower():
        return found  # the quick answer for most paragraphs
    for match in _EXPLICIT_RE.finditer(text):
        numbers = match.group(1)
        for low, high in _RANGE_RE.findall(numbers):
            found.update(range(int(low), int(high) + 1))
        found.update(int(n) for n in re.findall(r"\d{1,2}", numbers))
    return {n for n in found if 1 <= n <= 20}


def _rank(scores: Mapping[int, TargetScore]) -> list[TargetScore]:
    return sorted((s for s in scores.values() if s.score > 0), key=lambda s: (-s.score, s.target))
