"""The public face around the SPARQL endpoint: query page, analyst pages, linked data, dataset
description.

:func:`with_public_routes` wraps the application's own routes: the query page (``/``) and the
static files, the analyst pages (``/gaps``, ``/targets``, ``/aichi/...``, ``/country/...``,
``/treaty/...``; :mod:`sparql.pages`), ``/def``, ``/resource``, ``/.well-known/void`` and
``/dumps/...`` go first, and the fallback route that dereferences every IRI under ``base_iri``
goes last, so it answers only for paths nothing else claims. The linked-data routes show the
analyst pages as the HTML of the IRIs they cover.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from starlette.routing import BaseRoute

from harvester.settings import ServerSettings
from harvester.store.api import StoreBackend

from .linked_data import LinkedData, fallback_route, linked_data_routes
from .links import Linker
from .pages import SitePages
from .query_page import query_page_routes
from .void import void_routes

__all__ = ["site_pages", "with_public_routes"]


def site_pages(store: StoreBackend, settings: ServerSettings) -> SitePages:
    """The analyst pages over ``store``."""
    return SitePages(store, Linker(settings.base_iri), timeout=settings.query_timeout)


def with_public_routes(
    routes: Sequence[BaseRoute],
    store: StoreBackend,
    settings: ServerSettings,
    status: Callable[[], dict[str, Any]] | None = None,
    pages: SitePages | None = None,
) -> list[BaseRoute]:
    """``routes`` with the public pages before them and the IRI fallback after them;
    ``pages`` (:func:`site_pages`) when the caller also runs their warmer."""
    linker = Linker(settings.base_iri)
    pages = pages if pages is not None else site_pages(store, settings)
    return [
        *query_page_routes(),
        *pages.routes(LinkedData(store, linker, pages)),
        *linked_data_routes(store, settings, pages),
        *void_routes(store, settings, status),
        *routes,
        fallback_route(store, settings, pages),
    ]
