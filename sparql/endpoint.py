"""``GET|POST /sparql``: the SPARQL 1.1 Protocol, read-only.

A request is read on the event loop (parameters, form or direct body, with a size cap); the query
is then evaluated *and* serialised to bytes in one plain function on Starlette's thread pool,
because pyoxigraph results must be read on the thread that produced them.

Status codes:

- 400: missing or repeated ``query``, a syntax error (with the parser's message), an update
  sent as ``query``, or a body that is not UTF-8;
- 403: an update sent the SPARQL Update way (``update=`` parameter or an
  ``application/sparql-update`` body), or a ``SERVICE`` call to an endpoint that is not in
  ``[server].service_allowlist``. 403 and not 405: POST itself is allowed, the operation is not;
- 406: no format we serve fits ``Accept``; 413: the query is longer than ``max_query_bytes``;
- 415: a POST body that is neither a form nor ``application/sparql-query``;
- 500: the store failed while evaluating (for example a ``SERVICE`` endpoint was unreachable).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from urllib.parse import parse_qsl

import pyoxigraph as ox
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from harvester.exceptions import QueryError, StoreError
from harvester.settings import ServerSettings
from harvester.store import MeaStore, QueryResult, map_store_errors

from .guard import is_update, refused_services
from .negotiation import DESCRIPTION_FORMATS, GRAPH_FORMATS, RESULT_FORMATS, Choice, Format
from .negotiation import negotiate as negotiate_format
from .service_description import serialize_description

__all__ = [
    "CORS_HEADERS",
    "ProtocolError",
    "ProtocolRequest",
    "execute",
    "preflight",
    "read_request",
    "sparql_endpoint",
]

log = logging.getLogger(__name__)

FORM = "application/x-www-form-urlencoded"
QUERY_BODY = "application/sparql-query"
UPDATE_BODY = "application/sparql-update"
FORMAT_PARAMETERS = ("format", "output", "results")  # Virtuoso, Joseki, Rasqal; SPARQLWrapper
UPDATE_REFUSED = "SPARQL Update is not accepted: this endpoint is read-only."
CORS_HEADERS = {"Access-Control-Allow-Origin": "*"}
_FORM_SLACK = 64 * 1024  # room for the other form fields next to a percent-encoded query

Handler = Callable[[Request], Awaitable[Response]]


class ProtocolError(Exception):
    """A request the endpoint refuses, with the HTTP status and a message for the client."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True)
class ProtocolRequest:
    """A SPARQL Protocol request, read from the URL and the body.

    :param query: the query text, or None when the request has none.
    :param overrides: ``format``/``output``/``results`` values, which win over ``Accept``.
    """

    query: str | None
    default_graphs: tuple[str, ...] = ()
    named_graphs: tuple[str, ...] = ()
    accept: str | None = None
    overrides: tuple[str, ...] = ()


# -- reading the request -------------------------------------------------------------------


async def read_request(request: Request, limit: int) -> ProtocolRequest:
    """Read the protocol parameters of a GET or POST request.

    :param limit: the largest query, in UTF-8 bytes.
    :raises ProtocolError: for a request the endpoint refuses.
    """
    params = list(request.query_params.multi_items())
    if request.method == "POST":
        params += await _read_post(request, limit)
    return _protocol_request(params, request.headers.get("accept"), limit)


def _values(params: Sequence[tuple[str, str]], name: str) -> list[str]:
    return [value for key, value in params if key == name]


def _protocol_request(
    params: Sequence[tuple[str, str]], accept: str | None, limit: int
) -> ProtocolRequest:
    if _values(params, "update"):
        raise ProtocolError(403, UPDATE_REFUSED)
    queries = _values(params, "query")
    if len(queries) > 1:
        raise ProtocolError(400, "Give exactly one 'query' parameter.")
    query = queries[0] if queries else None
    if query is not None and len(query.encode("utf-8", "surrogatepass")) > limit:
        raise _too_large(limit)
    return ProtocolRequest(
        query=query,
        default_graphs=tuple(_values(params, "default-graph-uri")),
        named_graphs=tuple(_values(params, "named-graph-uri")),
        accept=accept,
        overrides=tuple(v for name in FORMAT_PARAMETERS for v in _values(params, name)),
    )


def _too_large(limit: int) -> ProtocolError:
    return ProtocolError(413, f"The query is longer than this endpoint's limit of {limit} bytes.")


async def _read_post(request: Request, limit: int) -> list[tuple[str, str]]:
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type == UPDATE_BODY:
        raise ProtocolError(403, UPDATE_REFUSED)
    if media_type == QUERY_BODY:
        return [("query", _decode(await _read_body(request, limit)))]
    if media_type == FORM:
        return _parse_form(await _read_body(request, 3 * limit + _FORM_SLACK))
    raise ProtocolError(
        415, f"POST needs Content-Type {FORM} or {QUERY_BODY}, not {media_type or 'none'}."
    )


