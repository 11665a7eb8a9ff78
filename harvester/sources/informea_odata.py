"""Source adapter for the InforMEA OData v2 toolkit (``kind = "informea-odata"``).

It lists an entity set page by page, copes with every paging style seen in the wild (client
``$top``/``$skip``, server ``__next`` links with leaked hosts, providers that ignore paging and
return the same page again), resolves ``__deferred`` navigation properties that the provider did
not expand, and probes single entities by key to tell deletions (404) from errors.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from ..exceptions import SourceError, SourceFormatError, SourceHTTPError
from ..http import Fetcher
from ..mapping import values
from ..models import WithheldReason
from ..settings import SourceConfig
from .atom import looks_like_atom, parse_atom_page
from .odata import Page, entity_url, looks_like_guid, parse_page, rebase

__all__ = ["DistinctRows", "Listing", "ODataSource", "RawRecord", "check_listing"]

log = logging.getLogger(__name__)

# Statuses on a first page that suggest the provider rejects one of our query options.
_OPTION_REJECTED = {400, 500, 501}


@dataclass(frozen=True)
class RawRecord:
    """One record as the provider sent it (navigations resolved), with where it came from.

    ``record_id`` is None when the payload has no usable id; ``problem`` says why a record
    could not even be read (not an object), for the run's error report.
    """

    entity: str
    record_id: str | None
    payload: Any
    url: str
    problem: str | None = None
    #: its listing row is as the store has it (see :data:`RowCheck`): its details were not
    #: fetched, and ``payload`` is the row alone
    unchanged: bool = False


#: Asked of each listed row with an id, before its details (navigations, trees) are fetched:
#: True when the row is exactly as the last run saw it, so the record need not be read again.
RowCheck = Callable[[RawRecord], bool]


def split_unchanged(
    rows: Sequence[RawRecord], unchanged: RowCheck | None
) -> tuple[list[RawRecord], list[RawRecord]]:
    """``rows`` as (unchanged, the others): rows with an id that ``unchanged`` vouches for,
    marked :attr:`RawRecord.unchanged`, and every other row as it was."""
    if unchanged is None:
        return [], list(rows)
    same, other = [], []
    for row in rows:
        if row.record_id is not None and row.problem is None and unchanged(row):
            same.append(replace(row, unchanged=True))
        else:
            other.append(row)
    return same, other


@dataclass
class Listing:
    """Progress of one entity set's listing; ``complete`` is True only after the last page,
    when nothing says that records were missed (then ``doubt`` says why it is False)."""

    entity: str
    complete: bool = False
    pages: int = 0
    repeated_page: bool = False
    #: the repeated page was exactly as long as the page asked for: more may follow it
    repeated_full_page: bool = False
    #: the largest count the provider gave (``__count``, ``@odata.count``, ``<m:count>``)
    total: int | None = None
    #: distinct rows delivered: records with an id, and rows without one (reported as failed)
    delivered: int = 0
    #: rows that repeated an id already listed (read once)
    duplicates: int = 0
    #: why deletions cannot rely on this listing (a reason and a message), when they cannot
    doubt: tuple[WithheldReason, str] | None = None
    notes: list[str] = field(default_factory=list)

    def distrust(self, reason: WithheldReason, message: str) -> None:
        """The listing ended but may have missed records: nothing is deleted on its account."""
        self.doubt = (reason, message)
        self.notes.append(message)


class ODataSource:
    """Reads the entity sets of one InforMEA toolkit service.

    :param config: the validated source configuration.
    :param fetcher: the polite HTTP fetcher (timeouts, retries, rate limit) for this source.
    """

    def __init__(self, config: SourceConfig, fetcher: Fetcher) -> None:
        self.config = config
        self.fetcher = fetcher

    # -- listing -----------------------------------------------------------------------------

    def records(
        self,
        entity: str,
        listing: Listing,
        *,
        navigations: Sequence[str] = (),
        since: datetime | None = None,
        unchanged: RowCheck | None = None,
    ) -> Iterator[RawRecord]:
        """Every record of ``entity``, each once; sets ``listing.complete`` at the end. Rows
        ``unchanged`` vouches for come as they were listed, marked unchanged, their
        navigations not fetched.

        :raises SourceError: when a page cannot be fetched or read (the listing is incomplete).
        """
        root = self.config.url_for(entity)
        rows = DistinctRows(entity)
        with ThreadPoolExecutor(max_workers=max(1, self.config.concurrency)) as pool:
            for items in self._pages(entity, listing, navigations, since):
                listed = [r for r in self._raw_records(entity, root, items) if rows.first(r)]
                same, fresh = split_unchanged(listed, unchanged)
                yield from same
                if any(_needs_fetch(r, navigations) for r in fresh):
                    yield from pool.map(lambda r: self._resolve(r, navigations, root), fresh)
                else:  # every navigation inline (or none asked): no thread hop per record
                    yield from fresh
        rows.settle(listing)
        check_listing(listing, counted=since is None)

    def _pages(
        self, entity: str, listing: Listing, navigations: Sequence[str], since: datetime | None
    ) -> Iterator[list[Any]]:
        """The pages of a listing. The next page is fetched on a thread of its own while the
        records of the current one are processed, so waiting for the provider overlaps the
        harvester's work."""
        root = self.config.url_for(entity)
        url, params = self._first_page(entity, root, navigations, since)
        signatures: set[str] = set()
        page, params = self._fetch_first(url, params)
        window = _Window(url, params)
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="meahub-prefetch") as ahead:
            while True:
                listing.pages += 1
                if page.count is not None:  # the largest: a count that shrank mid-listing
                    listing.total = max(page.count, listing.total or 0)  # means rows shifted
                signature = _signature(page.items)
                if signature in signatures:
                    listing.repeated_page = True
                    listing.repeated_full_page = _full(page.items, params)
                    listing.notes.append(f"{entity}: page {listing.pages} repeats an earlier page")
                    return
                signatures.add(signature)
                try:
                    next_step = self._next(page, root, url, params, listing, window)
                except SourceError:  # e.g. max_pages: this page's records still count
                    yield page.items
                    raise
                upcoming = None if next_step is None else ahead.submit(self._get_page, *next_step)
                yield page.items
                if upcoming is None or next_step is None:
                    return
                url, params = next_step
                page = upcoming.result()

    def _first_page(
        self, entity: str, root: str, navigations: Sequence[str], since: datetime | None
    ) -> tuple[str, dict[str, str]]:
        params = {"$format": "json", "$top": str(self.config.page_size), "$skip": "0"}
        params["$inlinecount"] = "allpages"  # lets a listing check it got every record
        if navigations:
            params["$expand"] = ",".join(navigations)
        params["$orderby"] = "id"
        if since is not None:
            params["$filter"] = f"updated gt datetime'{since.strftime('%Y-%m-%dT%H:%M:%S')}'"
        return f"{root}/{entity}", params

    def _get_page(
        self, url: str, params: Mapping[str, str] | None, *, ok_404: bool = False
    ) -> Page:
        """One listing or navigation response as a :class:`Page`, JSON or Atom alike (OData
        v2 answers Atom when a provider ignores ``$format=json`` and the Accept header)."""
        response = self.fetcher.get(url, params, ok_404=ok_404)
        if response.status_code == 404:
            return Page(items=[])
        content_type = response.headers.get("content-type", "")
        if looks_like_atom(content_type, response.content):
            return parse_atom_page(response.content, url=str(response.url))
        try:
            body = json.loads(response.content)
        except ValueError as exc:
            excerpt = response.text[:120].replace("\n", " ")
            raise SourceFormatError(
                f"not JSON or Atom ({content_type or 'no content type'}): {excerpt!r}",
                url=str(response.url),
            ) from exc
        return parse_page(body, url=str(response.url))

    def _fetch_first(self, url: str, params: dict[str, str]) -> tuple[Page, dict[str, str]]:
        """The first page, dropping query options one by one if the provider rejects them."""
        variants = [params]
        for option in ("$inlinecount", "$orderby", "$filter", "$expand", "$top", "$format"):
            if option in variants[-1]:
                reduced = {k: v for k, v in variants[-1].items() if k != option}
                if option == "$top":
                    reduced.pop("$skip", None)
                variants.append(reduced)
        for attempt, variant in enumerate(variants):
            try:
                return self._get_page(url, variant), variant
            except SourceHTTPError as exc:
                if exc.status not in _OPTION_REJECTED or attempt == len(variants) - 1:
                    raise
                log.warning("%s rejected %s (%s); retrying with fewer options", url, variant, exc)
        raise AssertionError("unreachable")

    def _next(
        self,
        page: Any,
        root: str,
        url: str,
        params: dict[str, str],
        listing: Listing,
        window: _Window,
    ) -> tuple[str, dict[str, str]] | None:
        """The next request: the provider's next link, else the next ``$skip`` window.

        A provider with a server page size answers a ``$top`` window in several pages linked
        by ``__next``, and ends the chain when the window is full, not when the listing is: so
        the rows of the chain are counted, and a full window asks for the next one."""
        if listing.pages >= self.config.max_pages:
            raise SourceError(f"stopped after max_pages={self.config.max_pages}", url=url)
        window.add(url, params, len(page.items))
        if page.next_link:
            return rebase(page.next_link, root), {}
        if not page.items or "$top" not in window.params:
            return None
        skip = int(window.params.get("$skip", "0")) + window.items
        # Past the provider's count the listing ends, unless this window was as long as asked:
        # a count that is too low must not cut the listing short, so ask once more.
        if listing.total is not None and skip >= listing.total and not window.full():
            return None
        return window.url, {**window.params, "$skip": str(skip)}

    def _raw_records(self, entity: str, root: str, items: list[Any]) -> Iterator[RawRecord]:
        for item in items:
            if not isinstance(item, Mapping):
                yield RawRecord(entity, None, item, root, f"not a JSON object: {str(item)[:60]}")
                continue
            record_id = values.clean_text(values.lookup(item, "id"))
            url = entity_url(root, entity, record_id) if record_id else f"{root}/{entity}"
            yield RawRecord(entity, record_id, dict(item), url)

    # -- navigations -------------------------------------------------------------------------

    def _resolve(self, record: RawRecord, navigations: Sequence[str], root: str) -> RawRecord:
        """Fetch the ``__deferred`` navigations the mapping needs (the provider did not expand)."""
        if not _needs_fetch(record, navigations):
            return record
        for nav in navigations:
            deferred = _deferred_uri(values.lookup(record.payload, nav))
            if deferred is not None:
                record.payload[_key(record.payload, nav)] = self._navigation(deferred, root)
        return record

    def _navigation(self, uri: str, root: str) -> dict[str, list[Any]]:
        """A navigation's items; a 404 means an empty (or vanished) navigation."""
        page = self._get_page(rebase(uri, root), {"$format": "json"}, ok_404=True)
        return {"results": page.items}

    # -- deletions ---------------------------------------------------------------------------

    def exists(self, entity: str, record_id: str) -> bool | None:
        """Probe one entity by key: False on 404 (deleted), True on 2xx, None when unsure."""
        root = self.config.url_for(entity)
        forms = [entity_url(root, entity, record_id)]
        if looks_like_guid(record_id):
            forms.append(entity_url(root, entity, record_id, guid=True))
        statuses = [self._probe(url) for url in forms]
        if any(s is not None and 200 <= s < 300 for s in statuses):
            return True
        return False if statuses[0] == 404 and all(s in (404, 400) for s in statuses) else None

    def _probe(self, url: str) -> int | None:
        try:
            return self.fetcher.get(url, {"$format": "json"}, ok_404=True).status_code
        except SourceHTTPError as exc:
            return exc.status


