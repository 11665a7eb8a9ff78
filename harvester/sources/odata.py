"""Reading OData v2 (and v4) JSON envelopes and links, whatever shape a provider sends.

Seen in the wild: ``{"d": {"results": [...], "__next": ..., "__count": "N"}}`` (verbose v2),
``{"d": [...]}`` (WCF bare arrays), ``{"d": {...}}`` (one entity), ``{"value": [...]}`` with
``@odata.nextLink`` (v4), and a bare top-level list. Next links may name a host the provider leaked
(``localhost:8081``); :func:`rebase` points them back at the configured service root.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

from ..exceptions import SourceFormatError

__all__ = ["Page", "entity_url", "parse_page", "rebase"]

_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


@dataclass(frozen=True)
class Page:
    """One page of a listing: its items, the server's next link and total count, if any."""

    items: list[Any]
    next_link: str | None = None
    count: int | None = None


def parse_page(body: Any, *, url: str = "") -> Page:
    """Read a listing response in any of the envelopes providers use.

    :raises SourceFormatError: when the body is none of them.
    """
    if isinstance(body, list):
        return Page(items=body)
    if not isinstance(body, Mapping):
        raise SourceFormatError(
            f"expected a JSON object or array, got {type(body).__name__}", url=url
        )
    if "d" in body:
        return _verbose_page(body["d"], url)
    if isinstance(body.get("value"), list):
        return Page(body["value"], body.get("@odata.nextLink"), _count(body.get("@odata.count")))
    raise SourceFormatError("no OData envelope ('d' or 'value') in the response", url=url)


def _verbose_page(d: Any, url: str) -> Page:
    if isinstance(d, list):
        return Page(items=d)
    if not isinstance(d, Mapping):
        raise SourceFormatError(f"'d' is a {type(d).__name__}, not an object or array", url=url)
    if "results" in d:
        results = d["results"]
        if not isinstance(results, list):
            raise SourceFormatError("'d.results' is not an array", url=url)
        return Page(results, _text(d.get("__next")), _count(d.get("__count")))
    return Page(items=[d])


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value.strip() else None


def _count(value: Any) -> int | None:
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def rebase(link: str, service_root: str) -> str:
    """Point a link the provider sent back at the configured service root.

    Keeps what follows the ``.svc`` segment (or the whole path when there is none) and takes
    scheme, host and port from ``service_root``, so a leaked internal host is never contacted.
    """
    root = urlsplit(service_root)
    if not urlsplit(link).scheme:
        link = service_root.rstrip("/") + "/" + link.lstrip("/")
    parts = urlsplit(link)
    path = parts.path
    marker = path.rfind(".svc")
    if marker >= 0 and ".svc" in root.path:
        path = root.path[: root.path.rfind(".svc")] + path[marker:]
    return urlunsplit((root.scheme, root.netloc, path, parts.query, ""))


def entity_url(service_root: str, entity: str, record_id: str, *, guid: bool = False) -> str:
    """The canonical URL of one entity: ``<root>/Decisions('id')`` (or ``(guid'id')``)."""
    key = quote(record_id.replace("'", "''"), safe="-._~'")
    if guid and _UUID.match(record_id):
        return f"{service_root}/{entity}(guid'{key}')"
    return f"{service_root}/{entity}('{key}')"


def looks_like_guid(record_id: str) -> bool:
    return bool(_UUID.match(record_id))
