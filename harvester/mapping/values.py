"""Readers for the values real InforMEA-style providers send, whatever their flavour.

Each reader takes what a provider put in one field and returns clean Python values, or raises
:class:`ValueError` with a short reason. They accept every variant seen in the wild:
``/Date(ms)/`` and ISO dates, ``{"results": [...]}`` and bare lists, ``{language, value}`` items and
``{"en": "..."}`` objects, numbers sent as strings, ``1``/``"yes"``/``True`` booleans.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from datetime import UTC, date, datetime, timedelta
from email.utils import parsedate_to_datetime
from html.parser import HTMLParser
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

__all__ = [
    "as_list",
    "clean_text",
    "html_to_text",
    "lang_tag",
    "lookup",
    "parse_bool",
    "parse_date",
    "parse_float",
    "parse_int",
    "parse_iri",
    "parse_langstrings",
]

_MS_DATE = re.compile(r"^/Date\((-?\d+)([+-]\d{4})?\)/$")
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_LANG = re.compile(r"^[a-zA-Z]{2,3}(?:[-_][a-zA-Z0-9]{1,8})*$")
# An absolute http(s) URL with nothing that needs encoding: taken as is (the common case).
_PLAIN_URL = re.compile(r"^https?://[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]+$")
_TRUE = {"1", "true", "yes", "y", "on", "virtual", "online"}
_FALSE = {"0", "false", "no", "n", "off", ""}


def lookup(record: Mapping[str, Any], key: str) -> Any:
    """The value of ``key`` in ``record``, matching names case-insensitively (``Id``/``id``)."""
    if key in record:
        return record[key]
    lowered = key.lower()
    for name, value in record.items():
        if name.lower() == lowered:
            return value
    return None


def as_list(value: Any) -> list[Any]:
    """A navigation or collection as a list: ``{"results": [...]}``, a list, one item, or None."""
    if type(value) is list:  # the common case first (a list is never a mapping)
        return value
    if value is None:
        return []
    if isinstance(value, Mapping):
        if "results" in value:
            return as_list(value["results"])
        if "__deferred" in value:
            return []
        return [value]
    if isinstance(value, list):
        return value
    return [value]


def clean_text(value: Any) -> str | None:
    """Text with control characters removed and outer whitespace stripped; None when empty."""
    if type(value) is str:  # the common case first (no structure, nothing to convert)
        return _CONTROL.sub("", value).strip() or None
    if value is None or isinstance(value, Mapping | list):
        return None
    text = _CONTROL.sub("", str(value)).strip()
    return text or None


def lang_tag(value: Any) -> str:
    """A BCP 47 tag in lower case (``zh_Hans`` -> ``zh-hans``); ``und`` when missing or invalid."""
    text = clean_text(value)
    if text is None or not _LANG.match(text):
        return "und"
    return text.replace("_", "-").lower()


def parse_langstrings(value: Any, default_lang: str = "und") -> list[tuple[str, str]]:
    """(text, language) pairs from any multilingual shape; empty texts are dropped."""
    if isinstance(value, Mapping) and "results" not in value and "__deferred" not in value:
        if "value" not in value and "language" not in value:
            return _from_lang_object(value)
    pairs: list[tuple[str, str]] = []
    for item in as_list(value):
        pairs.extend(_langstring_item(item, default_lang))
    return pairs


def _from_lang_object(value: Mapping[str, Any]) -> list[tuple[str, str]]:
    pairs = []
    for lang, text in value.items():
        for item in as_list(text):
            inner = lookup(item, "value") if isinstance(item, Mapping) else item
            cleaned = clean_text(inner)
            if cleaned:
                pairs.append((cleaned, lang_tag(lang)))
    return pairs


def _langstring_item(item: Any, default_lang: str) -> Iterator[tuple[str, str]]:
    if isinstance(item, Mapping):
        text = clean_text(lookup(item, "value"))
        if text:
            language = lookup(item, "language") or lookup(item, "lang") or default_lang
            yield text, lang_tag(language)
        return
    if isinstance(item, int | float) and not isinstance(item, bool):
        raise ValueError(f"expected text, got the number {item!r}")
    text = clean_text(item)
    if text:
        yield text, default_lang


class _TextExtractor(HTMLParser):
    """Collects the text of untrusted HTML; nothing is resolved or executed."""

    _BREAKS = frozenset({"p", "br", "div", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style"):
            self._skip += 1
        elif tag in self._BREAKS:
            self.parts.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style") and self._skip:
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def html_to_text(value: Any) -> str | None:
    """The plain text of an HTML fragment (tags dropped, entities decoded, whitespace folded;
    script and style content dropped); None when empty."""
    text = clean_text(value)
    if text is None:
        return None
    if "<" not in text and "&" not in text:
        return " ".join(text.split())
    extractor = _TextExtractor()
    extractor.feed(text)
    extractor.close()
    return " ".join("".join(extractor.parts).split()) or None


def parse_date(value: Any) -> date | datetime | None:
    """``/Date(ms)/`` (UTC, optional offset), ISO date or date-time; None for empty values.

    :raises ValueError: for anything else.
    """
    text = clean_text(value)
    if text is None:
        return None
    text = text.replace("\\/", "/")
    match = _MS_DATE.match(text)
    if match:
        # OData v2 ticks count milliseconds in UTC; an offset suffix only says where it was written.
        return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=int(match.group(1)))
    if _ISO_DATE.match(text):
        return date.fromisoformat(text)
    if text.isdigit() and len(text) >= 9:
        # Bare epoch numbers: milliseconds (13 digits today) or seconds (10 digits).
        seconds = int(text) / 1000 if len(text) >= 12 else int(text)
        return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(seconds=seconds)
    parsed = _other_date_forms(text)
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _other_date_forms(text: str) -> datetime:
    """ISO 8601 date-times, ``2015/06/10``, ``20150610`` and RFC 2822 (``Wed, 10 Jun 2015``)."""
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        pass
    for form in ("%Y/%m/%d", "%Y%m%d", "%Y/%m/%d %H:%M:%S"):
        try:
            return datetime.strptime(text, form)
        except ValueError:
            continue
    try:
        return parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        raise ValueError(f"not a date: {text[:40]!r}") from None


def parse_int(value: Any) -> int | None:
    text = clean_text(value)
    if text is None:
        return None
    try:
        return int(float(text)) if "." in text else int(text)
    except ValueError:
        raise ValueError(f"not an integer: {text[:40]!r}") from None


def parse_float(value: Any) -> float | None:
    text = clean_text(value)
    if text is None:
        return None
    try:
        number = float(text.replace(",", "."))
    except ValueError:
        raise ValueError(f"not a number: {text[:40]!r}") from None
    if number != number or number in (float("inf"), float("-inf")):
        raise ValueError(f"not a finite number: {text[:40]!r}")
    return number


def parse_bool(value: Any) -> bool | None:
    if value is None or isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return None if text == "" else False
    raise ValueError(f"not a boolean: {text[:40]!r}")


def parse_iri(value: Any, *, schemes: tuple[str, ...] = ("http", "https")) -> str | None:
    """An absolute IRI with characters that IRIs forbid percent-encoded; None when unusable."""
    text = clean_text(value)
    if text is None:
        return None
    if schemes == ("http", "https") and _PLAIN_URL.match(text) and text[:5].islower():
        return text
    try:
        parts = urlsplit(text)
    except ValueError:
        return None
    if parts.scheme.lower() not in schemes or not (parts.netloc or parts.scheme == "mailto"):
        return None
    safe = "/:@!$&'()*+,;=-._~%"
    return urlunsplit(
        (
            parts.scheme.lower(),
            quote(parts.netloc, safe=safe + "[]"),
            quote(parts.path, safe=safe),
            quote(parts.query, safe=safe + "?/"),
            quote(parts.fragment, safe=safe + "?/"),
        )
    )
