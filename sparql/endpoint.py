"""``GET|POST /sparql``: the SPARQL 1.1 Protocol, read-only.

A request is read on the event loop (parameters, form or direct body, with a size cap); the query
is then evaluated *and* serialised to bytes in one call (:func:`sparql.evaluate.run`): in a
worker process of :mod:`sparql.workers` for an on-disk store (killed at ``query_timeout``), or on
Starlette's thread pool for an in-memory one, because pyoxigraph results must be read on the
thread that produced them.

Answers to a query carry ``MEA-Result-Rows`` (solutions or triples) and ``MEA-Result-Truncated``
(``true`` when ``[server].max_result_rows`` cut the answer). GET answers carry ``ETag`` and
``Last-Modified`` tied to the store's version and are ``304 Not Modified`` on revalidation
(:mod:`sparql.caching`). CORS follows ``[server].cors_origins``.

Status codes:

- 400: missing or repeated ``query``, a syntax error (with the parser's message), an update
  sent as ``query``, or a body that is not UTF-8;
- 403: an update sent the SPARQL Update way (``update=`` parameter or an
  ``application/sparql-update`` body), or a ``SERVICE`` call to an endpoint that is not in
  ``[server].service_allowlist``. 403 and not 405: POST itself is allowed, the operation is not;
- 406: no format we serve fits ``Accept``; 413: the query is longer than ``max_query_bytes``;
- 415: a POST body that is neither a form nor ``application/sparql-query``;
- 500: the store failed while evaluating (for example a ``SERVICE`` endpoint was unreachable);
- 503: the query ran longer than ``query_timeout`` and was stopped (on-disk stores), or a
  remote store did not answer within it.

With a remote store (``[store] query_url``) the query is forwarded to the engine (with
``query_timeout`` as the HTTP timeout; configure the engine's own timeout too, see
``docs/scaling.md``), its answer parsed and written here, so the row cap and content negotiation
are the same for every backend.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from urllib.parse import parse_qsl, urljoin

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from harvester.search.service import SERVICE_IRI, calls_search, expand_for_store
from harvester.search.sync import search_enabled, unavailable_reason
from harvester.settings import ServerSettings
from harvester.store.api import StoreBackend
from harvester.store.embedded import QueryResult

from .caching import StoreVersion, entity_tag, is_not_modified, validator_headers
from .evaluate import Answer, Failure, Job, format_key, run
from .guard import has_relative_iri, is_update, refused_services
from .negotiation import DESCRIPTION_FORMATS, GRAPH_FORMATS, RESULT_FORMATS, Choice, Format
from .negotiation import negotiate as negotiate_format
from .service_description import serialize_description
from .workers import WorkerPool

__all__ = [
    "EXPOSED_HEADERS",
    "ROWS_HEADER",
    "TRUNCATED_HEADER",
    "ProtocolError",
    "ProtocolRequest",
    "SparqlEndpoint",
    "cors_headers",
    "describe",
    "preflight_endpoint",
    "read_request",
    "sparql_endpoint",
]

log = logging.getLogger(__name__)

FORM = "application/x-www-form-urlencoded"
QUERY_BODY = "application/sparql-query"
UPDATE_BODY = "application/sparql-update"
FORMAT_PARAMETERS = ("format", "output", "results")  # Virtuoso, Joseki, Rasqal; SPARQLWrapper
UPDATE_REFUSED = "SPARQL Update is not accepted: this endpoint is read-only."
ROWS_HEADER = "MEA-Result-Rows"
TRUNCATED_HEADER = "MEA-Result-Truncated"
EXPOSED_HEADERS = f"{ROWS_HEADER}, {TRUNCATED_HEADER}, ETag"
_ALLOW_ORIGIN = "Access-Control-Allow-Origin"
_VARY = "Accept, Origin"
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
    media_type, *parameters = request.headers.get("content-type", "").split(";")
    media_type = media_type.strip().lower()
    if media_type == UPDATE_BODY:
        raise ProtocolError(403, UPDATE_REFUSED)
    if media_type == QUERY_BODY:
        _check_charset(parameters)
        return [("query", _decode(await _read_body(request, limit)))]
    if media_type == FORM:
        return _parse_form(await _read_body(request, 3 * limit + _FORM_SLACK))
    raise ProtocolError(
        415, f"POST needs Content-Type {FORM} or {QUERY_BODY}, not {media_type or 'none'}."
    )


def _check_charset(parameters: Sequence[str]) -> None:
    """A direct POST is UTF-8 (SPARQL 1.1 Protocol 2.1.3): another declared charset is a 415."""
    for parameter in parameters:
        name, _, value = parameter.partition("=")
        charset = value.strip().strip('"').lower()
        if name.strip().lower() == "charset" and charset not in ("utf-8", "utf8"):
            raise ProtocolError(415, f"{QUERY_BODY} must be UTF-8, not {charset}.")


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


# -- answering ------------------------------------------------------------------------------


class SparqlEndpoint:
    """``/sparql`` (GET and POST) over ``store``; queries go to ``pool`` when there is one (an
    on-disk store), else they run in-process on a thread (no timeout possible there)."""

    def __init__(
        self, store: StoreBackend, settings: ServerSettings, pool: Callable[[], WorkerPool | None]
    ) -> None:
        self.store = store
        self.settings = settings
        self.pool = pool
        self.version = StoreVersion(store)
        # Requests repeat (dashboards, revalidation): parsing the URL, checking the query and
        # negotiating its format are remembered for the last few distinct GETs. Pure functions
        # of the request and the settings; the query itself is evaluated every time.
        self._read_get = functools.lru_cache(maxsize=256)(self._parse_get)
        self._job = functools.lru_cache(maxsize=256)(self.job)

    async def __call__(self, request: Request) -> Response:
        started = time.perf_counter()
        try:
            protocol = await self._read(request)
            response = await self._answer(request, protocol)
        except ProtocolError as exc:
            return self._finish(request, _error(exc.status, exc.message), started, None)
        return self._finish(request, response, started, protocol.query)

    async def _read(self, request: Request) -> ProtocolRequest:
        if request.method == "POST":
            return await read_request(request, self.settings.max_query_bytes)
        return self._read_get(request.scope["query_string"], request.headers.get("accept"))

    def _parse_get(self, query_string: bytes, accept: str | None) -> ProtocolRequest:
        """:func:`read_request` for a GET (parsed as Starlette's ``query_params`` are)."""
        params = parse_qsl(query_string.decode("latin-1"), keep_blank_values=True)
        return _protocol_request(params, accept, self.settings.max_query_bytes)

    async def _answer(self, request: Request, protocol: ProtocolRequest) -> Response:
        if protocol.query is not None:
            return await self._query(request, protocol)
        if request.method in ("GET", "HEAD"):
            return await run_in_threadpool(describe, self.store, self.settings, protocol)
        raise ProtocolError(400, "Missing 'query' (form field or application/sparql-query body).")

    async def _query(self, request: Request, protocol: ProtocolRequest) -> Response:
        job = self._job(protocol)
        validators: dict[str, str] = {}
        if request.method in ("GET", "HEAD"):
            tag, modified = self.version.current()
            etag = _entity_tag(tag, job)
            validators = validator_headers(etag, modified)
            if is_not_modified(request.headers, etag, modified):
                return Response(status_code=304, headers=validators)
        outcome = await self._evaluate(job)
        if isinstance(outcome, Failure):
            return _error(outcome.status, outcome.message)
        return _answer_response(outcome, validators)

    def job(self, protocol: ProtocolRequest) -> Job:
        """The :class:`Job` for a request with a query.

        :raises ProtocolError: for an update, a refused ``SERVICE``, or no acceptable format.
        """
        query = _with_base(protocol.query or "", self.settings)
        _check_allowed(query, self.settings)
        _check_search(query, self.store)
        results = _choose(RESULT_FORMATS, protocol)
        graph = _choose(GRAPH_FORMATS, protocol)
        if results is None and graph is None:
            raise _not_acceptable(protocol, (*RESULT_FORMATS, *GRAPH_FORMATS))
        return Job(
            query=query,
            default_graphs=protocol.default_graphs,
            named_graphs=protocol.named_graphs,
            results=_job_format(results),
            graph=_job_format(graph),
            max_rows=self.settings.max_result_rows,
        )

    async def _evaluate(self, job: Job) -> Answer | Failure:
        pool = self.pool()
        if pool is not None:
            return await pool.run(job)
        return await run_in_threadpool(run, self._query_in_process, job)

    def _query_in_process(
        self, text: str, default: Sequence[str], named: Sequence[str]
    ) -> QueryResult:
        timeout = self.settings.query_timeout  # a remote store's HTTP timeout (else ignored)
        # SERVICE <urn:meahub:search> (harvester.search.service)
        text = expand_for_store(text, self.store)
        return self.store.query(text, default_graph=default, named_graphs=named, timeout=timeout)

    def _finish(
        self, request: Request, response: Response, started: float, query: str | None
    ) -> Response:
        cors = cors_headers(self.settings.cors_origins, request.headers.get("origin"))
        response.headers.update(cors)
        origins = self.settings.cors_origins
        response.headers["Vary"] = _VARY if origins and "*" not in origins else "Accept"
        elapsed_ms = (time.perf_counter() - started) * 1000
        length = len(query) if query is not None else 0
        log.info(
            "sparql query: %s chars, %.1f ms, status %s", length, elapsed_ms, response.status_code
        )
        return response


def sparql_endpoint(
    store: StoreBackend,
    settings: ServerSettings,
    pool: Callable[[], WorkerPool | None] = lambda: None,
) -> Handler:
    """The ``/sparql`` endpoint (GET and POST) over ``store``; see :class:`SparqlEndpoint`."""
    return SparqlEndpoint(store, settings, pool).__call__


def _job_format(choice: Choice | None) -> tuple[str, str] | None:
    return None if choice is None else (format_key(choice.format), choice.media_type)


@functools.lru_cache(maxsize=256)
def _entity_tag(version: str, job: Job) -> str:
    return entity_tag(version, _request_parts(job))


def _request_parts(job: Job) -> list[str]:
    """What, besides the store's version, an answer depends on."""
    formats = [" ".join(f) if f else "-" for f in (job.results, job.graph)]
    return [job.query, *job.default_graphs, "|", *job.named_graphs, "|", *formats]


def _answer_response(answer: Answer, validators: dict[str, str]) -> Response:
    headers = {
        **validators,
        ROWS_HEADER: str(answer.rows),
        TRUNCATED_HEADER: "true" if answer.truncated else "false",
    }
    return Response(answer.body, media_type=answer.media_type, headers=headers)


def _with_base(query: str, settings: ServerSettings) -> str:
    """``query`` with ``BASE <endpoint IRI>`` before it when it has relative IRIs: the Protocol
    (section 2.3) has a service define its base IRI, and ours is the endpoint's own
    (``base_iri`` + ``sparql``). A ``BASE`` in the query still wins; parser messages then count
    one line more."""
    if "<" not in query or not has_relative_iri(query):
        return query
    return f"BASE <{urljoin(settings.base_iri, 'sparql')}>\n{query}"


def _check_allowed(query: str, settings: ServerSettings) -> None:
    if is_update(query):
        raise ProtocolError(400, UPDATE_REFUSED + " Send a SELECT, ASK, CONSTRUCT or DESCRIBE.")
    refused = refused_services(query, settings.service_allowlist)
    if refused:
        raise ProtocolError(403, f"SERVICE is not allowed to: {', '.join(refused)}")


def _check_search(query: str, store: StoreBackend) -> None:
    """A search ``SERVICE`` block where there is no index (a remote store, or ``[search]
    enabled = false``) is refused as ``/search`` is: 503, saying why (the query workers would
    otherwise read an index a former configuration left on disk)."""
    if calls_search(query) and not search_enabled(store):
        raise ProtocolError(503, f"SERVICE <{SERVICE_IRI}>: {unavailable_reason(store)}")


_OFFERS: dict[int, tuple[Format, ...]] = {
    id(offer): offer for offer in (RESULT_FORMATS, GRAPH_FORMATS, DESCRIPTION_FORMATS)
}


def _choose(formats: tuple[Format, ...], request: ProtocolRequest) -> Choice | None:
    return _negotiate(id(formats), request.accept, request.overrides)


@functools.lru_cache(maxsize=512)
def _negotiate(offer: int, accept: str | None, overrides: tuple[str, ...]) -> Choice | None:
    """:func:`~sparql.negotiation.negotiate` over ``_OFFERS[offer]``, remembered: clients send
    few distinct headers. Keyed by the offer's id: hashing the formats cost more than the rest
    of the lookup."""
    return negotiate_format(_OFFERS[offer], accept, overrides)


def _not_acceptable(request: ProtocolRequest, formats: tuple[Format, ...]) -> ProtocolError:
    offered = ", ".join(dict.fromkeys(t for f in formats for t in f.media_types))
    return ProtocolError(406, f"Cannot answer with {request.accept!r}; available: {offered}.")


def describe(store: StoreBackend, settings: ServerSettings, request: ProtocolRequest) -> Response:
    """The service description, in the negotiated graph format (runs a count: use a thread)."""
    choice = _choose(DESCRIPTION_FORMATS, request)
    if choice is None:
        return _error(406, str(_not_acceptable(request, DESCRIPTION_FORMATS)))
    body = serialize_description(store, settings, choice.format)
    return Response(body, media_type=choice.media_type)


def _error(status: int, message: str) -> Response:
    return PlainTextResponse(message + "\n", status_code=status)


# -- CORS -----------------------------------------------------------------------------------


def cors_headers(origins: Sequence[str], origin: str | None) -> dict[str, str]:
    """CORS response headers for a request from ``origin`` (``[server].cors_origins``): ``*``
    allows any origin; otherwise a listed origin is echoed; nothing when CORS is off."""
    if "*" in origins:
        allowed = "*"
    elif origin is not None and origin in origins:
        allowed = origin
    else:
        return {}
    return {_ALLOW_ORIGIN: allowed, "Access-Control-Expose-Headers": EXPOSED_HEADERS}


def preflight_endpoint(settings: ServerSettings) -> Handler:
    """``OPTIONS /sparql``: answer a CORS preflight (no credentials are involved)."""

    async def preflight(request: Request) -> Response:
        cors = cors_headers(settings.cors_origins, request.headers.get("origin"))
        if not cors:
            return Response(status_code=204, headers={"Allow": "GET, POST, OPTIONS"})
        requested = request.headers.get("access-control-request-headers")
        headers = {
            **cors,
            "Access-Control-Allow-Methods": "GET, POST, OPTIONS",
            "Access-Control-Allow-Headers": requested or "Accept, Content-Type",
            "Access-Control-Max-Age": "86400",
        }
        if cors[_ALLOW_ORIGIN] != "*":
            headers["Vary"] = "Origin"
        return Response(status_code=204, headers=headers)

    return preflight
