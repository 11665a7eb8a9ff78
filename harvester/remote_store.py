"""A remote SPARQL 1.1 store (oxigraph serve, Fuseki, GraphDB, Virtuoso, QLever...) behind the
same interface as the embedded one (:class:`~harvester.store_api.StoreBackend`).

It speaks the SPARQL 1.1 Protocol over httpx: queries go to ``[store] query_url`` (form POST),
updates to ``update_url`` (form POST), and, when ``graph_store_url`` is set, one graph is read
with the Graph Store Protocol. Answers are parsed into pyoxigraph objects
(``parse_query_results``; CONSTRUCT/DESCRIBE through a scratch in-memory store, so callers get
the same ``QueryTriples``), so no caller changes.

Guarantees, weaker than the embedded store's (see ``docs/scaling.md``):

- :meth:`RemoteStore.apply` is one SPARQL Update request (the DELETE of the replaced graphs, the
  DROP of the dropped ones, the INSERT DATA, and the new version): atomic when the engine runs
  one request in one transaction (oxigraph serve, Fuseki/TDB2, GraphDB do);
- a large run is written in batches of ``[store] batch_quads`` quads, each atomic, but a reader
  may see a source half-updated while the run writes, and a run that fails keeps the batches
  already written (the next run rewrites whatever differs);
- the default graph must be the union of the named graphs *on the engine side*
  (``oxigraph serve --union-default-graph``; Virtuoso does so by default).

The store keeps its identity in the graph :data:`STORE_GRAPH`: a random id made on first use
(``store_id``) and the time of the last write in microseconds, set by every write (``version``,
for ETags). That graph and the
lease graph (:mod:`harvester.lease`) are internal: :meth:`RemoteStore.quads`, :meth:`dump` and
``len()`` leave them out, as they leave out graphs outside ``graph_prefixes`` (an engine's own
system graphs, such as Virtuoso's).
"""

from __future__ import annotations

import contextlib
import logging
import re
import threading
import time
import uuid
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import IO, Any, cast

import httpx
import pyoxigraph as ox

from . import __version__
from .exceptions import QueryError, StoreError, StoreTimeoutError
from .lease import LEASE_GRAPH, WriterLease, new_holder_id
from .settings import StoreSettings
from .store import ChangeSet, QueryResult, StagedStore, _update_operations
from .vocab import MEA

__all__ = ["STORE_GRAPH", "USER_AGENT", "RemoteStore", "bind_values", "query_form"]

log = logging.getLogger(__name__)

USER_AGENT = f"MEA-Hub/{__version__} (remote store client; +https://w3id.org/mea)"
STORE_GRAPH = "https://w3id.org/mea/graph/store"
_S = f"<{STORE_GRAPH}>"
_JSON = "application/sparql-results+json"
_NTRIPLES = "application/n-triples"
_JSON_FORMAT = ox.QueryResultsFormat.JSON
#: seconds a version read from the store is trusted (ETags may lag other writers this long)
VERSION_TTL = 1.0

_CLAIM_ID = (
    f"INSERT {{ GRAPH {_S} {{ {_S} <{MEA}storeId> %s }} }} WHERE {{ "
    f"{{ SELECT (COUNT(?x) AS ?n) WHERE {{ GRAPH {_S} {{ {_S} <{MEA}storeId> ?x }} }} }} "
    "FILTER (?n = 0) }"
)
_READ_ID = f"SELECT ?id WHERE {{ GRAPH {_S} {{ {_S} <{MEA}storeId> ?id }} }} ORDER BY ?id LIMIT 1"
_READ_VERSION = f"SELECT ?v WHERE {{ GRAPH {_S} {{ {_S} <{MEA}storeVersion> ?v }} }}"
# The version is the writer's clock in microseconds (strictly increasing in one process): plain
# DELETE WHERE and INSERT DATA, which every engine evaluates alike.
_SET_VERSION = (
    f"DELETE WHERE {{ GRAPH {_S} {{ {_S} <{MEA}storeVersion> ?v }} }} ;\n"
    f"INSERT DATA {{ GRAPH {_S} {{ {_S} <{MEA}storeVersion> %d }} }}"
)

_IRI = re.compile(r"<[^<>\"{}|^`\\\s]*>")
_COMMENT = re.compile(r"#[^\n]*")
_FORM = re.compile(r"\b(SELECT|ASK|CONSTRUCT|DESCRIBE)\b", re.IGNORECASE)
_WHERE = re.compile(r"\bWHERE\s*\{", re.IGNORECASE)


def query_form(sparql: str) -> str:
    """``SELECT``, ``ASK``, ``CONSTRUCT`` or ``DESCRIBE``: the first form keyword after the
    prologue (IRIs and comments removed first); ``SELECT`` when none is found."""
    match = _FORM.search(_COMMENT.sub(" ", _IRI.sub("<>", sparql)))
    return match.group(1).upper() if match else "SELECT"


