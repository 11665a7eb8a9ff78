"""``GET|POST /search``: full-text search of the records, as JSON or as an HTML page.

Parameters (query string, or a form-encoded POST body for long texts): ``q`` the search text
(:mod:`harvester.search.syntax`), ``lang`` (texts tagged that language, or untagged), the
filters ``type`` (a class name, ``Decision``), ``treaty`` (a short name, any case), ``year``
(of ``dcterms:issued``) and ``aichi`` (a target number), ``limit`` (1 to 100, default 10) and
``offset``; ``facets=1`` adds facet counts to the JSON (the HTML page always has them).

JSON: ``{"total": N, "hits": [{"iri", "score", "type", "title", "snippet"}, ...]}``, best
first; ``total`` counts every match. ``snippet`` is escaped HTML with the matched words in
``<mark>``; ``title`` is plain text. HTML when ``Accept`` prefers ``text/html`` (or
``format=html``). The search runs on the generation the endpoint's own store sees, so it agrees
with ``/sparql`` (see :mod:`harvester.search.index`).

Errors: 400 ``{"error": "...", "position": N}`` for a malformed search text (``position`` is
the character offset) or a bad parameter; 413 for a search text longer than
``[server].max_query_bytes``; 414 for a GET whose query string is longer than
:data:`MAX_URL_BYTES` (send it as a POST); 415 for a POST that is not a form; 503 while the
index cannot answer (it is missing or outdated: ``meahub reindex``), or the search ran past
``[server].query_timeout``: over an on-disk store it runs in a query worker
(:mod:`sparql.workers`, :mod:`harvester.search.jobs`), killed at the timeout as a SPARQL query
is, and the server goes on answering.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from harvester.exceptions import SearchSyntaxError, SearchUnavailableError
from harvester.search import (
    Hit,
    SearchRequest,
    SearchResults,
    attach,
    reader_generation,
    search,
    unavailable_reason,
)
from harvester.search import jobs as search_jobs
from harvester.settings import ServerSettings
from harvester.store.api import StoreBackend

from .evaluate import Failure, Job
from .html import esc, html_response, page
from .links import safe_href
from .workers import SEARCH_JOB, WorkerPool

__all__ = ["MAX_LIMIT", "MAX_URL_BYTES", "SearchEndpoint", "search_routes"]

log = logging.getLogger(__name__)

#: The most hits one request may ask for.
MAX_LIMIT = 100
#: A GET with a longer query string is a 414 (long searches go as POST).
MAX_URL_BYTES = 16_384
_FORM = "application/x-www-form-urlencoded"
_LANGUAGES = (
    ("", "any language"),
    ("en", "English"),
    ("fr", "français"),
    ("es", "español"),
    ("ru", "русский"),
    ("ar", "العربية"),
    ("zh", "中文"),
    ("de", "Deutsch"),
    ("it", "italiano"),
    ("pt", "português"),
    ("nl", "Nederlands"),
)
_FACET_TITLES = {"treaty": "Treaty", "type": "Type", "year": "Year", "aichi": "Aichi target"}


class _BadRequest(Exception):
    def __init__(self, status: int, message: str, position: int | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.position = position


@dataclass(frozen=True)
class _Asked:
    request: SearchRequest
    html: bool
    params: dict[str, str]


class SearchEndpoint:
    """``/search`` over ``store``'s index; in a query worker of ``pool()`` when there is one
    (an on-disk store), so the endpoint's ``query_timeout`` stops it, else on a thread."""

    def __init__(
        self,
        store: StoreBackend,
        settings: ServerSettings,
        pool: Callable[[], WorkerPool | None] = lambda: None,
    ) -> None:
        self.store = store
        self.settings = settings
        self.pool = pool

    async def __call__(self, request: Request) -> Response:
        wants_html = _wants_html(request)
        try:
            asked = await self._read(request, wants_html)
            results = await self._run(asked.request)
        except _BadRequest as exc:
            return _error(exc.status, exc.message, exc.position, wants_html)
        except SearchSyntaxError as exc:
            return _error(400, exc.message, exc.position, wants_html)
        except SearchUnavailableError as exc:
            return _error(503, str(exc), None, wants_html)
        if asked.html:
            return html_response(_page(asked, results), headers={"Vary": "Accept"})
        return _json(_document(results, asked.request.facets), headers={"Vary": "Accept"})

    async def _run(self, request: SearchRequest) -> SearchResults:
        """The search in a worker (killed at the timeout: a 503), or here on a thread."""
        pool = self.pool()
        if pool is None:
            return await run_in_threadpool(self._search, request)
        if attach(self.store) is None:  # turned off: the index on disk is not kept up
            raise SearchUnavailableError(unavailable_reason(self.store))
        outcome = await pool.run(Job(search_jobs.encode(request), results=SEARCH_JOB))
        if isinstance(outcome, Failure):
            raise search_jobs.decode_error(outcome.status, outcome.message)
        return search_jobs.decode(outcome.body)

    def _search(self, request: SearchRequest) -> SearchResults:
        index = attach(self.store)
        if index is None:
            raise SearchUnavailableError(unavailable_reason(self.store))
        return search(index, reader_generation(self.store), request)

    async def _read(self, request: Request, wants_html: bool) -> _Asked:
        raw = request.scope.get("query_string", b"")
        params = parse_qsl(raw.decode("latin-1"), keep_blank_values=True)
        if request.method == "POST":
            params += await self._form(request)
        values = {k: v for k, v in params}  # the last of a repeated parameter wins
        self._check_size(values.get("q", ""), len(raw))
        html = values.get("format", "html" if wants_html else "json") == "html"
        return _Asked(_search_request(values, html), html, values)

    def _check_size(self, text: str, url_bytes: int) -> None:
        limit = self.settings.max_query_bytes
        if len(text.encode("utf-8", "surrogatepass")) > limit:
            raise _BadRequest(413, f"The search text is longer than this server's {limit} bytes.")
        if url_bytes > MAX_URL_BYTES:
            raise _BadRequest(414, "The request line is too long: send the search as a POST form.")

    async def _form(self, request: Request) -> list[tuple[str, str]]:
        media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if media_type != _FORM:
            raise _BadRequest(415, f"POST /search takes a form ({_FORM}).")
        cap = 3 * self.settings.max_query_bytes + 4096
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > cap:
            raise _BadRequest(413, "The search form is too large.")
        body = bytearray()
        async for chunk in request.stream():
            body += chunk
            if len(body) > cap:
                raise _BadRequest(413, "The search form is too large.")
        try:
            return parse_qsl(body.decode("utf-8"), keep_blank_values=True, errors="strict")
        except (UnicodeDecodeError, ValueError) as exc:
            raise _BadRequest(400, f"The form is not UTF-8 form data: {exc}") from exc


