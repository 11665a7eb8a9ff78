"""Reading OData v2 Atom/XML responses into the same shapes as the verbose JSON ones.

Atom is the OData v2 default: a provider that ignores ``$format=json`` and ``Accept`` answers
``feed > entry > content[type=application/xml] > m:properties > d:<prop>`` (INFORMEA-API.md
1.7, 7.6). :func:`parse_atom_page` turns such a feed (or a single ``<entry>``, or a bare
``<d:prop>`` property document) into a :class:`~harvester.sources.odata.Page` whose items are
the dicts the JSON path yields:

* ``d:`` properties keyed by local name; ``m:type`` values converted (integers, floats,
  booleans; ``Edm.DateTime`` kept as the ISO text given), ``m:null="true"`` as None;
* ``Collection(...)`` as a list of scalars, or of dicts for complex items (with
  ``__metadata.type`` when the item type is named);
* navigation links as ``{"results": [...]}`` (inline feed), a dict (inline entry), None (empty
  inline) or ``{"__deferred": {"uri": ...}}``, hrefs resolved against ``xml:base``;
* ``__metadata`` as ``{"uri": ..., "type": ...}`` from the edit link (or id) and category.

Harvested XML is untrusted: a document type declaration (the door to entity expansion and
external entities) in the prologue is refused before anything is parsed.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from typing import Any
from urllib.parse import urljoin

from ..exceptions import SourceFormatError
from .odata import Page

__all__ = ["looks_like_atom", "parse_atom_page"]

_ATOM = "{http://www.w3.org/2005/Atom}"
_M = "{http://schemas.microsoft.com/ado/2007/08/dataservices/metadata}"
_D = "{http://schemas.microsoft.com/ado/2007/08/dataservices}"
_XML_BASE = "{http://www.w3.org/XML/1998/namespace}base"
_RELATED = "http://schemas.microsoft.com/ado/2007/08/dataservices/related/"
_SCHEME = "http://schemas.microsoft.com/ado/2007/08/dataservices/scheme"
_ITEM_TAGS = frozenset({f"{_M}item", f"{_M}element", f"{_D}element"})
_INTS = frozenset({"Edm.Int16", "Edm.Int32", "Edm.Int64", "Edm.Byte", "Edm.SByte"})
_FLOATS = frozenset({"Edm.Double", "Edm.Single", "Edm.Decimal"})
_XML_TYPES = frozenset({"application/xml", "text/xml", "application/atom+xml"})
_BOMS = (b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")
_XML_START = re.compile(rb"^<(?:\?xml|(?:[\w.-]+:)?(?:feed|entry)\b)")
# What may precede the root element: whitespace, the XML declaration, PIs and comments.
_PROLOGUE_PART = re.compile(r"\s+|<\?.*?\?>|<!--.*?-->", re.DOTALL)


def looks_like_atom(content_type: str, body: bytes) -> bool:
    """Whether a response is XML (by its media type) or starts like an Atom/XML document."""
    media = content_type.split(";", 1)[0].strip().lower()
    if media in _XML_TYPES or media.endswith("+xml"):
        return True
    start = body[:512]
    for bom in _BOMS:
        start = start.removeprefix(bom)
    return bool(_XML_START.match(start.lstrip()))


def parse_atom_page(body: bytes, *, url: str = "") -> Page:
    """Read an Atom feed, entry or property document as one :class:`Page`.

    :param url: where the body came from; the base of relative links and error context.
    :raises SourceFormatError: for a DTD or entity declaration, malformed XML, an OData error
        document, or XML that is none of the shapes above.
    """
    _refuse_declarations(body, url)
    try:
        root = ET.fromstring(body)
    except ET.ParseError as exc:
        raise SourceFormatError(f"malformed XML: {exc}", url=url) from None
    if root.tag == f"{_ATOM}feed":
        return _feed_page(root, url)
    if root.tag == f"{_ATOM}entry":
        return Page(items=[_entry(root, url)])
    if root.tag == f"{_M}error":
        raise SourceFormatError(f"OData error: {_error_message(root)}", url=url)
    if root.tag.startswith(_D):
        value = _value(root)
        return Page(items=value if isinstance(value, list) else [value])
    raise SourceFormatError(f"not an Atom feed or entry: <{_local(root.tag)}>", url=url)


# -- safety -----------------------------------------------------------------------------------


def _refuse_declarations(body: bytes, url: str) -> None:
    """Refuse any ``<!DOCTYPE``/``<!ENTITY`` (or other declaration) before the root element."""
    text = _prologue_text(body)
    position = 0
    while match := _PROLOGUE_PART.match(text, position):
        position = match.end()
    if text.startswith("<!", position):
        raise SourceFormatError("XML with a DTD or entity declaration refused", url=url)


def _prologue_text(body: bytes) -> str:
    """The document as text, enough to scan its prologue (UTF-16 by BOM, else byte-wise)."""
    if body.startswith((b"\xff\xfe", b"\xfe\xff")):
        return body.decode("utf-16", errors="replace")
    if body[:4] in (b"\x00<\x00?", b"<\x00?\x00", b"\x00<\x00!", b"<\x00!\x00"):
        return body.decode("utf-16-be" if body[0] == 0 else "utf-16-le", errors="replace")
    return body.removeprefix(b"\xef\xbb\xbf").decode("latin-1")


# -- feeds and entries ------------------------------------------------------------------------


def _feed_page(feed: ET.Element, base: str) -> Page:
    base = _base(feed, base)
    items = [_entry(entry, base) for entry in feed.iterfind(f"{_ATOM}entry")]
    return Page(items, _next_link(feed, base), _count(feed.findtext(f"{_M}count")))


def _next_link(feed: ET.Element, base: str) -> str | None:
    for link in feed.iterfind(f"{_ATOM}link"):
        href = link.get("href")
        if link.get("rel") == "next" and href and href.strip():
            return urljoin(_base(link, base), href.strip())
    return None


def _count(text: str | None) -> int | None:
    try:
        return int(text.strip()) if text is not None else None
    except ValueError:
        return None


def _entry(entry: ET.Element, base: str) -> dict[str, Any]:
    base = _base(entry, base)
    out: dict[str, Any] = {}
    metadata = _entry_metadata(entry, base)
    if metadata:
        out["__metadata"] = metadata
    for link in entry.iterfind(f"{_ATOM}link"):
        name = _navigation_name(link)
        if name is not None:
            out[name] = _navigation(link, base)
    properties = _properties_element(entry)
    if properties is not None:
        out.update((_local(p.tag), _value(p)) for p in properties)
    return out


def _entry_metadata(entry: ET.Element, base: str) -> dict[str, str]:
    metadata: dict[str, str] = {}
    edit = next(
        (link for link in entry.iterfind(f"{_ATOM}link") if link.get("rel") == "edit"), None
    )
    href = edit.get("href") if edit is not None else None
    uri = href or (entry.findtext(f"{_ATOM}id") or "").strip()
    if uri:
        metadata["uri"] = urljoin(base, uri.strip())
    categories = entry.findall(f"{_ATOM}category")
    chosen = next((c for c in categories if c.get("scheme") == _SCHEME), None)
    term = chosen if chosen is not None else next(iter(categories), None)
    if term is not None and term.get("term"):
        metadata["type"] = str(term.get("term"))
    return metadata


def _properties_element(entry: ET.Element) -> ET.Element | None:
    """``content > m:properties``, or ``m:properties`` beside ``content`` (media entries)."""
    inside = entry.find(f"{_ATOM}content/{_M}properties")
    return inside if inside is not None else entry.find(f"{_M}properties")


def _navigation_name(link: ET.Element) -> str | None:
    rel = link.get("rel") or ""
    if not rel.startswith(_RELATED):
        return None
    return rel[len(_RELATED) :] or link.get("title") or None


def _navigation(link: ET.Element, base: str) -> Any:
    base = _base(link, base)
    inline = link.find(f"{_M}inline")
    if inline is None:
        return {"__deferred": {"uri": urljoin(base, (link.get("href") or "").strip())}}
    child = next(iter(inline), None)
    if child is None:
        return None
    if child.tag == f"{_ATOM}feed":
        return {"results": _feed_page(child, base).items}
    return _entry(child, base)


# -- property values --------------------------------------------------------------------------


def _value(element: ET.Element) -> Any:
    if element.get(f"{_M}null") == "true":
        return None
    type_name = element.get(f"{_M}type") or ""
    if type_name.startswith("Collection(") and type_name.endswith(")"):
        return [_item(item, type_name[11:-1]) for item in element if item.tag in _ITEM_TAGS]
    if len(element) or (type_name and not type_name.startswith("Edm.")):
        return _complex(element, type_name)
    return _scalar(element.text or "", type_name)


def _item(item: ET.Element, item_type: str) -> Any:
    """One ``m:item`` of a collection: complex when it has children or a non-Edm type."""
    if item.get(f"{_M}null") == "true":
        return None
    type_name = item.get(f"{_M}type") or item_type
    if len(item) or (type_name and not type_name.startswith("Edm.")):
        return _complex(item, type_name)
    return _scalar(item.text or "", type_name)


def _complex(element: ET.Element, type_name: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if type_name and not type_name.startswith("Edm."):
        out["__metadata"] = {"type": type_name}
    out.update((_local(child.tag), _value(child)) for child in element)
    return out


def _scalar(text: str, type_name: str) -> Any:
    """Typed text as Python; a value that does not parse as its type stays the text given."""
    try:
        if type_name in _INTS:
            return int(text.strip())
        if type_name in _FLOATS:
            return float(text.strip())
    except ValueError:
        return text
    if type_name == "Edm.Boolean":
        flag = text.strip().lower()
        return {"true": True, "1": True, "false": False, "0": False}.get(flag, text)
    return text


# -- helpers ----------------------------------------------------------------------------------


def _base(element: ET.Element, base: str) -> str:
    own = element.get(_XML_BASE)
    return urljoin(base, own.strip()) if own else base


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _error_message(root: ET.Element) -> str:
    message = root.findtext(f"{_M}message") or root.findtext(f"{_M}code") or ""
    return message.strip() or "no message"
