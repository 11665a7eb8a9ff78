"""Source adapter for CBD-style decision-tracking APIs (``kind = "cbd-decisions"``).

``GET <url>/api/v2021/decisions`` lists decisions (a bare JSON array, paged with ``skip`` and
``limit`` where the service honours them); ``GET <url>/api/v2021/decisions/<code>/tree`` gives one
decision with its paragraph tree, whose nodes carry ``aichiTargets`` and ``gbfTargets`` tags.
The raw record kept and mapped is the tree document.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any
from urllib.parse import quote

from .. import values
from ..exceptions import SourceFormatError
from ..http import Fetcher
from ..settings import SourceConfig
from .informea_odata import Listing, RawRecord, _signature

__all__ = ["CbdDecisionsSource"]

log = logging.getLogger(__name__)

_API = "/api/v2021/decisions"


class CbdDecisionsSource:
    """Reads the decisions (entity set ``Decisions``) of one decision-tracking service."""

    def __init__(self, config: SourceConfig, fetcher: Fetcher) -> None:
        self.config = config
        self.fetcher = fetcher
        self.root = config.url.rstrip("/") + _API

    def records(
        self,
        entity: str,
        listing: Listing,
        *,
        navigations: Sequence[str] = (),
        since: datetime | None = None,
    ) -> Iterator[RawRecord]:
        """Every decision tree once; sets ``listing.complete`` after the last page.

        :raises SourceError: when the listing or a tree cannot be fetched or read.
        """
        seen: set[str] = set()
        with ThreadPoolExecutor(max_workers=max(1, self.config.concurrency)) as pool:
            for page in self._pages(listing):
                codes = [c for c in (_code(item) for item in page) if c and c not in seen]
                seen.update(codes)
                yield from pool.map(self._tree, codes)
        listing.complete = True

    def _pages(self, listing: Listing) -> Iterator[list[Any]]:
        limit, skip, signatures = self.config.page_size, 0, set()
        while listing.pages < self.config.max_pages:
            page = self._listing_page(skip, limit)
            listing.pages += 1
            signature = _signature(page)
            if not page or signature in signatures:
                return
            signatures.add(signature)
            yield page
            skip += len(page)

    def _listing_page(self, skip: int, limit: int) -> list[Any]:
        body = self.fetcher.get_json(self.root, {"skip": str(skip), "limit": str(limit)})
        if isinstance(body, Mapping):
            body = body.get("results", body.get("data", body.get("decisions")))
        if not isinstance(body, list):
            raise SourceFormatError("the decision listing is not a JSON array", url=self.root)
        return body

    def _tree(self, code: str) -> RawRecord:
        url = self._tree_url(code)
        body = self.fetcher.get_json(url)
        if not isinstance(body, dict):
            return RawRecord("Decisions", code, body, url, "the decision tree is not an object")
        # The code ("CBD/COP/15/04") is the record id: stable, and how a decision is probed.
        return RawRecord("Decisions", code, body, url)

    def _tree_url(self, code: str) -> str:
        return f"{self.root}/{quote(code, safe='')}/tree"

    def exists(self, entity: str, record_id: str) -> bool | None:
        """Probe a decision by its code: False on 404."""
        status = self.fetcher.get(self._tree_url(record_id), ok_404=True).status_code
        return False if status == 404 else True if 200 <= status < 300 else None


def _code(item: Any) -> str | None:
    if isinstance(item, Mapping):
        return values.clean_text(item.get("code") or item.get("symbol"))
    return values.clean_text(item) if isinstance(item, str) else None