def search_routes(
    store: StoreBackend,
    settings: ServerSettings,
    pool: Callable[[], WorkerPool | None] = lambda: None,
) -> list[BaseRoute]:
    """``/search`` (GET and POST); searches run in ``pool()``'s workers when it has some."""
    endpoint = SearchEndpoint(store, settings, pool)
    return [Route("/search", endpoint.__call__, methods=["GET", "POST"], name="search")]


# -- reading the parameters -----------------------------------------------------------------


def _search_request(values: Mapping[str, str], html: bool) -> SearchRequest:
    text = values.get("q")
    if text is None:
        raise _BadRequest(400, "Give the search text as q.", 0)
    return SearchRequest(
        text=text,
        language=values.get("lang") or None,
        type=values.get("type") or None,
        treaty=values.get("treaty") or None,
        year=_integer(values, "year", None, low=-9999, high=9999),
        aichi=values.get("aichi") or None,
        limit=_integer(values, "limit", 10, low=1, high=MAX_LIMIT) or 10,
        offset=_integer(values, "offset", 0, low=0, high=10**5) or 0,
        facets=html or values.get("facets", "") in ("1", "true", "yes"),
    )


def _integer(
    values: Mapping[str, str], name: str, default: int | None, *, low: int, high: int
) -> int | None:
    value = values.get(name, "").strip()
    if not value:
        return default
    try:
        number = int(value)
    except ValueError:
        raise _BadRequest(400, f"{name} must be an integer, not {value!r}.") from None
    if not low <= number <= high:
        raise _BadRequest(400, f"{name} must be between {low} and {high}.")
    return number


def _wants_html(request: Request) -> bool:
    """Whether ``Accept`` ranks ``text/html`` above JSON (browsers do)."""
    best: dict[str, float] = {}
    for part in request.headers.get("accept", "").split(","):
        media, *options = (p.strip() for p in part.split(";"))
        quality = 1.0
        for option in options:
            key, _, value = option.partition("=")
            if key.strip() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        best[media.lower()] = max(quality, best.get(media.lower(), 0.0))
    html = max(best.get("text/html", 0.0), best.get("application/xhtml+xml", 0.0))
    return html > max(best.get("application/json", 0.0), best.get("*/*", 0.0) - 0.001)


# -- answering ------------------------------------------------------------------------------


def _document(results: SearchResults, facets: bool) -> dict[str, object]:
    data: dict[str, object] = {
        "total": results.total,
        "hits": [
            {"iri": h.iri, "score": h.score, "type": h.type, "title": h.title, "snippet": h.snippet}
            for h in results.hits
        ],
    }
    if facets:
        data["facets"] = {
            k: [{"value": v, "count": n} for v, n in f] for k, f in results.facets.items()
        }
    return data


