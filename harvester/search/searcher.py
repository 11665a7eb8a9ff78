"""One search: the parsed text, the filters and the reader's generation, to ranked hits with
snippets and facet counts (:func:`search`).

``total`` counts every matching record of the generation; ``hits`` are ``limit`` of them from
``offset``, best first (BM25, titles weighing most). A snippet is HTML built here: the text is
escaped and the matched words wrapped in ``<mark>``; a title is plain text.
"""

from __future__ import annotations

import html
import json
from collections.abc import Sequence
from dataclasses import dataclass, field

import tantivy

from harvester.exceptions import SearchSyntaxError
from harvester.mapping.countries import treaty_slug

from .index import SearchIndex, result_count
from .query import buckets_for, generation_filter, text_query
from .schema import FACETS, KINDS, schema, text_field
from .syntax import parse

__all__ = ["FACET_SIZES", "Hit", "SearchRequest", "SearchResults", "search"]

#: How many values of each facet are counted.
FACET_SIZES = {"type": 20, "treaty": 50, "year": 100, "aichi": 20}
#: Longest snippet, in characters.
SNIPPET_CHARS = 220
#: Deepest page: offset + limit may not pass it (tantivy collects offset + limit hits).
MAX_WINDOW = 100_000


@dataclass(frozen=True)
class SearchRequest:
    """What to search for. Filters are exact: ``type`` is a class name (``Decision``),
    ``treaty`` a short name (any case), ``year`` the year of ``dcterms:issued``, ``aichi`` a
    target number."""

    text: str
    language: str | None = None
    type: str | None = None
    treaty: str | None = None
    year: int | None = None
    aichi: str | None = None
    limit: int = 10
    offset: int = 0
    facets: bool = False
    snippets: bool = True


@dataclass(frozen=True)
class Hit:
    iri: str
    score: float
    type: str
    title: str
    snippet: str


@dataclass(frozen=True)
class SearchResults:
    total: int
    hits: list[Hit]
    generation: int
    facets: dict[str, list[tuple[str, int]]] = field(default_factory=dict)


def search(index: SearchIndex, generation: int, request: SearchRequest) -> SearchResults:
    """Run ``request`` on the versions of ``generation``.

    :raises SearchSyntaxError: for a malformed search text (with its position).
    :raises SearchUnavailableError: when the index cannot answer for ``generation``.
    """
    if request.offset + request.limit > MAX_WINDOW:
        raise SearchSyntaxError(f"offset + limit may not pass {MAX_WINDOW}.", 0)
    buckets = buckets_for(request.language)
    text = text_query(parse(request.text), buckets)
    searcher = index.searcher(generation)
    if text is None:
        return SearchResults(0, [], generation, _no_facets() if request.facets else {})
    query = tantivy.Query.boolean_query(
        [(tantivy.Occur.Must, text), *_filters(request, generation)]
    )
    found = searcher.search(query, limit=max(request.limit, 1), offset=request.offset)
    hits = _hits(searcher, query, found.hits[: request.limit], request, buckets)
    facets = _facets(searcher, query) if request.facets else {}
    return SearchResults(result_count(found), hits, generation, facets)


def _filters(request: SearchRequest, generation: int) -> list[tuple[tantivy.Occur, tantivy.Query]]:
    must = tantivy.Occur.Must
    filters = [generation_filter(generation)]
    if request.type:
        filters.append(tantivy.Query.term_query(schema(), "type", request.type))
    if request.treaty:
        filters.append(tantivy.Query.term_query(schema(), "treaty", treaty_slug(request.treaty)))
    if request.year is not None:
        filters.append(
            tantivy.Query.range_query(
                schema(), "year", tantivy.FieldType.Integer, request.year, request.year
            )
        )
    if request.aichi:
        target = request.aichi.strip().lower().removeprefix("target-")
        filters.append(tantivy.Query.term_query(schema(), "aichi", target))
    return [(must, tantivy.Query.const_score_query(f, 0.0)) for f in filters]


def _hits(
    searcher: tantivy.Searcher,
    query: tantivy.Query,
    found: Sequence[tuple[float, tantivy.DocAddress]],
    request: SearchRequest,
    buckets: Sequence[str],
) -> list[Hit]:
    snippets = _Snippets(searcher, query, buckets) if request.snippets else None
    hits = []
    for score, address in found:
        doc = searcher.doc(address)
        hits.append(
            Hit(
                iri=str(doc.get_first("iri")),
                score=float(score),
                type=str(doc.get_first("type") or ""),
                title=_title(doc, request.language),
                snippet=snippets.of(doc) if snippets is not None else "",
            )
        )
    return hits


def _title(doc: tantivy.Document, language: str | None) -> str:
    raw = doc.get_first("titles")
    titles: list[list[str]] = json.loads(bytes(raw).decode("utf-8")) if raw else []
    if not titles:
        return ""
    wanted = [(language or "en").lower(), "en", ""]
    for tag in wanted:
        for lang, text in titles:
            if lang.lower().split("-")[0] == tag:
                return text
    return titles[0][1]


class _Snippets:
    """Snippets from the first searched field (body, then summary, then title) that has the
    matched words."""

    def __init__(
        self, searcher: tantivy.Searcher, query: tantivy.Query, buckets: Sequence[str]
    ) -> None:
        self.searcher = searcher
        self.query = query
        self.fields = [text_field(k, b) for k in reversed(KINDS) for b in buckets]
        self.generators: dict[str, tantivy.SnippetGenerator] = {}

    def generator(self, name: str) -> tantivy.SnippetGenerator:
        if name not in self.generators:
            made = tantivy.SnippetGenerator.create(self.searcher, self.query, schema(), name)
            made.set_max_num_chars(SNIPPET_CHARS)
            self.generators[name] = made
        return self.generators[name]

    def of(self, doc: tantivy.Document) -> str:
        fallback = ""
        for name in self.fields:
            if doc.get_first(name) is None:
                continue
            snippet = self.generator(name).snippet_from_doc(doc)
            if snippet.highlighted():
                return _snippet_html(snippet)
            fallback = fallback or str(doc.get_first(name))[:SNIPPET_CHARS]
        return html.escape(fallback, quote=False)


def _snippet_html(snippet: tantivy.Snippet) -> str:
    """The fragment escaped, each highlighted range wrapped in ``<mark>`` (the ranges are byte
    offsets into the UTF-8 fragment)."""
    data = snippet.fragment().encode("utf-8")
    parts, at = [], 0
    for span in sorted(snippet.highlighted(), key=lambda r: r.start):
        if span.start < at:
            continue
        parts.append(html.escape(data[at : span.start].decode("utf-8", "replace"), quote=False))
        marked = data[span.start : span.end].decode("utf-8", "replace")
        parts.append(f"<mark>{html.escape(marked, quote=False)}</mark>")
        at = span.end
    parts.append(html.escape(data[at:].decode("utf-8", "replace"), quote=False))
    return "".join(parts)


def _facets(searcher: tantivy.Searcher, query: tantivy.Query) -> dict[str, list[tuple[str, int]]]:
    spec = {name: {"terms": {"field": name, "size": FACET_SIZES[name]}} for name in FACETS}
    answer = searcher.aggregate(query, spec)
    facets: dict[str, list[tuple[str, int]]] = {}
    for name in FACETS:
        buckets = answer.get(name, {}).get("buckets", [])
        facets[name] = [(str(b["key"]), int(b["doc_count"])) for b in buckets]
    return facets


def _no_facets() -> dict[str, list[tuple[str, int]]]:
    return {name: [] for name in FACETS}
