"""Dereferenceable IRIs: every IRI we mint, our ontology terms and our reference resources.

Routes (all ``GET``/``HEAD``, content-negotiated by ``Accept`` or a ``?format=`` parameter;
HTML by ``Accept-Language`` or ``?lang=``):

- ``/<path>``: the IRI ``{base_iri}<path>`` (records, their files and target links, meetings,
  harvest runs, record graphs...). This is the fallback route, registered after all others.
- ``/def`` and ``/def/<term>``: the ontology ``https://w3id.org/mea/ontology`` and its terms
  ``https://w3id.org/mea/ontology#<term>``.
- ``/resource?iri=<IRI>``: any other IRI the store describes, notably treaties, countries and the
  Aichi and GBF targets (``https://w3id.org/mea/...``), which we do not host at their own IRI.

RDF documents hold the IRI's triples, those of the nodes it owns and the inverse links; an unknown
IRI is a 404.

Answers carry a weak ``ETag`` (the store's version, the IRI, the negotiated media type and, for a
page, the reader's languages and the page's other parameters) and ``Last-Modified``, with
``Vary: Accept, Accept-Language``; a revalidation that still matches is a ``304`` before the store
is read (:class:`sparql.caching.Revalidator`). A 404, 400 or 406 carries no validators and is
never a 304.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from typing import Protocol
from urllib.parse import quote, urlencode

import pyoxigraph as ox
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from harvester.settings import ServerSettings
from harvester.store.api import StoreBackend
from harvester.vocab import PREFIXES

from .caching import Revalidator, StoreVersion, not_modified
from .describe import Description, describe
from .html import esc, html_response, page
from .languages import preferred_languages
from .links import ONTOLOGY_IRI, Linker
from .negotiation import JSON_LD, N_TRIPLES, RDF_XML, TURTLE, Choice, Format, Kind, negotiate
from .resource_page import Alternate, PageContext, render_resource

__all__ = [
    "HTML",
    "LD_FORMATS",
    "LinkedData",
    "PageRenderer",
    "alternates",
    "fallback_route",
    "linked_data_routes",
    "representation_parts",
]

log = logging.getLogger(__name__)

#: HTML as a negotiable format (its ``syntax`` is unused: pages are rendered, not serialised).
HTML = Format(
    "html", Kind.GRAPH, ("text/html", "application/xhtml+xml"), ("html",), TURTLE.syntax, ""
)
#: What a resource is offered in; the first is the answer to ``*/*`` or no ``Accept``.
LD_FORMATS: tuple[Format, ...] = (TURTLE, JSON_LD, N_TRIPLES, RDF_XML, HTML)
_LABELS = {"turtle": "Turtle", "jsonld": "JSON-LD", "ntriples": "N-Triples", "rdfxml": "RDF/XML"}
_VARY = {"Vary": "Accept, Accept-Language"}
_OWN_PARAMS = ("format", "lang")  # parameters a page's links to other formats do not keep

Handler = Callable[[Request], Response]


class PageRenderer(Protocol):
    """Pages of their own for some IRIs (:class:`sparql.pages.SitePages`): the HTML of
    ``iri``, or None for the generic page. Raises ``ValueError`` for an unusable parameter."""

    def render(
        self, request: Request, iri: str, languages: Sequence[str], alternates: Sequence[Alternate]
    ) -> str | None: ...


class LinkedData:
    """The handlers, over one store and one IRI policy; ``pages`` renders the HTML of the IRIs
    it knows (decisions, treaties, countries, targets), the generic page the rest."""

    def __init__(
        self, store: StoreBackend, linker: Linker, pages: PageRenderer | None = None
    ) -> None:
        self.store = store
        self.linker = linker
        self.pages = pages
        self.cache = Revalidator(StoreVersion(store))

    def ontology(self, request: Request) -> Response:
        return self.respond(request, ONTOLOGY_IRI)

    def term(self, request: Request) -> Response:
        return self.respond(request, self.linker.term_iri(request.path_params["term"]))

    def resource(self, request: Request) -> Response:
        iri = request.query_params.get("iri", "")
        try:
            ox.NamedNode(iri)
        except ValueError:
            return PlainTextResponse("?iri= must be an absolute IRI\n", status_code=400)
        return self.respond(request, iri)

    def minted(self, request: Request) -> Response:
        return self.respond(request, self.linker.iri_for_path(_raw_path(request)))

    def respond(self, request: Request, iri: str) -> Response:
        """The description of ``iri`` in the negotiated format (404, 406 when it cannot be), or
        a 304 when the client's copy is current."""
        choice = negotiate(LD_FORMATS, request.headers.get("accept"), _format_params(request))
        if choice is None:
            return PlainTextResponse(_not_acceptable(), status_code=406, headers=_VARY)
        languages = _languages(request) if choice.format is HTML else []
        parts = representation_parts(request, choice, languages)
        # issue 15: every description points at the change feed that carries its versions
        feed = {"Link": f'<{self.linker.base_iri}ldes>; rel="collection"; title="change feed"'}
        check = self.cache.check(request.headers, ["resource", iri, *parts], {**_VARY, **feed})
        if check.not_modified:
            return not_modified(check.headers)
        if choice.format is HTML and self.pages is not None:
            own = self._own_page(request, iri, languages)
            if own is not None:
                return self.cache.finish(check, own)
        found = describe(self.store, iri)
        if found is None:
            return _not_found(iri, choice)
        if choice.format is HTML:
            return self.cache.finish(check, self._page(request, found, languages))
        return self.cache.finish(check, _rdf(found, choice))

    def _own_page(self, request: Request, iri: str, languages: Sequence[str]) -> Response | None:
        assert self.pages is not None
        started = time.perf_counter()
        try:
            body = self.pages.render(request, iri, languages, alternates(request))
        except ValueError as exc:
            return PlainTextResponse(f"{exc}\n", status_code=400, headers=_VARY)
        if body is None:
            return None
        timing = {"Server-Timing": f"page;dur={(time.perf_counter() - started) * 1000:.1f}"}
        return html_response(body, headers={**_VARY, **timing})

    def _page(self, request: Request, found: Description, languages: Sequence[str]) -> Response:
        ctx = PageContext(self.linker, languages, alternates(request))
        return html_response(render_resource(found, ctx), headers=_VARY)


