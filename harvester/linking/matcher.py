"""Matching cues against analysed text: a token index keyed by each cue's first stem.

Every cue is filed under the first stem of its first part, so one pass over a paragraph's stems
finds every candidate with one dictionary look-up per stem; a phrase cue then compares a slice of
the stems, a window cue (``"habitat ~ loss"``) looks its other parts up in a position map of the
paragraph built only when needed. The cost is linear in the paragraph, whatever the cue count.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from .cues import Cue
from .lexicon import WINDOW
from .text import Analysed

__all__ = ["CueIndex", "Hit"]


@dataclass(frozen=True, slots=True)
class Hit:
    """A cue found in a text, spanning stems ``start`` to ``end`` (exclusive)."""

    cue: Cue
    start: int
    end: int
    negated: bool


class _Positions:
    """Lazily built map from a stem to the positions where it occurs."""

    __slots__ = ("_map", "_stems")

    def __init__(self, stems: tuple[str, ...]) -> None:
        self._stems = stems
        self._map: dict[str, list[int]] | None = None

    def of(self, stem: str) -> list[int]:
        if self._map is None:
            self._map = defaultdict(list)
            for i, s in enumerate(self._stems):
                self._map[s].append(i)
        return self._map.get(stem, [])


class CueIndex:
    """All cues of one language, indexed for a single linear pass."""

    def __init__(self, cues: Sequence[Cue]) -> None:
        index: dict[str, list[Cue]] = defaultdict(list)
        for cue in cues:
            index[cue.parts[0][0]].append(cue)
        self._index = {stem: tuple(found) for stem, found in index.items()}

    def __len__(self) -> int:
        return sum(len(found) for found in self._index.values())

    def find(self, text: Analysed) -> list[Hit]:
        """Every cue occurrence in ``text`` (negated ones flagged, not dropped)."""
        stems, negated = text.stems, text.negated
        positions = _Positions(stems)
        hits: list[Hit] = []
        for i, stem in enumerate(stems):
            for cue in self._index.get(stem, ()):
                end = _match_at(cue, stems, i, positions)
                if end:
                    hits.append(Hit(cue, i, end, negated[i] and cue.negatable))
        return hits


def _match_at(cue: Cue, stems: tuple[str, ...], i: int, positions: _Positions) -> int:
    """End of ``cue`` matched at ``i`` (0 for no match); window cues end at their first part."""
    first = cue.parts[0]
    end = i + len(first)
    if len(first) > 1 and stems[i:end] != first:
        return 0
    if len(cue.parts) == 1:
        return end
    return end if all(_near(part, stems, i, positions) for part in cue.parts[1:]) else 0


def _near(part: tuple[str, ...], stems: tuple[str, ...], i: int, positions: _Positions) -> bool:
    """Whether phrase ``part`` starts within :data:`WINDOW` stems of position ``i``."""
    n = len(part)
    for j in positions.of(part[0]):
        if abs(j - i) <= WINDOW and j != i and stems[j : j + n] == part:
            return True
    return False
