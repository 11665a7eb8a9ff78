"""The public face around the SPARQL endpoint: query page, linked data, dataset description.

:func:`with_public_routes` wraps the application's own routes: the query page (``/``) and the
static files, ``/def``, ``/resource``, ``/.well-known/void`` and ``/dumps/...`` go first, and the
fallback route that dereferences every IRI under ``base_iri`` goes last, so it answers only for
paths nothing else claims.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from starlette.routing import BaseRoute

from harvester.settings import ServerSettings
from harvester.store_api import StoreBackend

from .linked_data import fallback_route, linked_data_routes
from .query_page import query_page_routes
from .void import void_routes

__all__ = ["with_public_routes"]


def with_public_routes(
    routes: Sequence[BaseRoute],
    store: StoreBackend,
    settings: ServerSettings,
    status: Callable[[], dict[str, Any]] | None = None,
) -> list[BaseRoute]:
    """``routes`` with the public pages before them and the IRI fallback after them."""
    return [
        *query_page_routes(),
        *linked_data_routes(store, settings),
        *void_routes(store, settings, status),
        *routes,
        fallback_route(store, settings),
    ]
