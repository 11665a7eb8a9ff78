"""HTTP validators tied to the store's version: ``ETag``, ``Last-Modified`` and ``304``.

An answer changes only when the store does (every write publishes a new generation on disk, or
bumps the version of an in-memory store), so the store's version plus what was asked (query,
dataset, negotiated types) is a validator that needs no evaluation: a revalidating client gets
its ``304 Not Modified`` before any query runs. ``Last-Modified`` is when the live generation
was published (the ``GENERATION`` pointer's mtime) or, in memory, when this version was first
seen. ETags are weak (``W/``): the same answer may be serialised with other blank-node labels.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import time
from collections.abc import Iterable
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime

from starlette.datastructures import Headers

from harvester.store_api import StoreBackend

__all__ = ["StoreVersion", "entity_tag", "is_not_modified", "validator_headers"]

log = logging.getLogger(__name__)


class StoreVersion:
    """The version of ``store`` as ``(tag, last modified)``, read on every call (cheap)."""

    def __init__(self, store: StoreBackend) -> None:
        self.store = store
        self._seen: tuple[str, float] = ("", 0.0)

    def current(self) -> tuple[str, float]:
        tag = f"{self.store.store_id}/{self.store.generation}/{self.store.version}"
        if tag != self._seen[0]:
            self._seen = (tag, self._published())
        return self._seen

    def _published(self) -> float:
        if self.store.path is not None:
            try:
                return (self.store.path / "GENERATION").stat().st_mtime
            except OSError as exc:
                log.debug("no generation pointer to date: %s", exc)
        return time.time()


def entity_tag(version: str, parts: Iterable[str]) -> str:
    """A weak ETag for an answer of ``version`` to the request described by ``parts``."""
    digest = hashlib.sha256(version.encode("utf-8"))
    for part in parts:
        digest.update(b"\x00" + part.encode("utf-8", "surrogatepass"))
    return f'W/"{digest.hexdigest()[:32]}"'


def validator_headers(etag: str, modified: float) -> dict[str, str]:
    """``ETag``, ``Last-Modified``, and ``Cache-Control: no-cache`` (keep, but revalidate:
    the next harvest may change the answer)."""
    return {
        "ETag": etag,
        "Last-Modified": _http_date(int(modified)),
        "Cache-Control": "no-cache",
    }


@functools.lru_cache(maxsize=16)
def _http_date(seconds: int) -> str:
    return format_datetime(datetime.fromtimestamp(seconds, UTC), usegmt=True)


def is_not_modified(headers: Headers, etag: str, modified: float) -> bool:
    """RFC 9110 section 13.2.2 for GET: ``If-None-Match`` (weak comparison) decides when
    present, else ``If-Modified-Since``."""
    if_none_match = headers.get("if-none-match")
    if if_none_match is not None:
        return _matches(if_none_match, etag)
    since = headers.get("if-modified-since")
    if since is None:
        return False
    try:
        return int(modified) <= parsedate_to_datetime(since).timestamp()
    except (TypeError, ValueError):
        return False  # an invalid date is ignored (RFC 9110)


def _matches(header: str, etag: str) -> bool:
    tags = {t.strip().removeprefix("W/") for t in header.split(",")}
    return "*" in tags or etag.removeprefix("W/") in tags
