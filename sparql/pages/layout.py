"""What every analyst page shares: where links go, the reader's context, and small builders of
escaped markup (sections, tables, definition lists, dates, language switches).

Everything here escapes what it is given (:func:`sparql.html.esc`), except the ``body`` strings
that callers build with these same helpers. Links to treaties, countries and Aichi targets go to
their pages (``/treaty/cms``, ``/country/ALB``, ``/aichi/target-11``); other IRIs go where
:class:`sparql.links.Linker` sends them (our linked-data pages, or out with a safe scheme only).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from urllib.parse import quote, urlencode

import pyoxigraph as ox

from harvester.mapping.countries import COUNTRY_NS, TREATY_NS
from harvester.vocab import AICHI

from ..html import esc, page
from ..languages import best_literal, rank_literals
from ..links import Linker
from ..resource_page import Alternate

__all__ = [
    "AICHI_TARGET_NS",
    "PageContext",
    "Paths",
    "date_text",
    "definition_list",
    "other_languages",
    "render_page",
    "section",
    "table",
    "text_in",
    "year_of",
]

AICHI_TARGET_NS = AICHI + "target-"


@dataclass(frozen=True)
class Paths:
    """The local page of an IRI: the analyst pages first, then the linked-data pages."""

    linker: Linker

    def href(self, iri: str) -> str | None:
        for namespace, prefix in (
            (TREATY_NS, "/treaty/"),
            (COUNTRY_NS, "/country/"),
            (AICHI_TARGET_NS, "/aichi/target-"),
        ):
            tail = iri[len(namespace) :] if iri.startswith(namespace) else ""
            if tail and all(c.isalnum() or c in "-_." for c in tail):
                return prefix + quote(tail, safe="")
        return self.linker.href(iri)

    def link(self, iri: str, text: str, *, lang: str | None = None) -> str:
        """``<a>`` to the IRI's page, or its text alone when it has none (both escaped)."""
        href = self.href(iri)
        lang_attr = f' lang="{esc(lang)}"' if lang else ""
        if href is None:
            return f"<span{lang_attr}>{esc(text)}</span>"
        return f'<a href="{esc(href)}"{lang_attr}>{esc(text)}</a>'


@dataclass(frozen=True)
class PageContext:
    """The reader and the request: their languages, the other formats of the page, the query
    parameters it was asked with."""

    paths: Paths
    languages: Sequence[str]
    alternates: Sequence[Alternate] = ()
    params: Mapping[str, str] = field(default_factory=dict)

    def text(self, literals: Iterable[ox.Literal]) -> tuple[str, str | None] | None:
        """The best of ``literals`` for the reader and its language, or None."""
        best = best_literal(literals, self.languages)
        return None if best is None else (best.value, best.language or None)

    def label(
        self, labels: Mapping[str, Sequence[ox.Literal]], iri: str, fallback: str
    ) -> tuple[str, str | None]:
        found = self.text(labels.get(iri, ()))
        return found if found is not None else (fallback, None)

    def link_labelled(
        self, labels: Mapping[str, Sequence[ox.Literal]], iri: str, fallback: str
    ) -> str:
        text, lang = self.label(labels, iri, fallback)
        return self.paths.link(iri, text, lang=lang)

    def with_params(self, path: str = "", **changes: str | None) -> str:
        """A link to ``path`` (this page when empty) with the current parameters changed."""
        kept = {k: v for k, v in self.params.items() if k not in ("format",)}
        for key, value in changes.items():
            if value is None:
                kept.pop(key, None)
            else:
                kept[key] = value
        query = urlencode(sorted(kept.items()))
        return f"{path}?{query}" if query else (path or "?")


def text_in(literals: Sequence[ox.Literal], ctx: PageContext) -> str:
    """The best literal as escaped text with its ``lang`` (empty when there is none)."""
    found = ctx.text(literals)
    if found is None:
        return ""
    value, lang = found
    return f'<span lang="{esc(lang)}">{esc(value)}</span>' if lang else esc(value)