def bind_values(sparql: str, substitutions: dict[str, ox.NamedNode | ox.Literal]) -> str:
    """``sparql`` with the substitutions as a ``VALUES`` block at the start of its WHERE
    clause: what pyoxigraph's ``substitutions`` do, for a remote engine.

    :raises QueryError: when the query has no group to put them in.
    """
    names = " ".join(f"?{name}" for name in substitutions)
    terms = " ".join(str(term) for term in substitutions.values())
    clause = f" VALUES ({names}) {{ ({terms}) }} "
    match = _WHERE.search(sparql) if query_form(sparql) == "CONSTRUCT" else None
    end = match.end() if match else sparql.find("{") + 1
    if end <= 0:
        raise QueryError(f"cannot bind {names}: the query has no group pattern")
    return sparql[:end] + clause + sparql[end:]


@contextlib.contextmanager
def _http_errors(action: str, timeout: float) -> Iterator[None]:
    """The one boundary where httpx's errors become :class:`StoreError`."""
    try:
        yield
    except httpx.TimeoutException as exc:
        raise StoreTimeoutError(
            f"{action}: the store did not answer within {timeout:g} s; "
            "narrow the query down (LIMIT, more specific patterns)"
        ) from exc
    except httpx.HTTPError as exc:
        raise StoreError(f"{action}: {type(exc).__name__}: {exc}") from exc


@contextlib.contextmanager
def _parse_errors(action: str) -> Iterator[None]:
    """A malformed answer from the store is the store's failure, not the query's."""
    try:
        yield
    except (SyntaxError, ValueError, OSError) as exc:
        raise StoreError(f"{action}: the store's answer cannot be read: {exc}") from exc


def _check(response: httpx.Response, action: str) -> httpx.Response:
    if response.status_code < 400:
        return response
    body = response.text[:500].strip()
    if response.status_code == 400:
        raise QueryError(f"{action}: the store refused it: {body}")
    raise StoreError(f"{action}: HTTP {response.status_code} from {response.url}: {body}")


