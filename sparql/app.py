"""The ASGI application: ``/sparql``, ``/health``, ``/status`` and a small query page at ``/``.

The store comes in as an argument, never opened here: ``httpx.ASGITransport`` does not run
lifespan events, and the store's owner (``meahub serve``) decides when it is opened and closed.
"""

from __future__ import annotations

import html
import json
import logging
from collections.abc import Callable, Sequence
from typing import Any
from urllib.parse import urlencode

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

from harvester.exceptions import QueryError, StoreError
from harvester.settings import ServerSettings
from harvester.store_api import StoreBackend

from .endpoint import SparqlEndpoint, preflight_endpoint
from .fastpath import SparqlFastPath
from .operations import Operations
from .public import with_public_routes

__all__ = ["EXAMPLE_QUERIES", "create_app"]

log = logging.getLogger(__name__)

StatusCallable = Callable[[], dict[str, Any]]

EXAMPLE_QUERIES: dict[str, str] = {
    "Count the decisions": (
        "PREFIX mea: <https://w3id.org/mea/ontology#>\n"
        "SELECT (COUNT(*) AS ?n) WHERE { ?d a mea:Decision }"
    ),
    "Classes in use": (
        "SELECT ?class (COUNT(?s) AS ?n) WHERE { ?s a ?class }\n"
        "GROUP BY ?class ORDER BY DESC(?n) LIMIT 50"
    ),
    "Largest record graphs": (
        "SELECT ?g (COUNT(*) AS ?triples) WHERE { GRAPH ?g { ?s ?p ?o } }\n"
        "GROUP BY ?g ORDER BY DESC(?triples) LIMIT 20"
    ),
}

_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>MEA Hub SPARQL endpoint</title>
<style>body{{font-family:sans-serif;max-width:60em;margin:2em auto}}
textarea{{width:100%;font-family:monospace}}</style>
</head>
<body>
<h1>MEA Hub SPARQL endpoint</h1>
<p>The endpoint is <code>{endpoint}</code> (SPARQL 1.1 Protocol, read-only; the default graph is
the union of all graphs).</p>
<form method="post" action="/sparql">
<textarea name="query" rows="12">{query}</textarea>
<p><label>Format <select name="format">{options}</select></label>
<button type="submit">Run query</button></p>
</form>
<h2>Examples</h2>
<ul>
{examples}
</ul>
</body>
</html>
"""

_PAGE_FORMATS = ("json", "xml", "csv", "tsv", "turtle", "ntriples", "jsonld")


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
        Route("/", home, methods=["GET"], name="home"),
        Route("/health", health, methods=["GET"], name="health"),
        Route("/status", status_endpoint(status), methods=["GET"], name="status"),
        # Answered by SparqlFastPath before routing; kept for url_for("sparql").
        Route("/sparql", endpoint.__call__, methods=["GET", "POST"], name="sparql"),
        Route("/sparql", preflight, methods=["OPTIONS"], name="sparql-preflight"),
        *ops.routes(),
        *extra_routes,
    ]
    handlers = {QueryError: _query_error, StoreError: _store_error}
    return Starlette(
        routes=with_public_routes(routes, store, settings, status),
        exception_handlers=handlers,
        middleware=[
            Middleware(SparqlFastPath, endpoint=endpoint, preflight=preflight, metrics=ops.metrics),
            *ops.middleware(),
        ],
        lifespan=ops.lifespan,
    )


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


async def home(request: Request) -> Response:
    """A small query form (no scripts, no external resources)."""
    first = next(iter(EXAMPLE_QUERIES.values()))
    page = _PAGE.format(
        endpoint=html.escape(str(request.url_for("sparql"))),
        query=html.escape(first),
        options="".join(f"<option>{html.escape(f)}</option>" for f in _PAGE_FORMATS),
        examples="\n".join(_example_item(t, q) for t, q in EXAMPLE_QUERIES.items()),
    )
    return HTMLResponse(page)


def _example_item(title: str, query: str) -> str:
    href = "/sparql?" + urlencode({"query": query})
    return (
        f'<li><a href="{html.escape(href)}">{html.escape(title)}</a>'
        f"<pre>{html.escape(query)}</pre></li>"
    )