class DistinctRows:
    """Counts what a listing delivered: each id once, and each row without an id once (by
    its content: a row repeated by shifting pages is one row). Rows without an id are not
    dropped (the harvester reports them); a row repeating an id is read once and counted."""

    def __init__(self, entity: str) -> None:
        self.entity = entity
        self._ids: set[str] = set()
        self._anonymous: set[str] = set()
        self.duplicates = 0
        self.first_duplicate: str | None = None

    def first(self, record: RawRecord) -> bool:
        """Whether to read the record: False only for an id already listed."""
        if record.record_id is None:
            self._anonymous.add(_content_digest(record.payload))
            return True
        if record.record_id in self._ids:
            self.duplicates += 1
            self.first_duplicate = self.first_duplicate or record.record_id
            return False
        self._ids.add(record.record_id)
        return True

    def settle(self, listing: Listing) -> None:
        """Put the tally on the listing (and a note for repeated ids)."""
        listing.delivered = len(self._ids) + len(self._anonymous)
        listing.duplicates = self.duplicates
        if self.duplicates:
            listing.notes.append(
                f"{self.entity}: {self.duplicates} row(s) repeated an id already listed "
                f"(first {self.first_duplicate!r}); each record was read once"
            )


def check_listing(listing: Listing, *, counted: bool) -> None:
    """Whether a listing that reached its end can be trusted to name every record (and so
    be the basis for deletions); sets ``listing.complete``, or ``listing.doubt`` with why not.

    - fewer distinct rows (with an id or without) than the provider's own count: its paging
      is broken or unstable (``counted``: only a full listing's count is compared);
    - a page repeated an earlier one, the provider gave no count, and the repeated page was
      exactly as long as asked: the provider ignores paging options and more may follow.
    """
    entity, total, delivered = listing.entity, listing.total, listing.delivered
    if counted and total is not None and delivered < total:
        repeated = f"; {listing.duplicates} row(s) repeated an id" if listing.duplicates else ""
        listing.distrust(
            WithheldReason.INCOMPLETE_LISTING,
            f"{entity}: listing incomplete: {delivered} distinct records of the {total} the "
            f"provider counts{repeated}; deletions withheld",
        )
    elif listing.repeated_full_page and total is None:
        listing.distrust(
            WithheldReason.UNCERTAIN_LISTING,
            f"{entity}: listing uncertain: a full page repeated an earlier one and the "
            f"provider gives no count, so more records may exist; deletions withheld",
        )
    else:
        if counted and total is not None and delivered > total:
            listing.notes.append(
                f"{entity}: the provider counts {total} records but listed {delivered}"
            )
        listing.complete = True
        return
    listing.complete = False