def _json(data: object, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    body = json.dumps(data, ensure_ascii=False).encode("utf-8")
    return Response(body, status_code=status, media_type="application/json", headers=headers)


def _error(status: int, message: str, position: int | None, html: bool) -> Response:
    if html:
        where = "" if position is None else f" (at character {position})"
        body = f'<p class="error">{esc(message)}{esc(where)}</p>\n' + _form({})
        return html_response(page("Search", body, head=_HEAD), status_code=status)
    data: dict[str, object] = {"error": message}
    if position is not None:
        data["position"] = position
    return _json(data, status)


_HEAD = ['<link rel="stylesheet" href="/static/search.css">']


def _page(asked: _Asked, results: SearchResults) -> str:
    request = asked.request
    shown = f"{request.offset + 1}–{request.offset + len(results.hits)}" if results.hits else "0"
    summary = f'<p class="summary">{esc(results.total)} records match; {esc(shown)} shown.</p>'
    hits = "\n".join(_hit(h) for h in results.hits)
    body = "\n".join(
        (
            _form(asked.params),
            summary,
            '<div class="search-results">',
            _facets(asked.params, results),
            f'<ol class="hits" start="{request.offset + 1}">\n{hits}\n</ol>',
            "</div>",
            _pages(asked.params, request, results.total),
        )
    )
    return page("Search", body, head=_HEAD)


def _form(params: Mapping[str, str]) -> str:
    language = params.get("lang", "")
    options = "".join(
        f'<option value="{esc(v)}"{" selected" if v == language else ""}>{esc(t)}</option>'
        for v, t in _LANGUAGES
    )
    hidden = "".join(
        f'<input type="hidden" name="{esc(k)}" value="{esc(params[k])}">'
        for k in ("type", "treaty", "year", "aichi")
        if params.get(k)
    )
    return (
        '<form class="search" method="get" action="/search" role="search">\n'
        f'<label>Search <input type="search" name="q" value="{esc(params.get("q", ""))}" '
        'size="50" required></label>\n'
        f'<label>Language <select name="lang">{options}</select></label>\n{hidden}'
        '<button type="submit">Search</button>\n'
        '<p class="hint">Words are all required; "quotes" for a phrase; OR; -word to exclude. '
        "From SPARQL: <code>SERVICE &lt;urn:meahub:search&gt;</code> (see the query page).</p>\n"
        "</form>"
    )


def _hit(hit: Hit) -> str:
    title, href = hit.title or hit.iri, safe_href(hit.iri)
    link = esc(title) if href is None else f'<a href="{esc(href)}">{esc(title)}</a>'
    return (
        f'<li>{link} <small class="type">{esc(hit.type)}</small>'
        f' <small class="score">score {hit.score:.2f}</small>\n'
        f'<p class="snippet">{hit.snippet}</p></li>'  # escaped HTML, built by the searcher
    )


def _facets(params: Mapping[str, str], results: SearchResults) -> str:
    sections = []
    for name, title in _FACET_TITLES.items():
        values = results.facets.get(name, [])
        if not values:
            continue
        items = "".join(_facet_item(params, name, v, n) for v, n in values)
        sections.append(f"<section><h2>{esc(title)}</h2><ul>{items}</ul></section>")
    return '<aside class="facets">' + "".join(sections) + "</aside>"


def _facet_item(params: Mapping[str, str], name: str, value: str, count: int) -> str:
    chosen = params.get(name, "").lower() == value.lower()
    changed = {k: v for k, v in params.items() if k not in ("offset", "format")}
    if chosen:
        changed.pop(name, None)
    else:
        changed[name] = value
    label = f"{value} ✕" if chosen else value
    href = "/search?" + urlencode(changed)
    return f'<li><a href="{esc(href)}">{esc(label)}</a> <span>{esc(count)}</span></li>'


def _pages(params: Mapping[str, str], request: SearchRequest, total: int) -> str:
    links = []
    if request.offset > 0:
        before = max(request.offset - request.limit, 0)
        links.append(_page_link(params, before, "← previous"))
    if request.offset + request.limit < total:
        links.append(_page_link(params, request.offset + request.limit, "next →"))
    return f'<nav class="pages" aria-label="Pages">{" ".join(links)}</nav>' if links else ""


def _page_link(params: Mapping[str, str], offset: int, text: str) -> str:
    changed = {k: v for k, v in params.items() if k != "format"}
    changed["offset"] = str(offset)
    return f'<a href="{esc("/search?" + urlencode(changed))}">{esc(text)}</a>'
