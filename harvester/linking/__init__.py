"""Linking decision paragraphs to the 20 Aichi Biodiversity Targets.

- :class:`Linker` (method :data:`METHOD`): a pure, fast lexical linker over the cues of
  ``ontology/`` and a hand-written lexicon; :meth:`Linker.score` and :meth:`Linker.link`.
- :func:`split_paragraphs`: decision content HTML to numbered :class:`Paragraph` objects.
- ``python -m harvester.linking.evaluate``: precision, recall and F1 on a labelled set.
"""

from __future__ import annotations

from .linker import DEFAULT_THRESHOLD, METHOD, Linker, TargetScore
from .paragraphs import Paragraph, split_paragraphs

__all__ = ["DEFAULT_THRESHOLD", "METHOD", "Linker", "Paragraph", "TargetScore", "split_paragraphs"]