async def _read_body(request: Request, cap: int) -> bytes:
    """The body, refusing (413) as soon as it exceeds ``cap`` bytes."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > cap:
        raise _too_large(cap)
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > cap:
            raise _too_large(cap)
        chunks.append(chunk)
    return b"".join(chunks)


def _decode(body: bytes) -> str:
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ProtocolError(400, f"The request body is not UTF-8: {exc}") from exc


def _parse_form(body: bytes) -> list[tuple[str, str]]:
    try:
        return parse_qsl(_decode(body), keep_blank_values=True, errors="strict")
    except ValueError as exc:
        raise ProtocolError(400, f"The form is not valid UTF-8 form data: {exc}") from exc


# -- answering (on a worker thread) --------------------------------------------------------


def execute(store: MeaStore, settings: ServerSettings, request: ProtocolRequest) -> Response:
    """Evaluate the query and serialise its result, in one call on the calling thread.

    Run it through :func:`_on_worker`, so that no exception (whose traceback would hold the
    result) leaves the thread.

    :raises ProtocolError: for an update, a refused ``SERVICE`` or no acceptable format.
    :raises QueryError: for a syntax error.
    :raises StoreError: when evaluation fails.
    """
    query = request.query or ""
    _check_allowed(query, settings)
    if _choose(RESULT_FORMATS, request) is None and _choose(GRAPH_FORMATS, request) is None:
        raise _not_acceptable(request, (*RESULT_FORMATS, *GRAPH_FORMATS))
    result = store.query(
        query, default_graph=request.default_graphs, named_graphs=request.named_graphs
    )
    formats = GRAPH_FORMATS if isinstance(result, ox.QueryTriples) else RESULT_FORMATS
    choice = _choose(formats, request)
    if choice is None:
        raise _not_acceptable(request, formats)
    with map_store_errors("query failed"):  # evaluation is lazy: errors surface while writing
        body = _serialize(result, choice.format)
    return Response(body, media_type=choice.media_type)


def _check_allowed(query: str, settings: ServerSettings) -> None:
    if is_update(query):
        raise ProtocolError(400, UPDATE_REFUSED + " Send a SELECT, ASK, CONSTRUCT or DESCRIBE.")
    refused = refused_services(query, settings.service_allowlist)
    if refused:
        raise ProtocolError(403, f"SERVICE is not allowed to: {', '.join(refused)}")


def _choose(formats: Sequence[Format], request: ProtocolRequest) -> Choice | None:
    return negotiate_format(formats, request.accept, request.overrides)


def _not_acceptable(request: ProtocolRequest, formats: Sequence[Format]) -> ProtocolError:
    offered = ", ".join(dict.fromkeys(t for f in formats for t in f.media_types))
    return ProtocolError(406, f"Cannot answer with {request.accept!r}; available: {offered}.")


def _serialize(result: QueryResult, fmt: Format) -> bytes:
    syntax = fmt.syntax
    if isinstance(result, ox.QueryTriples) and isinstance(syntax, ox.RdfFormat):
        return result.serialize(format=syntax) or b""
    if not isinstance(result, ox.QueryTriples) and isinstance(syntax, ox.QueryResultsFormat):
        return result.serialize(format=syntax) or b""
    raise ValueError(f"cannot write {type(result).__name__} as {fmt.name}")


def describe(store: MeaStore, settings: ServerSettings, request: ProtocolRequest) -> Response:
    """The service description, in the negotiated graph format (runs a count: use a thread)."""
    choice = _choose(DESCRIPTION_FORMATS, request)
    if choice is None:
        raise _not_acceptable(request, DESCRIPTION_FORMATS)
    body = serialize_description(store, settings, choice.format)
    return Response(body, media_type=choice.media_type)


# -- the ASGI endpoints --------------------------------------------------------------------


def sparql_endpoint(store: MeaStore, settings: ServerSettings) -> Handler:
    """The ``/sparql`` endpoint (GET and POST) over ``store``."""

    async def sparql(request: Request) -> Response:
        started = time.perf_counter()
        try:
            protocol = await read_request(request, settings.max_query_bytes)
        except ProtocolError as exc:
            return _finish(_error(exc.status, exc.message), started, None)
        response = await _dispatch(store, settings, request.method, protocol)
        return _finish(response, started, protocol.query)

    return sparql


async def _dispatch(
    store: MeaStore, settings: ServerSettings, method: str, protocol: ProtocolRequest
) -> Response:
    if protocol.query is not None:
        return await run_in_threadpool(_on_worker, execute, store, settings, protocol)
    if method in ("GET", "HEAD"):
        return await run_in_threadpool(_on_worker, describe, store, settings, protocol)
    return _error(400, "Missing 'query' (form field or application/sparql-query body).")


Work = Callable[[MeaStore, ServerSettings, ProtocolRequest], Response]


def _on_worker(
    work: Work, store: MeaStore, settings: ServerSettings, protocol: ProtocolRequest
) -> Response:
    """Run ``work`` and turn its errors into responses *on this thread*.

    An exception must not leave the worker thread: its traceback holds the frames, and with them
    any pyoxigraph result, which would then be dropped on the event loop's thread (pyoxigraph
    results are unsendable; dropping one on another thread is an error).
    """
    try:
        return work(store, settings, protocol)
    except ProtocolError as exc:
        return _error(exc.status, exc.message)
    except QueryError as exc:
        return _error(400, str(exc))
    except StoreError as exc:
        log.warning("query evaluation failed: %s", exc)
        return _error(500, str(exc))


def _error(status: int, message: str) -> Response:
    return PlainTextResponse(message + "\n", status_code=status)


def _finish(response: Response, started: float, query: str | None) -> Response:
    response.headers.update(CORS_HEADERS)
    response.headers["Vary"] = "Accept"
    elapsed_ms = (time.perf_counter() - started) * 1000
    length = len(query) if query is not None else 0
    log.info("sparql query: %s chars, %.1f ms, status %s", length, elapsed_ms, response.status_code)
    return response


async def preflight(request: Request) -> Response:
    """Answer a CORS preflight for ``/sparql`` (any origin; no credentials are involved)."""
    headers = {
        **CORS_HEADERS,
        "Access-Control-Allow-Methods": "GET, POST, OPTIONS",
        "Access-Control-Allow-Headers": request.headers.get(
            "access-control-request-headers", "Accept, Content-Type"
        ),
        "Access-Control-Max-Age": "86400",
    }
    return Response(status_code=204, headers=headers)