def other_languages(literals: Sequence[ox.Literal], ctx: PageContext) -> list[ox.Literal]:
    """The literals after the best one, best first (one per language)."""
    ranked = rank_literals(literals, ctx.languages)
    seen: set[str] = set()
    out = []
    for literal in ranked[1:]:
        tag = literal.language or ""
        if tag and tag not in seen and tag != (ranked[0].language or ""):
            seen.add(tag)
            out.append(literal)
    return out


def section(anchor: str, heading: str, body: str, *, level: int = 2) -> str:
    """A ``<section>`` with its heading (``heading`` escaped, ``body`` already markup)."""
    return (
        f'<section id="{esc(anchor)}" aria-labelledby="{esc(anchor)}-h">\n'
        f'<h{level} id="{esc(anchor)}-h">{esc(heading)}</h{level}>\n{body}\n</section>'
    )


def definition_list(items: Iterable[tuple[str, str]]) -> str:
    """``<dl>`` of (escaped term, markup value) pairs; empty values are left out."""
    rows = "".join(f"<dt>{esc(term)}</dt><dd>{value}</dd>" for term, value in items if value)
    return f'<dl class="facts">{rows}</dl>' if rows else ""


def table(
    headers: Sequence[str],
    rows: Iterable[Sequence[str]],
    *,
    caption: str | None = None,
    row_headers: bool = True,
    css: str = "",
) -> str:
    """A table with ``<th scope="col">`` headers; each row's first cell is its ``<th
    scope="row">`` when ``row_headers``. Cells are markup; headers and caption are escaped."""
    head = "".join(f'<th scope="col">{esc(h)}</th>' for h in headers)
    body = []
    for row in rows:
        cells = list(row)
        first = (
            f'<th scope="row">{cells[0]}</th>' if row_headers and cells else f"<td>{cells[0]}</td>"
        )
        body.append("<tr>" + first + "".join(f"<td>{c}</td>" for c in cells[1:]) + "</tr>")
    if not body:
        return ""
    cap = f"<caption>{esc(caption)}</caption>" if caption else ""
    klass = f' class="{esc(css)}"' if css else ""
    return (
        f"<table{klass}>{cap}<thead><tr>{head}</tr></thead>\n<tbody>\n"
        + "\n".join(body)
        + "\n</tbody></table>"
    )


def date_text(term: ox.NamedNode | ox.BlankNode | ox.Literal | None) -> str:
    """A date or date-time as ``<time>`` (the date part shown), or empty."""
    if not isinstance(term, ox.Literal) or not term.value:
        return ""
    day = term.value[:10]
    return f'<time datetime="{esc(term.value)}">{esc(day)}</time>'


def year_of(term: ox.NamedNode | ox.BlankNode | ox.Literal | None) -> int | None:
    """The year of a date literal (``2017-03-01``, ``2017-03-01T10:00:00Z``), or None."""
    if not isinstance(term, ox.Literal):
        return None
    head = term.value.lstrip("-")[:4]
    return int(head) if head.isdigit() else None


def render_page(
    title: str,
    body: str,
    ctx: PageContext,
    *,
    title_lang: str | None = None,
    lead: str = "",
) -> str:
    """The whole page: header, title, ``lead`` under it, ``body``, and the other formats."""
    head = [
        f'<link rel="alternate" type="{esc(a.media_type)}" href="{esc(a.href)}">'
        for a in ctx.alternates
    ]
    formats = ""
    if ctx.alternates:
        items = "".join(
            f'<li><a href="{esc(a.href)}" type="{esc(a.media_type)}">{esc(a.label)}</a></li>'
            for a in ctx.alternates
        )
        formats = section("formats", "Other formats", f"<ul>{items}</ul>")
    lead_html = f'<p class="lead">{lead}</p>\n' if lead else ""
    return page(title, lead_html + body + "\n" + formats, head=head, title_lang=title_lang)
