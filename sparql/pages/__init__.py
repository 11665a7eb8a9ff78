"""Pages analysts read (issue 16): decisions as documents, the convention x Aichi target gap
matrix, Aichi targets, countries and treaties; server-rendered, no script, every one also RDF.

One module per page kind (:mod:`.decision`, :mod:`.gaps`, :mod:`.target`, :mod:`.country`,
:mod:`.treaty`), the shared layout (:mod:`.layout`), the store access (:mod:`.reading`), the
sanitiser of source HTML (:mod:`.sanitize`), and the wiring (:mod:`.site`).
"""

from __future__ import annotations

from .params import BadParameter
from .site import DECISION_PATH, GAP_FORMATS, SitePages

__all__ = ["DECISION_PATH", "GAP_FORMATS", "BadParameter", "SitePages"]
