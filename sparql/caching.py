"""HTTP validators tied to the store's version: ``ETag``, ``Last-Modified`` and ``304``.

An answer changes only when the store does (every write publishes a new generation on disk, or
bumps the version of an in-memory store), so the store's version plus what was asked (query,
dataset, negotiated types) is a validator that needs no evaluation: a revalidating client gets
its ``304 Not Modified`` before any query runs. ``Last-Modified`` is when the live generation
was published (the ``GENERATION`` pointer's mtime) or, in memory, when this version was first
seen. ETags are weak (``W/``): the same answer may be serialised with other blank-node labels.

An HTTP date has whole seconds: when a version is first seen in the same second as the one
before it, the date cannot tell them apart, so ``If-Modified-Since`` gets no ``304`` for that
version (``If-None-Match`` still does; see :meth:`StoreVersion.current`).

Pages that may not exist (linked data, the dataset description) use :class:`Revalidator`: a
``404`` is never turned into a ``304``, and the work is skipped only when the answer is known to
be a ``200`` (an ``ETag`` of this very version sent back, or one served here already).
Files served as they are (the dumps) use :func:`file_tag`.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime
from pathlib import Path

from starlette.datastructures import Headers
from starlette.responses import Response

from harvester.store.api import StoreBackend

__all__ = [
    "Revalidation",
    "Revalidator",
    "StoreAndFileVersion",
    "StoreVersion",
    "entity_tag",
    "file_tag",
    "is_not_modified",
    "not_modified",
    "validator_headers",
]

log = logging.getLogger(__name__)


class StoreVersion:
    """The version of ``store`` as ``(tag, last modified)``, read on every call (cheap).

    The last-modified time is a whole second, unless this version was first seen in the same
    second as the version before it (or earlier): then it is that second plus one half, which
    ``Last-Modified`` still shows as the second but :func:`is_not_modified` never finds older
    than an ``If-Modified-Since`` of that second (a client holding the version before must not
    get a ``304``).
    """

    def __init__(self, store: StoreBackend) -> None:
        self.store = store
        self._seen: tuple[str, float] = ("", 0.0)

    def current(self) -> tuple[str, float]:
        tag = f"{self.store.store_id}/{self.store.generation}/{self.store.version}"
        seen = self._seen
        if tag != seen[0]:
            self._seen = seen = (tag, _dated(seen, self._published()))
        return seen

    def _published(self) -> float:
        if self.store.path is not None:
            try:
                return (self.store.path / "GENERATION").stat().st_mtime
            except OSError as exc:
                log.debug("no generation pointer to date: %s", exc)
        return time.time()


class StoreAndFileVersion(StoreVersion):
    """The version of ``store`` and of the file at ``path`` (a representation that shows what
    the file says, as the dataset description shows when the dumps were written)."""

    def __init__(self, store: StoreBackend, path: Path | None) -> None:
        super().__init__(store)
        self.path = path

    def current(self) -> tuple[str, float]:
        stat = _stat(self.path)
        file_part = f"{stat.st_mtime_ns}-{stat.st_size}" if stat is not None else "-"
        tag = f"{self.store.store_id}/{self.store.generation}/{self.store.version}|{file_part}"
        seen = self._seen
        if tag != seen[0]:
            published = max(self._published(), stat.st_mtime if stat is not None else 0.0)
            self._seen = seen = (tag, _dated(seen, published))
        return seen


def _dated(previous: tuple[str, float], published: float) -> float:
    """The last-modified time of a version published at ``published``, first seen after the
    version ``previous`` (see :class:`StoreVersion`)."""
    if previous[0] and int(published) <= int(previous[1]):
        return int(previous[1]) + 0.5
    return float(int(published))


def _stat(path: Path | None) -> os.stat_result | None:
    if path is None:
        return None
    try:
        return path.stat()
    except OSError:
        return None


def entity_tag(version: str, parts: Iterable[str]) -> str:
    """A weak ETag for an answer of ``version`` to the request described by ``parts``."""
    digest = hashlib.sha256(version.encode("utf-8"))
    for part in parts:
        digest.update(b"\x00" + part.encode("utf-8", "surrogatepass"))
    return f'W/"{digest.hexdigest()[:32]}"'


def file_tag(stat: os.stat_result) -> str:
    """A strong ETag for a file sent byte for byte: its modification time and size."""
    digest = hashlib.sha256(f"{stat.st_mtime_ns}-{stat.st_size}".encode())
    return f'"{digest.hexdigest()[:32]}"'


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
    present, else ``If-Modified-Since``.

    :param modified: compared as it is with the date (whole seconds): pass a whole second for
        the ``Last-Modified`` sent to be matched.
    """
    if_none_match = headers.get("if-none-match")
    if if_none_match is not None:
        return _matches(if_none_match, etag)
    since = headers.get("if-modified-since")
    if since is None:
        return False
    try:
        date = parsedate_to_datetime(since)
    except (TypeError, ValueError):
        return False  # an invalid date is ignored (RFC 9110)
    if date.tzinfo is None:
        date = date.replace(tzinfo=UTC)  # "-0000": still GMT
    return modified <= date.timestamp()