@dataclass
class _Window:
    """The last ``$top``/``$skip`` request of a listing and the rows its pages delivered
    (one page, or a chain of ``__next`` pages from a provider with a server page size)."""

    url: str
    params: dict[str, str]
    items: int = 0

    def add(self, url: str, params: dict[str, str], items: int) -> None:
        if params:  # a request of ours starts a window; a next link's page continues it
            self.url, self.params, self.items = url, params, 0
        self.items += items

    def full(self) -> bool:
        top = self.params.get("$top")
        return top is None or (top.isdigit() and self.items >= int(top))


def _full(items: list[Any], params: Mapping[str, str]) -> bool:
    """Whether a page is exactly as long as the ``$top`` asked for (a next link's page: True,
    as nothing tells how long it should be)."""
    top = params.get("$top")
    return top is None or (top.isdigit() and len(items) == int(top))


def _content_digest(payload: Any) -> str:
    text = json.dumps(payload, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def _signature(items: list[Any]) -> str:
    """What identifies a page: its records' ids in order (ids are unique in an entity set),
    or the whole content for records without one."""
    digest = hashlib.sha256()
    for item in items:
        record_id = values.lookup(item, "id") if isinstance(item, Mapping) else None
        text = repr(record_id) if record_id is not None else json.dumps(item, default=str)
        digest.update(text.encode() + b"\x00")
    return digest.hexdigest()


def _needs_fetch(record: RawRecord, navigations: Sequence[str]) -> bool:
    """Whether :meth:`ODataSource._resolve` would fetch anything for this record."""
    if record.problem or not isinstance(record.payload, dict):
        return False
    return any(_deferred_uri(values.lookup(record.payload, nav)) for nav in navigations)


def _deferred_uri(value: Any) -> str | None:
    if isinstance(value, Mapping) and isinstance(value.get("__deferred"), Mapping):
        uri = value["__deferred"].get("uri")
        return uri if isinstance(uri, str) else None
    return None


def _key(record: Mapping[str, Any], name: str) -> str:
    return next((k for k in record if k.lower() == name.lower()), name)


ProbeFunction = Callable[[str, str], bool | None]
