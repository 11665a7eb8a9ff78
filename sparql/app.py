"""The ASGI application: ``/sparql``, ``/health``, ``/status``, the operations routes and the
public face (query page, linked data, dataset description) of :mod:`sparql.public`.

The store comes in as an argument, never opened here: ``httpx.ASGITransport`` does not run
lifespan events, and the store's owner (``meahub serve``) decides when it is opened and closed.
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any

import anyio
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

from harvester.exceptions import QueryError, StoreError
from harvester.settings import ServerSettings
from harvester.store.api import StoreBackend

from .endpoint import SparqlEndpoint, preflight_endpoint
from .fastpath import SparqlFastPath
from .feed import feed_routes
from .operations import Operations
from .pages.warm import Warmer
from .public import site_pages, with_public_routes
from .search import search_routes

__all__ = ["create_app"]

log = logging.getLogger(__name__)

StatusCallable = Callable[[], dict[str, Any]]
Lifespan = Callable[[Starlette], contextlib.AbstractAsyncContextManager[None]]


def create_app(
    store: StoreBackend,
    settings: ServerSettings,
    *,
    status: StatusCallable | None = None,
    extra_routes: Sequence[BaseRoute] = (),
) -> Starlette:
    """Build the application over an open store.

    :param status: returns the harvest status for ``GET /status``; ``{}`` when not given.
    :param extra_routes: more routes before the linked-data fallback (``meahub serve`` adds the
        admin API, :mod:`sparql.admin`).
    """
    ops = Operations(store, settings, status)
    endpoint = SparqlEndpoint(store, settings, ops.pool)
    preflight = preflight_endpoint(settings)
    routes = [
        Route("/health", health, methods=["GET"], name="health"),
        Route("/status", status_endpoint(status), methods=["GET"], name="status"),
        # Answered by SparqlFastPath before routing; kept for url_for("sparql").
        Route("/sparql", endpoint.__call__, methods=["GET", "POST"], name="sparql"),
        Route("/sparql", preflight, methods=["OPTIONS"], name="sparql-preflight"),
        *ops.routes(),
        *search_routes(store, settings, ops.pool),  # /search (issue 17, sparql/search.py)
        *feed_routes(store, settings),  # /ldes (issue 15, sparql/feed.py)
        *extra_routes,
    ]
    handlers = {QueryError: _query_error, StoreError: _store_error}
    pages = site_pages(store, settings)
    warmer = pages.warmer()
    app = Starlette(
        routes=with_public_routes(routes, store, settings, status, pages),
        exception_handlers=handlers,
        middleware=[
            Middleware(SparqlFastPath, endpoint=endpoint, preflight=preflight, metrics=ops.metrics),
            *ops.middleware(),
        ],
        lifespan=_with_warmer(ops.lifespan, warmer),
    )
    app.state.pages, app.state.warmer = pages, warmer
    return app


def _with_warmer(inner: Lifespan, warmer: Warmer) -> Lifespan:
    """``inner`` (the query workers), and the pages' warmer thread while the app runs (issue 16:
    a new store generation's gap and target data is computed before the first request)."""

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with inner(app):
            warmer.start()
            try:
                yield
            finally:
                await anyio.to_thread.run_sync(warmer.stop)

    return lifespan


async def _query_error(request: Request, exc: Exception) -> Response:
    return PlainTextResponse(f"{exc}\n", status_code=400)


async def _store_error(request: Request, exc: Exception) -> Response:
    log.error("store error on %s: %s", request.url.path, exc)
    return PlainTextResponse(f"{exc}\n", status_code=500)


async def health(request: Request) -> Response:
    """Liveness: the process answers."""
    return JSONResponse({"status": "ok"})


def status_endpoint(status: StatusCallable | None) -> Callable[[Request], Response]:
    """``GET /status``: a plain function, so a slow ``status`` runs on a worker thread."""

    def status_page(request: Request) -> Response:
        data = status() if status is not None else {}
        body = json.dumps(data, default=str, ensure_ascii=False)
        return Response(body.encode("utf-8"), media_type="application/json")

    return status_page