class _ChunkReader:
    """A file-like view of a streamed response body, for pyoxigraph's streaming parsers."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self.chunks = chunks
        self.buffer = b""

    def read(self, size: int = -1) -> bytes:
        while size < 0 or len(self.buffer) < size:
            chunk = next(self.chunks, None)
            if chunk is None:
                break
            self.buffer += chunk
        cut = len(self.buffer) if size < 0 else size
        data, self.buffer = self.buffer[:cut], self.buffer[cut:]
        return data


def _auth(settings: StoreSettings) -> httpx.Auth | None:
    if settings.username is None:
        return None
    password = settings.password or ""
    if settings.auth == "digest":
        return httpx.DigestAuth(settings.username, password)
    return httpx.BasicAuth(settings.username, password)


def _as_triples(body: bytes, media_type: str) -> ox.QueryTriples:
    """A CONSTRUCT/DESCRIBE answer as the ``QueryTriples`` the embedded store would return."""
    fmt = ox.RdfFormat.from_media_type(media_type) or ox.RdfFormat.N_TRIPLES
    scratch = ox.Store()
    scratch.load(body, format=fmt)
    result = scratch.query("CONSTRUCT WHERE { ?s ?p ?o }")
    assert isinstance(result, ox.QueryTriples)
    return result


def _boolean(answer: ox.QuerySolutions | ox.QueryBoolean) -> ox.QueryBoolean:
    """An ASK answer as a boolean: Virtuoso 7.2 answers ASK in JSON as a one-column SELECT
    (``__ASK_RETVAL``: one row ``1`` for true, no row for false)."""
    if isinstance(answer, ox.QueryBoolean):
        return answer
    rows = [row[0] for row in answer]
    value = bool(rows) and rows[0] is not None and rows[0].value not in ("0", "false")
    text = b'{"head":{},"boolean":%s}' % (b"true" if value else b"false")
    result = ox.parse_query_results(text, format=_JSON_FORMAT)
    assert isinstance(result, ox.QueryBoolean)
    return result


def _media_type(response: httpx.Response) -> str:
    return str(response.headers.get("content-type", "")).split(";")[0].strip().lower()


class RemoteStore:
    """A SPARQL 1.1 store at ``settings.query_url``/``update_url``; see the module docstring.

    :param graph_prefixes: the graphs that are MEA Hub's (IRI prefixes); empty: all graphs.
    :param transport: an httpx transport (tests inject failures with it).
    :raises StoreError: when the store cannot be reached.
    """

    path: Path | None = None
    generation = ""

    def __init__(
        self,
        settings: StoreSettings,
        *,
        graph_prefixes: Sequence[str] = (),
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        if settings.query_url is None or settings.update_url is None:
            raise StoreError("a remote store needs [store] query_url and update_url")
        self.settings = settings
        self.query_url, self.update_url = settings.query_url, settings.update_url
        self.write_batch_quads: int | None = settings.batch_quads
        self.graph_prefixes = tuple(graph_prefixes)
        self.holder = new_holder_id()
        self.client = httpx.Client(
            timeout=settings.timeout,
            auth=_auth(settings),
            headers={"User-Agent": USER_AGENT},
            transport=transport,
        )
        self._lease: WriterLease | None = None
        self._lease_depth = 0
        self._lease_lock = threading.Lock()
        self._version: tuple[int, float] | None = None
        self._written = 0  # the last version this process wrote
        self.store_id = self._claim_id()

    # -- the wire ------------------------------------------------------------------------------

    def _post(self, url: str, data: dict[str, Any], action: str, **options: Any) -> httpx.Response:
        timeout = options.pop("timeout", None) or self.settings.timeout
        with _http_errors(action, timeout):
            response = self.client.post(url, data=data, timeout=timeout, **options)
        return _check(response, action)

    def update(self, sparql: str, action: str = "cannot write to the store") -> None:
        """Send one SPARQL Update request (one transaction on engines that have them)."""
        self._post(self.update_url, {"update": sparql}, action)

    # -- reading -------------------------------------------------------------------------------

    def query(
        self,
        sparql: str,
        *,
        default_graph: Sequence[str] | None = None,
        named_graphs: Sequence[str] | None = None,
        substitutions: dict[str, ox.NamedNode | ox.Literal] | None = None,
        timeout: float | None = None,
    ) -> QueryResult:
        """Evaluate a query on the engine; the answer is parsed into pyoxigraph objects.

        :param timeout: seconds to wait for the answer (default ``[store] timeout``).
        :raises QueryError: when the engine refuses the query (HTTP 400).
        :raises StoreTimeoutError: when it does not answer in time.
        """
        text = bind_values(sparql, substitutions) if substitutions else sparql
        form = query_form(text)
        data = {
            "query": text,
            "default-graph-uri": list(default_graph or ()),
            "named-graph-uri": list(named_graphs or ()),
        }
        accept = _NTRIPLES if form in ("CONSTRUCT", "DESCRIBE") else _JSON
        response = self._post(
            self.query_url, data, "query failed", headers={"Accept": accept}, timeout=timeout
        )
        with _parse_errors("query failed"):
            if form in ("CONSTRUCT", "DESCRIBE"):
                return _as_triples(response.content, _media_type(response))
            fmt = ox.QueryResultsFormat.from_media_type(_media_type(response))
            answer = ox.parse_query_results(response.content, format=fmt or _JSON_FORMAT)
            return _boolean(answer) if form == "ASK" else answer

    def graph_quads(self, graph: str) -> list[ox.Quad]:
        """All quads of one named graph (Graph Store Protocol when configured)."""
        node = ox.NamedNode(graph)
        if self.settings.graph_store_url:
            return [ox.Quad(t.subject, t.predicate, t.object, node) for t in self._gsp_get(graph)]
        rows = self.query(
            "SELECT ?s ?p ?o WHERE { GRAPH ?g { ?s ?p ?o } }", substitutions={"g": node}
        )
        assert isinstance(rows, ox.QuerySolutions)
        return [ox.Quad(r[0], r[1], r[2], node) for r in rows]

    def _gsp_get(self, graph: str) -> list[ox.Quad]:
        url = self.settings.graph_store_url or ""
        action = f"cannot read graph {graph}"
        with _http_errors(action, self.settings.timeout):
            response = self.client.get(url, params={"graph": graph}, headers={"Accept": _NTRIPLES})
        if response.status_code == 404:
            return []
        _check(response, action)
        fmt = ox.RdfFormat.from_media_type(_media_type(response)) or ox.RdfFormat.N_TRIPLES
        with _parse_errors(action):
            return list(ox.parse(response.content, format=fmt))

    def has_graph(self, graph: str) -> bool:
        answer = self.query(
            "ASK { GRAPH ?g { ?s ?p ?o } }", substitutions={"g": ox.NamedNode(graph)}
        )
        return bool(answer)

    def __len__(self) -> int:
        """Quads in MEA Hub's graphs (the internal ones left out)."""
        rows = self.query(
            f"SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH ?g {{ ?s ?p ?o }} {self._own()} }}"
        )
        assert isinstance(rows, ox.QuerySolutions)
        return int(next(iter(rows))[0].value)

    def _own(self) -> str:
        """A FILTER on ``?g`` that keeps MEA Hub's graphs only."""
        internal = f"?g NOT IN ({_S}, <{LEASE_GRAPH}>)"
        prefixes = " || ".join(f"STRSTARTS(STR(?g), {ox.Literal(p)})" for p in self.graph_prefixes)
        return f"FILTER ({internal}{f' && ({prefixes})' if prefixes else ''})"

    def quads(self) -> Iterator[ox.Quad]:
        """Every quad of MEA Hub's graphs, streamed from one query."""
        text = f"SELECT ?s ?p ?o ?g WHERE {{ GRAPH ?g {{ ?s ?p ?o }} {self._own()} }}"
        action = "cannot read quads"
        timeout = self.settings.timeout
        with (
            _http_errors(action, timeout),
            self.client.stream(
                "POST", self.query_url, data={"query": text}, headers={"Accept": _JSON}
            ) as response,
        ):
            if response.status_code >= 400:
                response.read()
            _check(response, action)
            reader = _ChunkReader(response.iter_bytes())
            with _parse_errors(action):
                rows = ox.parse_query_results(cast(IO[bytes], reader), format=_JSON_FORMAT)
                assert isinstance(rows, ox.QuerySolutions)
                for row in rows:
                    yield ox.Quad(row[0], row[1], row[2], row[3])

    def dump(self, output: IO[bytes], fmt: ox.RdfFormat, *, graph: str | None = None) -> None:
        """Serialise MEA Hub's graphs (or one graph) to ``output``, streamed."""
        quads = iter(self.graph_quads(graph)) if graph is not None else self.quads()
        with _parse_errors("export failed"):
            if fmt.supports_datasets:
                ox.serialize(quads, output, format=fmt)
            else:
                ox.serialize((q.triple for q in quads), output, format=fmt)

    # -- identity and version ------------------------------------------------------------------

    def _claim_id(self) -> str:
        """The store's id, made on first use by whichever process gets there first."""
        self.update(_CLAIM_ID % ox.Literal(uuid.uuid4().hex), "cannot mark the store")
        rows = self.query(_READ_ID)
        assert isinstance(rows, ox.QuerySolutions)
        return str(next(iter(rows))[0].value)

    @property
    def version(self) -> int:
        """When the store was last written (microseconds), read at most every
        :data:`VERSION_TTL` seconds."""
        now = time.monotonic()
        if self._version is None or now - self._version[1] > VERSION_TTL:
            rows = self.query(_READ_VERSION)
            assert isinstance(rows, ox.QuerySolutions)
            values = [int(row[0].value) for row in rows]
            self._version = (max(values, default=0), now)
        return self._version[0]

    # -- writing -------------------------------------------------------------------------------

    def apply(self, changes: ChangeSet) -> None:
        """Replace and drop graphs in one SPARQL Update request (and set the version).

        :raises StoreError: when the write fails; then nothing of ``changes`` is visible (on
            an engine that runs one request in one transaction).
        :raises LeaseHeldError: when this process held the writer lease and lost it.
        """
        if not changes:
            return
        if self._lease is not None:
            self._lease.check()
        stamp = max(time.time_ns() // 1000, self._written + 1)
        self.update(";\n".join([*_update_operations(changes), _SET_VERSION % stamp]))
        self._written, self._version = stamp, None
        log.debug("applied %d graphs, %d dropped", len(changes.replace), len(changes.drop))

    def replace_graph(self, graph: str, quads: Iterable[ox.Quad]) -> None:
        changes = ChangeSet()
        changes.put_graph(graph, quads)
        self.apply(changes)

    def stage(self) -> StagedStore | None:
        """None: a remote store has no staged copies (large runs write in batches)."""
        return None

    def publish(self, staged: StagedStore, *, optimize: bool = False) -> None:
        raise StoreError("a remote store has no staged generations to publish")

    def discard(self, staged: StagedStore) -> None:
        raise StoreError("a remote store has no staged generations to discard")

    # -- the writer lease ----------------------------------------------------------------------

    @contextlib.contextmanager
    def writer_lease(self) -> Iterator[None]:
        """Hold the store's writer lease (:mod:`harvester.lease`) while the block runs; nested
        and concurrent holds in this process share one lease.

        :raises LeaseHeldError: when another writer holds it.
        """
        self._enter_lease()
        try:
            yield
        finally:
            self._leave_lease()

    def _enter_lease(self) -> None:
        with self._lease_lock:
            if self._lease is None:
                lease = WriterLease(self, holder=self.holder, seconds=self.settings.lease_seconds)
                lease.acquire()
                self._lease = lease
            self._lease_depth += 1

    def _leave_lease(self) -> None:
        with self._lease_lock:
            self._lease_depth -= 1
            if self._lease_depth == 0 and self._lease is not None:
                self._lease.release()
                self._lease = None

    def close(self) -> None:
        """Give up the lease if held, and close the connections."""
        with self._lease_lock:
            if self._lease is not None:
                self._lease.release()
                self._lease = None
        self.client.close()
