"""Atom/XML output of the mock provider: the OData v2 default format, as Olingo/WCF write it.

:func:`render_atom` takes the verbose JSON payload the provider built (``{"d": ...}``) and
writes the same data as Atom: a ``<feed xml:base="<root>/">`` with ``<m:count>`` (from
``__count``) and ``<link rel="next">`` (from ``__next``), or a single ``<entry>``. In an entry,
``__deferred`` values become plain navigation links, expanded ones (``{"results": [...]}`` or a
list of entities) links with ``<m:inline><feed>``, ``/Date(ms)/`` texts ``Edm.DateTime``
(``2015-06-10T00:00:00``), numbers and booleans typed ``m:type`` values, None
``m:null="true"``, and lists of plain values or complex items (CBD's ``LocalizableString``)
``Collection(...)`` properties with ``m:item`` children. A navigation answer whose items are
not entities (CBD inline arrays) is written as a bare ``<d:name m:type="Collection(...)">``
property document.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

__all__ = ["ENTRY_TYPE", "FEED_TYPE", "PROPERTY_TYPE", "render_atom"]

FEED_TYPE = "application/atom+xml;type=feed;charset=utf-8"
ENTRY_TYPE = "application/atom+xml;type=entry;charset=utf-8"
PROPERTY_TYPE = "application/xml;charset=utf-8"

_NAMESPACES = (
    'xmlns="http://www.w3.org/2005/Atom" '
    'xmlns:m="http://schemas.microsoft.com/ado/2007/08/dataservices/metadata" '
    'xmlns:d="http://schemas.microsoft.com/ado/2007/08/dataservices"'
)
_DECLARATION = '<?xml version="1.0" encoding="utf-8"?>'
_RELATED = "http://schemas.microsoft.com/ado/2007/08/dataservices/related/"
_SCHEME = "http://schemas.microsoft.com/ado/2007/08/dataservices/scheme"
#: Atom wants an ``<updated>``; a fixed one keeps repeated answers byte-identical.
_UPDATED = "2025-07-01T00:00:00Z"
#: The type written for complex collection items the JSON does not name (CBD ``roles``).
_UNNAMED_COMPLEX = "informea.ComplexValue"
_MS_DATE = re.compile(r"^/Date\((-?\d+)\)/$")
_TEXT_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", "\r": "&#13;"})
_ATTR_ESCAPES = str.maketrans(
    {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "\r": "&#13;", "\n": "&#10;"}
)


def render_atom(
    payload: Mapping[str, Any], *, base_url: str, path: str, name: str
) -> tuple[str, str]:
    """The Atom document for one JSON answer, and its content type.

    :param payload: the provider's ``{"d": ...}`` answer (listing, entity or navigation).
    :param base_url: the service root, written as ``xml:base`` (with a trailing slash).
    :param path: the request path under the root (``Decisions``, ``Sites('x')/name``).
    :param name: the entity set or navigation property answered (feed title, property name).
    """
    writer = _Writer(base_url.rstrip("/"))
    d = payload["d"]
    if isinstance(d, list):
        d = {"results": d}
    if "results" not in d:
        return _DECLARATION + writer.entry(d, root=True), ENTRY_TYPE
    items = d["results"]
    if not all(_is_entity(item) for item in items):
        return _DECLARATION + _property(name, items, root=True), PROPERTY_TYPE
    feed = writer.feed(items, path, name, count=d.get("__count"), next_link=d.get("__next"))
    return _DECLARATION + feed, FEED_TYPE


class _Writer:
    """Writes feeds and entries with links relative to the service root."""

    def __init__(self, root: str) -> None:
        self.root = root

    def feed(
        self,
        items: Iterable[Any],
        path: str,
        title: str,
        *,
        count: Any = None,
        next_link: str | None = None,
        root: bool = True,
    ) -> str:
        head = f'<feed {_NAMESPACES} xml:base="{_attr(self.root)}/">' if root else "<feed>"
        parts = [
            head,
            f"<id>{_text(self._absolute(path))}</id>",
            f'<title type="text">{_text(title)}</title>',
            f"<updated>{_UPDATED}</updated><author><name/></author>",
            f'<link href="{_attr(self._relative(path))}" rel="self" title="{_attr(title)}"/>',
        ]
        if count is not None:
            parts.append(f"<m:count>{_text(str(count))}</m:count>")
        parts.extend(self.entry(item) for item in items)
        if next_link:
            parts.append(f'<link href="{_attr(next_link)}" rel="next"/>')
        return "".join(parts) + "</feed>"

    def entry(self, item: Mapping[str, Any], *, root: bool = False) -> str:
        metadata = item.get("__metadata") or {}
        uri = str(metadata.get("uri") or metadata.get("id") or "")
        head = f'<entry {_NAMESPACES} xml:base="{_attr(self.root)}/">' if root else "<entry>"
        parts = [head, *self._entry_head(uri, str(metadata.get("type") or ""))]
        properties: list[str] = []
        for key, value in item.items():
            if key == "__metadata":
                continue
            link = self._navigation(uri, key, value)
            if link is None:
                properties.append(_property(key, value))
            else:
                parts.append(link)
        if metadata.get("type"):
            parts.append(f'<category term="{_attr(str(metadata["type"]))}" scheme="{_SCHEME}"/>')
        parts.append(f'<content type="application/xml"><m:properties>{"".join(properties)}')
        return "".join(parts) + "</m:properties></content></entry>"

    def _entry_head(self, uri: str, type_name: str) -> list[str]:
        parts = [f"<id>{_text(uri)}</id>"] if uri else []
        parts.append(f'<title type="text"/><updated>{_UPDATED}</updated><author><name/></author>')
        if uri:
            title = _attr(type_name.rsplit(".", 1)[-1])
            parts.append(f'<link href="{_attr(self._relative(uri))}" rel="edit" title="{title}"/>')
        return parts

    def _navigation(self, uri: str, name: str, value: Any) -> str | None:
        """A navigation link for ``value``, or None when it is a plain property."""
        href = f"{uri}/{name}"
        if isinstance(value, Mapping) and isinstance(value.get("__deferred"), Mapping):
            return self._link(name, str(value["__deferred"].get("uri") or href), "feed", "")
        if _is_entity(value):
            return self._link(name, href, "entry", f"<m:inline>{self.entry(value)}</m:inline>")
        expanded = isinstance(value, Mapping) and isinstance(value.get("results"), list)
        items = value["results"] if expanded else value
        if expanded or (isinstance(items, list) and items and all(map(_is_entity, items))):
            feed = self.feed(items, href, name, root=False)
            return self._link(name, href, "feed", f"<m:inline>{feed}</m:inline>")
        return None

    def _link(self, name: str, href: str, kind: str, inline: str) -> str:
        attributes = (
            f'href="{_attr(self._relative(href))}" rel="{_RELATED}{_attr(name)}" '
            f'title="{_attr(name)}" type="application/atom+xml;type={kind}"'
        )
        return f"<link {attributes}>{inline}</link>" if inline else f"<link {attributes}/>"

    def _relative(self, uri: str) -> str:
        return uri[len(self.root) + 1 :] if uri.startswith(self.root + "/") else uri

    def _absolute(self, path: str) -> str:
        return path if "://" in path else f"{self.root}/{path}"


def _is_entity(value: Any) -> bool:
    """An entity (feed entry) carries ``__metadata.uri``; complex values do not."""
    metadata = value.get("__metadata") if isinstance(value, Mapping) else None
    return isinstance(metadata, Mapping) and bool(metadata.get("uri"))


# -- properties -------------------------------------------------------------------------------


def _property(name: str, value: Any, *, root: bool = False) -> str:
    """``<d:name ...>value</d:name>`` (with the namespaces when it is the document)."""
    namespaces = f" {_NAMESPACES}" if root else ""
    type_name, body = _typed(value)
    if value is None:
        return f'<d:{name}{namespaces} m:null="true"/>'
    attribute = f' m:type="{_attr(type_name)}"' if type_name else ""
    return f"<d:{name}{namespaces}{attribute}>{body}</d:{name}>"


def _typed(value: Any) -> tuple[str, str]:
    """The ``m:type`` (empty for strings) and XML content of a value."""
    if isinstance(value, bool):
        return "Edm.Boolean", "true" if value else "false"
    if isinstance(value, int):
        return ("Edm.Int32" if -(2**31) <= value < 2**31 else "Edm.Int64"), str(value)
    if isinstance(value, float):
        return "Edm.Double", repr(value)
    if isinstance(value, list):
        return _collection(value)
    if isinstance(value, Mapping):
        return _complex_type(value), _complex_body(value)
    if value is None:
        return "", ""
    match = _MS_DATE.match(str(value))
    if match:
        return "Edm.DateTime", _edm_datetime(int(match.group(1)))
    return "", _text(str(value))


def _collection(values: list[Any]) -> tuple[str, str]:
    if any(isinstance(v, Mapping) for v in values):
        typed = (_complex_type(v) for v in values if isinstance(v, Mapping))
        item_type = next((t for t in typed if t), _UNNAMED_COMPLEX)
    else:
        item_type = next((_typed(v)[0] for v in values if v is not None), "") or "Edm.String"
    return f"Collection({item_type})", "".join(_item(v) for v in values)


def _item(value: Any) -> str:
    if value is None:
        return '<m:item m:null="true"/>'
    if isinstance(value, Mapping):
        return f"<m:item>{_complex_body(value)}</m:item>"
    return f"<m:item>{_typed(value)[1]}</m:item>"


def _complex_type(value: Mapping[str, Any]) -> str:
    metadata = value.get("__metadata")
    return str(metadata.get("type") or "") if isinstance(metadata, Mapping) else ""


def _complex_body(value: Mapping[str, Any]) -> str:
    return "".join(_property(k, v) for k, v in value.items() if k != "__metadata")


def _edm_datetime(milliseconds: int) -> str:
    moment = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=milliseconds)
    text = moment.strftime("%Y-%m-%dT%H:%M:%S")
    return f"{text}.{moment.microsecond // 1000:03d}" if moment.microsecond else text


def _text(value: str) -> str:
    return value.translate(_TEXT_ESCAPES)


def _attr(value: str) -> str:
    return value.translate(_ATTR_ESCAPES)
