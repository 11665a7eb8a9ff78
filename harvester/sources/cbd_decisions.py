"""Source adapter for CBD-style decision-tracking APIs (``kind = "cbd-decisions"``).

``GET <api root>/api/v2021/decisions`` lists decisions (a bare JSON array, paged with ``skip``
and ``limit`` where the service honours them); ``GET .../decisions/<code>/tree`` gives one
decision with its paragraph tree, whose nodes carry ``aichiTargets`` and ``gbfTargets`` tags.
The raw record kept and mapped is the tree document.

The configured ``url`` may be the API root (``https://host``) or the decision list a user
copies from the API (``https://host/api/v2021/decisions``, with or without a trailing slash or
a query string): :func:`decision_list_url` makes both the list URL, and the log says which
form was given and what is requested.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

from ..exceptions import SourceError, SourceFormatError, SourceHTTPError
from ..http import Fetcher
from ..mapping import values
from ..settings import SourceConfig
from .informea_odata import (
    DistinctRows,
    Listing,
    RawRecord,
    RowCheck,
    _signature,
    check_listing,
    split_unchanged,
)

__all__ = ["CbdDecisionsSource", "decision_list_url"]

log = logging.getLogger(__name__)

_API = "/api/v2021/decisions"


def decision_list_url(url: str) -> tuple[str, str]:
    """The decision list URL for a configured ``url``, and which form ``url`` had (for the
    log): the API root, the ``/api/v2021`` root, the list itself, or a URL below the list (a
    decision or its tree, cut back to the list). A query string is dropped (the harvester
    pages with its own ``skip`` and ``limit``)."""
    parts = urlsplit(url)
    path = parts.path.rstrip("/")
    at = path.find(_API)
    rest = path[at + len(_API) :] if at >= 0 else None
    if rest == "":
        form, path = "the decision list", path[:at]
    elif rest is not None and rest.startswith("/"):
        form, path = f"a URL below the decision list ({rest!r} dropped)", path[:at]
    elif path.endswith(_API.rsplit("/", 1)[0]):
        form, path = "the v2021 API root", path.removesuffix(_API.rsplit("/", 1)[0])
    else:
        form = "the API root"
    if parts.query:
        form += f"; its query string {parts.query!r} is ignored"
    return urlunsplit((parts.scheme, parts.netloc, path + _API, "", "")), form


class CbdDecisionsSource:
    """Reads the decisions (entity set ``Decisions``) of one decision-tracking service."""

    def __init__(self, config: SourceConfig, fetcher: Fetcher) -> None:
        self.config = config
        self.fetcher = fetcher
        self.root, form = decision_list_url(config.url)
        log.info(
            "%s: url %s is %s; listing decisions from %s", config.name, config.url, form, self.root
        )

    def records(
        self,
        entity: str,
        listing: Listing,
        *,
        navigations: Sequence[str] = (),
        since: datetime | None = None,
        unchanged: RowCheck | None = None,
    ) -> Iterator[RawRecord]:
        """Every decision tree once; sets ``listing.complete`` after the last page (unless
        the listing cannot be trusted to be whole: see :func:`check_listing`). A decision
        whose listing row ``unchanged`` vouches for comes as its row, marked unchanged, its
        tree not fetched.

        :raises SourceError: when the listing cannot be fetched or read, or past
            ``max_pages``.
        """
        rows = DistinctRows(entity)
        with ThreadPoolExecutor(max_workers=max(1, self.config.concurrency)) as pool:
            for page in self._pages(listing):
                listed = [self._listed(item) for item in page]
                same, fresh = split_unchanged([r for r in listed if rows.first(r)], unchanged)
                yield from same
                yield from (r for r in fresh if r.record_id is None)
                yield from pool.map(self._tree, [r.record_id for r in fresh if r.record_id])
        rows.settle(listing)
        check_listing(listing, counted=False)

    def _listed(self, item: Any) -> RawRecord:
        """A listing row: its code, or a row reported as unreadable (no code)."""
        code = _code(item)
        if code is None:
            excerpt = str(item)[:80]
            return RawRecord("Decisions", None, item, self.root, f"no decision code: {excerpt}")
        return RawRecord("Decisions", code, item, self._tree_url(code))

    def _pages(self, listing: Listing) -> Iterator[list[Any]]:
        limit, skip, signatures = self.config.page_size, 0, set()
        while True:
            if listing.pages >= self.config.max_pages:
                raise SourceError(f"stopped after max_pages={self.config.max_pages}", url=self.root)
            page = self._listing_page(skip, limit)
            listing.pages += 1
            if not page:
                return
            signature = _signature(page)
            if signature in signatures:
                listing.repeated_page = True
                listing.repeated_full_page = len(page) == limit
                listing.notes.append(f"Decisions: page {listing.pages} repeats an earlier page")
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
        """One decision's tree; a tree the service refuses (4xx) or that is not JSON is a
        record reported as failed (its decision was listed, so it is not deleted)."""
        url = self._tree_url(code)
        try:
            body = self.fetcher.get_json(url)
        except SourceHTTPError as exc:
            if exc.status is None or not 400 <= exc.status < 500:
                raise
            return RawRecord("Decisions", code, None, url, f"tree refused (HTTP {exc.status})")
        except SourceFormatError as exc:
            return RawRecord("Decisions", code, None, url, f"tree unreadable: {exc}")
        if not isinstance(body, dict):
            return RawRecord("Decisions", code, body, url, "the decision tree is not an object")
        # The code ("CBD/COP/15/04") is the record id: stable, and how a decision is probed.
        return RawRecord("Decisions", code, body, url)

    def _tree_url(self, code: str) -> str:
        return f"{self.root}/{quote(code, safe='')}/tree"

    def exists(self, entity: str, record_id: str) -> bool | None:
        """Probe a decision by its code: False on 404, True on 2xx, None when unsure."""
        try:
            status = self.fetcher.get(self._tree_url(record_id), ok_404=True).status_code
        except SourceHTTPError:
            return None
        return False if status == 404 else True if 200 <= status < 300 else None


def _code(item: Any) -> str | None:
    if isinstance(item, Mapping):
        return values.clean_text(item.get("code") or item.get("symbol"))
    return values.clean_text(item) if isinstance(item, str) else None
