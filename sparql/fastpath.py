"""``/sparql`` answered before Starlette's routing: the hot path of the endpoint, kept short.

Every query used to cross Starlette's whole stack: the error middleware, the metrics middleware
(a wrapping ``send`` per message), the exception middleware, the router (a regular expression
per route until ``/sparql`` matched, the linked-data routes first) and the request/response
wrappers. :class:`SparqlFastPath` sits at the top of the user middleware and answers a request
for exactly ``/sparql`` itself, with the same :class:`~sparql.endpoint.SparqlEndpoint`; it records
the request in the metrics and the access log as :class:`~sparql.metrics.MetricsMiddleware` does
for every other path. Measured in-process on the bench machine (a one-row SELECT as JSON with a
canned answer, so without the worker hop, repeated GETs): the application's own cost fell from 65
to 25 microseconds a request, with the memoised request parsing of
:class:`~sparql.endpoint.SparqlEndpoint` and cheaper access-log lines.
"""

from __future__ import annotations

import logging
import time

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from harvester.exceptions import StoreError

from .endpoint import Handler, SparqlEndpoint
from .metrics import Metrics, access_line

__all__ = ["PATH", "SparqlFastPath"]

log = logging.getLogger(__name__)

PATH = "/sparql"
_ALLOWED = "GET, HEAD, POST, OPTIONS"
_QUERY_METHODS = frozenset({"GET", "HEAD", "POST"})


class SparqlFastPath:
    """ASGI middleware: ``/sparql`` goes to ``endpoint`` (``OPTIONS`` to ``preflight``), every
    other request to ``app``.

    :param metrics: where the ``/sparql`` requests are counted and timed.
    """

    def __init__(
        self, app: ASGIApp, endpoint: SparqlEndpoint, preflight: Handler, metrics: Metrics
    ) -> None:
        self.app = app
        self.endpoint = endpoint
        self.preflight = preflight
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != PATH:
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        response = await self._respond(scope, receive)
        try:
            await response(scope, receive, send)
        finally:
            self._record(scope, response, time.perf_counter() - started)

    async def _respond(self, scope: Scope, receive: Receive) -> Response:
        method = scope["method"]
        request = Request(scope, receive)
        try:
            if method in _QUERY_METHODS:
                return await self.endpoint(request)
            if method == "OPTIONS":
                return await self.preflight(request)
        except StoreError as exc:
            log.error("store error on %s: %s", PATH, exc)
            return PlainTextResponse(f"{exc}\n", status_code=500)
        return PlainTextResponse(
            f"{method} is not allowed here; use GET or POST.\n",
            status_code=405,
            headers={"Allow": _ALLOWED},
        )

    def _record(self, scope: Scope, response: Response, seconds: float) -> None:
        status = response.status_code
        self.metrics.observe(PATH, scope["method"], status, seconds)
        access_line(scope, PATH, status, len(response.body), seconds)