def _matches(header: str, etag: str) -> bool:
    tags = _opaque_tags(header)
    return "*" in tags or etag.removeprefix("W/") in tags


def _opaque_tags(header: str) -> set[str]:
    """The entity tags of an ``If-None-Match`` header, without their ``W/`` (weak comparison)."""
    return {t.strip().removeprefix("W/") for t in header.split(",")}


def not_modified(headers: Mapping[str, str]) -> Response:
    """A ``304`` with ``headers`` (the validators, and ``Vary`` where the answer varies)."""
    return Response(status_code=304, headers=dict(headers))


# -- representations that may not exist -----------------------------------------------------------


@dataclass(frozen=True)
class Revalidation:
    """The validators of one GET or HEAD (see :meth:`Revalidator.check`).

    :param headers: the validator headers and the caller's (``Vary``), for the ``200`` or ``304``.
    :param not_modified: the answer is a ``304``, known without doing the work.
    """

    etag: str
    modified: float
    headers: dict[str, str]
    not_modified: bool
    request: Headers


class Revalidator:
    """Conditional requests for representations that may not exist (an unknown IRI is a
    ``404``, which a precondition must never turn into a ``304``, RFC 9110 section 13.2.1).

    A ``304`` is answered before the work when the answer is known to exist: the request's
    ``If-None-Match`` names this very ETag (which only a ``200`` of this store version had), or
    this process answered a ``200`` with it (remembered for the last ``remembered`` tags).
    Otherwise (``If-None-Match: *``, or an ``If-Modified-Since`` alone for a representation not
    served here) the work is done and :meth:`finish` answers the ``304`` if the result is a
    ``200``.
    """

    def __init__(self, version: StoreVersion, remembered: int = 4096) -> None:
        self.version = version
        self.remembered = remembered
        self._served: OrderedDict[str, None] = OrderedDict()
        self._lock = threading.Lock()

    def check(
        self,
        headers: Headers,
        parts: Iterable[str],
        extra: Mapping[str, str] | None = None,
        *,
        exists: bool = False,
    ) -> Revalidation:
        """The validators of the answer described by ``parts`` at the store's current version,
        and whether it is a ``304`` already; ``extra`` headers go with the ``200`` or ``304``.

        :param exists: the resource always has a representation (never a 404).
        """
        tag, modified = self.version.current()
        etag = entity_tag(tag, parts)
        validators = {**validator_headers(etag, modified), **(extra or {})}
        fresh = is_not_modified(headers, etag, modified) and (exists or self._known(headers, etag))
        return Revalidation(etag, modified, validators, fresh, headers)

    def finish(self, check: Revalidation, response: Response) -> Response:
        """``response`` (the work done) with its validators if it is a ``200``, or a ``304``
        when the request's preconditions say so; any other status goes out as it is."""
        if response.status_code != 200:
            return response
        self._remember(check.etag)
        if is_not_modified(check.request, check.etag, check.modified):
            return not_modified(check.headers)
        response.headers.update(check.headers)
        return response

    def _known(self, headers: Headers, etag: str) -> bool:
        """Whether a ``200`` with ``etag`` is certain (see the class docstring)."""
        if_none_match = headers.get("if-none-match")
        if if_none_match is not None and etag.removeprefix("W/") in _opaque_tags(if_none_match):
            return True
        with self._lock:
            if etag in self._served:
                self._served.move_to_end(etag)
                return True
        return False

    def _remember(self, etag: str) -> None:
        with self._lock:
            self._served[etag] = None
            self._served.move_to_end(etag)
            while len(self._served) > self.remembered:
                self._served.popitem(last=False)