def linked_data_routes(
    store: StoreBackend, settings: ServerSettings, pages: PageRenderer | None = None
) -> list[Route]:
    """``/def``, ``/def/<term>`` and ``/resource`` (see the module docstring)."""
    ld = LinkedData(store, Linker(settings.base_iri), pages)
    return [
        Route("/def", ld.ontology, methods=["GET"], name="ontology"),
        Route("/def/{term:path}", ld.term, methods=["GET"], name="ontology-term"),
        Route("/resource", ld.resource, methods=["GET"], name="resource"),
    ]


def fallback_route(
    store: StoreBackend, settings: ServerSettings, pages: PageRenderer | None = None
) -> Route:
    """``/<path>`` for IRIs under ``base_iri``: register it after every other route."""
    ld = LinkedData(store, Linker(settings.base_iri), pages)
    return Route("/{path:path}", ld.minted, methods=["GET"], name="minted")


def _raw_path(request: Request) -> str:
    """The path as sent (percent-encoded), which is how minted IRIs spell it."""
    raw = request.scope.get("raw_path")
    if isinstance(raw, bytes) and raw:
        return raw.decode("latin-1").split("?", 1)[0]
    return quote(request.url.path, safe="/-._~!$&'()*+,;=:@%")


def _format_params(request: Request) -> list[str]:
    return request.query_params.getlist("format")


def _languages(request: Request) -> list[str]:
    return preferred_languages(
        request.headers.get("accept-language"), request.query_params.get("lang")
    )


def representation_parts(request: Request, choice: Choice, languages: Sequence[str]) -> list[str]:
    """What, besides the store and the resource, a representation depends on (its ETag): the
    negotiated format and media type and, for a page, the reader's ``languages`` and the query
    parameters its links to the other formats keep."""
    parts = [choice.format.name, choice.media_type]
    if choice.format is HTML:
        kept = [(k, v) for k, v in request.query_params.multi_items() if k not in _OWN_PARAMS]
        parts += [",".join(languages), urlencode(kept)]
    return parts


def _rdf(found: Description, choice: Choice) -> Response:
    syntax = choice.format.syntax
    assert isinstance(syntax, ox.RdfFormat)
    body = ox.serialize(found.triples(), format=syntax, prefixes=PREFIXES)
    return Response(body, media_type=choice.media_type, headers=_VARY)


def alternates(request: Request) -> list[Alternate]:
    """Links to this page's RDF, keeping its other parameters (``iri=``)."""
    kept = [(k, v) for k, v in request.query_params.multi_items() if k not in _OWN_PARAMS]
    return [
        Alternate(
            _LABELS[f.name], f.media_types[0], "?" + urlencode([*kept, ("format", f.aliases[0])])
        )
        for f in LD_FORMATS
        if f is not HTML
    ]


def _not_acceptable() -> str:
    offered = ", ".join(f.media_types[0] for f in LD_FORMATS)
    return f"none of the requested media types is available; offered: {offered}\n"


def _not_found(iri: str, choice: Choice) -> Response:
    if choice.format is HTML:
        body = page("Not found", f"<p>Nothing is known about <code>{esc(iri)}</code>.</p>")
        return html_response(body, status_code=404, headers=_VARY)
    return PlainTextResponse(f"nothing is known about <{iri}>\n", status_code=404, headers=_VARY)
