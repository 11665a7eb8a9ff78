"""The analyst pages wired into the application: which IRI gets which page, the routes, and the
per-generation cache.

- A ``mea:Decision`` (at its minted path) gets the decision page; a treaty, a country or an Aichi
  target (at ``/treaty/<name>``, ``/country/<ISO3>``, ``/aichi/target-<N>``, or at
  ``/resource?iri=<IRI>``) gets its page; the Aichi scheme (``/targets``) gets the list of
  targets. Everything else keeps the generic resource page. These pages are the HTML of the
  linked-data routes (:class:`sparql.linked_data.LinkedData` asks :meth:`SitePages.render`), so
  RDF by content negotiation, ``ETag``/``304`` and ``Vary`` are the same as for any IRI.
- ``/gaps`` is the gap matrix in HTML, CSV, JSON or RDF (:mod:`sparql.pages.gaps`).

What is computed over many records (the gap matrix's counts, the decisions linked to a target,
the scheme) is kept per store generation (:class:`sparql.pages.reading.GenerationCache`): the
first reader after a harvest pays for it, the others do not.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING

import pyoxigraph as ox
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from harvester.mapping.countries import COUNTRY_NS, TREATY_NS, country_code
from harvester.store.api import StoreBackend
from harvester.vocab import PREFIXES

from ..caching import Revalidator, StoreVersion, not_modified
from ..html import html_response
from ..languages import preferred_languages
from ..links import Linker
from ..negotiation import JSON_LD, N_TRIPLES, RDF_XML, TURTLE, Format, Kind, negotiate
from ..resource_page import Alternate
from .country import load_country, render_country
from .decision import load_decision, render_decision
from .gaps import (
    DEFAULT_SINCE,
    GapData,
    GapMatrix,
    gap_csv,
    gap_json,
    gap_triples,
    load_gap_data,
    render_gaps,
)
from .layout import AICHI_TARGET_NS, PageContext, Paths
from .params import BadParameter, name_param, page_param, year_param
from .reading import GenerationCache, Reader
from .scheme import AICHI_SCHEME, AichiTarget, aichi_targets, target_number
from .target import Filters, TargetData, load_target_data, render_target, render_targets
from .treaty import load_latest, load_treaty, load_year, render_treaty
from .warm import Warmer

if TYPE_CHECKING:
    from ..linked_data import LinkedData

__all__ = ["DECISION_PATH", "GAP_FORMATS", "SitePages"]

log = logging.getLogger(__name__)

_HTML = Format(
    "html", Kind.GRAPH, ("text/html", "application/xhtml+xml"), ("html",), TURTLE.syntax, ""
)
_CSV = Format("csv", Kind.RESULTS, ("text/csv",), ("csv",), ox.QueryResultsFormat.CSV, "")
_JSON = Format(
    "json", Kind.RESULTS, ("application/json",), ("json",), ox.QueryResultsFormat.JSON, ""
)
_JSON_LD = Format(
    "jsonld", Kind.GRAPH, ("application/ld+json",), ("jsonld", "json-ld"), JSON_LD.syntax, ""
)
#: ``/gaps``: the page first (a browser, or no ``Accept``), then the data.
GAP_FORMATS: tuple[Format, ...] = (_HTML, _CSV, _JSON, TURTLE, _JSON_LD, N_TRIPLES, RDF_XML)
_GAP_LABELS = {"csv": "CSV", "json": "JSON", "turtle": "Turtle", "jsonld": "JSON-LD",
               "ntriples": "N-Triples", "rdfxml": "RDF/XML"}  # fmt: skip
_VARY = {"Vary": "Accept, Accept-Language"}
_QB = "http://purl.org/linked-data/cube#"
#: the path, under ``base_iri``, of every minted decision IRI (``mappings/*/decisions.toml``)
DECISION_PATH = "decision/"


class SitePages:
    """Renders the analyst pages over one store."""

    def __init__(
        self, store: StoreBackend, linker: Linker, *, timeout: float | None = None
    ) -> None:
        self.store = store
        self.linker = linker
        self.paths = Paths(linker)
        self.reader = Reader(store, timeout)
        self.version = StoreVersion(store)
        self.cache = GenerationCache(lambda: self.version.current()[0], size=512)
        self.revalidator = Revalidator(self.version)
        #: where decisions are minted (every mapping of ``mea:Decision``: ``{base}decision/``);
        #: other minted IRIs get the generic page without asking the store whether they are one
        self.decisions_at = linker.base_iri + DECISION_PATH

    # -- data, cached per generation ---------------------------------------------------------

    def targets(self) -> list[AichiTarget]:
        return self.cache.get(("targets",), lambda: aichi_targets(self.reader))

    def gap_data(self) -> GapData:
        return self.cache.get(("gaps",), lambda: load_gap_data(self.reader))

    def target_data(self, target: AichiTarget) -> TargetData:
        return self.cache.get(("target", target.iri), lambda: load_target_data(self.reader, target))

    def warm_steps(self) -> Iterator[Callable[[], object]]:
        """What a new store generation should have computed before anyone asks: the gap
        data, then each Aichi target's data (the slow pages; see :mod:`sparql.pages.warm`)."""
        yield self.gap_data
        for target in self.targets():
            yield functools.partial(self.target_data, target)

    def warmer(self) -> Warmer:
        """A :class:`Warmer` of these pages (started and stopped by the application)."""
        return Warmer(lambda: self.version.current()[0], self.warm_steps)

    # -- pages of IRIs (asked by LinkedData for HTML) ------------------------------------------

    def render(
        self, request: Request, iri: str, languages: Sequence[str], alternates: Sequence[Alternate]
    ) -> str | None:
        """The page of ``iri``, or None when it is not a kind these pages show (the generic
        page, or a 404, follows).

        :raises BadParameter: when a query parameter is unusable.
        """
        params = dict(request.query_params)
        ctx = PageContext(self.paths, languages, alternates, params)
        renderer = self._renderer(iri)
        return renderer(iri, ctx) if renderer is not None else None

    def _renderer(self, iri: str) -> Callable[[str, PageContext], str | None] | None:
        if iri.startswith(TREATY_NS):
            return self._treaty
        if iri.startswith(COUNTRY_NS):
            return self._country
        if iri.startswith(AICHI_TARGET_NS):
            return self._target
        if iri == AICHI_SCHEME:
            return self._targets
        if iri.startswith(self.decisions_at):
            return self._decision
        return None

    def _decision(self, iri: str, ctx: PageContext) -> str | None:
        view = load_decision(self.reader, iri)
        return render_decision(view, ctx) if view is not None else None

    def _treaty(self, iri: str, ctx: PageContext) -> str | None:
        year = year_param(ctx.params, "year")
        data = self.cache.get(("treaty", iri), lambda: load_treaty(self.reader, iri))
        if data is None:
            return None
        listed = self.cache.get(
            ("treaty-year", iri, year),
            lambda: load_year(self.reader, iri, year) if year else load_latest(self.reader, iri),
        )
        return render_treaty(data, ctx, year, listed)

    def _country(self, iri: str, ctx: PageContext) -> str | None:
        data = self.cache.get(("country", iri), lambda: load_country(self.reader, iri))
        return render_country(data, ctx) if data is not None else None

    def _target(self, iri: str, ctx: PageContext) -> str | None:
        number = target_number(iri)
        target = next((t for t in self.targets() if t.number == number), None)
        if target is None:
            return None
        filters = Filters(
            name_param(ctx.params, "treaty"),
            year_param(ctx.params, "since"),
            page_param(ctx.params),
        )
        return render_target(self.target_data(target), ctx, filters)

    def _targets(self, iri: str, ctx: PageContext) -> str | None:
        targets = self.targets()
        if not targets:
            return None
        totals: dict[int, int] = {}
        matrix = self.gap_data().matrix(-(10**9))
        for (_, number), cell in matrix.cells.items():
            totals[number] = totals.get(number, 0) + cell.decisions
        return render_targets(targets, totals, ctx)

    # -- routes --------------------------------------------------------------------------------

    def routes(self, linked_data: LinkedData) -> list[Route]:
        """``/gaps``, ``/targets``, ``/aichi/target-<N>``, ``/country/<ISO3>``, ``/treaty/<name>``
        (the last four are the linked-data answers of their IRIs)."""

        def at(make_iri: Callable[[str], str | None]) -> Callable[[Request], Response]:
            def handler(request: Request) -> Response:
                iri = make_iri(request.path_params.get("key", ""))
                if iri is None:
                    return PlainTextResponse("no such page\n", status_code=404)
                return linked_data.respond(request, iri)

            return handler

        return [
            Route("/gaps", self.gaps, methods=["GET"], name="gaps"),
            Route("/targets", at(lambda _: AICHI_SCHEME), methods=["GET"], name="targets"),
            Route("/aichi/target-{key}", at(_target_iri), methods=["GET"], name="aichi-target"),
            Route("/country/{key}", at(_country_iri), methods=["GET"], name="country"),
            Route("/treaty/{key}", at(_treaty_iri), methods=["GET"], name="treaty"),
        ]

    def gaps(self, request: Request) -> Response:
        """``/gaps``: the matrix as a page, CSV, JSON or RDF; ``?since=YEAR`` (default 2010)."""
        started = time.perf_counter()
        choice = negotiate(
            GAP_FORMATS, request.headers.get("accept"), request.query_params.getlist("format")
        )
        if choice is None:
            offered = ", ".join(f.media_types[0] for f in GAP_FORMATS)
            return PlainTextResponse(
                f"not acceptable; offered: {offered}\n", status_code=406, headers=_VARY
            )
        try:
            since = year_param(request.query_params, "since") or DEFAULT_SINCE
        except BadParameter as exc:
            return PlainTextResponse(f"{exc}\n", status_code=400)
        is_page = choice.format is _HTML
        languages = _languages(request) if is_page else []
        parts = ["gaps", choice.format.name, choice.media_type, str(since), ",".join(languages)]
        check = self.revalidator.check(request.headers, parts, _VARY, exists=True)
        if check.not_modified:
            return not_modified(check.headers)
        matrix = self.gap_data().matrix(since)
        response = self._gap_response(request, choice.format, choice.media_type, matrix, languages)
        response.headers["Server-Timing"] = _timing(started)
        return self.revalidator.finish(check, response)

    def _gap_response(
        self,
        request: Request,
        fmt: Format,
        media_type: str,
        matrix: GapMatrix,
        languages: Sequence[str],
    ) -> Response:
        if fmt is _HTML:
            params = dict(request.query_params)
            ctx = PageContext(self.paths, languages, _gap_alternates(matrix.since), params)
            return html_response(render_gaps(matrix, ctx), headers=_VARY)
        if fmt is _CSV:
            return Response(gap_csv(matrix), media_type="text/csv; charset=utf-8", headers=_VARY)
        if fmt is _JSON:
            return Response(gap_json(matrix), media_type="application/json", headers=_VARY)
        syntax = fmt.syntax
        assert isinstance(syntax, ox.RdfFormat)
        triples = gap_triples(matrix, self.linker.base_iri)
        body = ox.serialize(triples, format=syntax, prefixes={**PREFIXES, "qb": _QB})
        return Response(body, media_type=media_type, headers=_VARY)


def _gap_alternates(since: int) -> list[Alternate]:
    return [
        Alternate(_GAP_LABELS[f.name], f.media_types[0], f"?since={since}&format={f.aliases[0]}")
        for f in GAP_FORMATS
        if f is not _HTML
    ]


def _languages(request: Request) -> list[str]:
    return preferred_languages(
        request.headers.get("accept-language"), request.query_params.get("lang")
    )


def _timing(started: float) -> str:
    return f"page;dur={(time.perf_counter() - started) * 1000:.1f}"


def _target_iri(key: str) -> str | None:
    return f"{AICHI_TARGET_NS}{int(key)}" if key.isdigit() and len(key) <= 3 else None


def _country_iri(key: str) -> str | None:
    code = country_code(key) if key.isalpha() and 2 <= len(key) <= 3 else None
    return COUNTRY_NS + code if code else None


def _treaty_iri(key: str) -> str | None:
    ok = 0 < len(key) <= 64 and all(c.isalnum() or c in "-_." for c in key)
    return TREATY_NS + key.lower() if ok else None
