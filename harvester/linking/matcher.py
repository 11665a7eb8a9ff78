"""Matching cues against analysed text: a token index keyed by each cue's first stems.

Every cue is filed under the first stem of its first part and, when that part is a phrase, under
its second stem too, so one pass over a paragraph's stems finds every candidate with a dictionary
look-up or two per stem; a longer phrase then compares a slice of the stems, a window cue
(``"habitat ~ loss"``) looks for its other parts in the stems around. The cost is linear in the
paragraph, whatever the cue count.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import NamedTuple

from .cues import Cue
from .lexicon import WINDOW
from .text import Analysed

__all__ = ["CueIndex", "Hit"]


class Hit(NamedTuple):
    """A cue found in a text, spanning stems ``start`` to ``end`` (exclusive)."""

    cue: Cue
    start: int
    end: int
    negated: bool


_Entry = tuple[Cue, tuple[str, ...], tuple[tuple[str, ...], ...]]
"""A cue as matched: the cue, its first part and its other (window) parts."""


class _Candidates:
    """The cues whose first part starts with one stem: by the stem after it (phrases of two
    stems or more, with the one-stem cues among them), or ``alone`` (the one-stem cues)."""

    __slots__ = ("alone", "by_next")

    def __init__(self, entries: Sequence[_Entry]) -> None:
        self.alone = tuple(e for e in entries if len(e[1]) == 1)
        nexts = {e[1][1] for e in entries if len(e[1]) > 1}
        self.by_next = {
            stem: tuple(e for e in entries if len(e[1]) == 1 or e[1][1] == stem) for stem in nexts
        }


class CueIndex:
    """All cues of one language, indexed for a single linear pass."""

    def __init__(self, cues: Sequence[Cue]) -> None:
        index: dict[str, list[Cue]] = defaultdict(list)
        for cue in cues:
            index[cue.parts[0][0]].append(cue)
        self._index = {stem: tuple(found) for stem, found in index.items()}
        self._candidates = {
            stem: _Candidates([(cue, cue.parts[0], cue.parts[1:]) for cue in found])
            for stem, found in self._index.items()
        }

    def __len__(self) -> int:
        return sum(len(found) for found in self._index.values())

    def find(self, text: Analysed) -> list[Hit]:
        """Every cue occurrence in ``text`` (negated ones flagged, not dropped), by position and
        then in index order."""
        stems, negated = text.stems, text.negated
        hits: list[Hit] = []
        last = len(stems) - 1
        for i, stem in enumerate(stems):
            found = self._candidates.get(stem)
            if found is None:
                continue
            entries = found.by_next.get(stems[i + 1], found.alone) if i < last else found.alone
            for cue, first, others in entries:
                end = i + len(first)
                if end > i + 2 and stems[i:end] != first:
                    continue  # a phrase of three stems or more that goes on differently
                if others and not _near(others, stems, i):
                    continue
                hits.append(Hit(cue, i, end, negated[i] and cue.negatable))
        return hits


def _near(parts: tuple[tuple[str, ...], ...], stems: tuple[str, ...], i: int) -> bool:
    """Whether every phrase of ``parts`` starts within :data:`WINDOW` stems of position ``i``
    (not at ``i``)."""
    start = max(i - WINDOW, 0)
    window = stems[start : i + WINDOW + 1]
    for part in parts:
        first = part[0]
        if first not in window or not any(
            stem == first and j != i and stems[j : j + len(part)] == part
            for j, stem in enumerate(window, start)
        ):
            return False
    return True
