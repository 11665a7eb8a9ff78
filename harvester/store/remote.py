"""A remote SPARQL 1.1 store (oxigraph serve, Fuseki, GraphDB, Virtuoso, QLever...) behind the
same interface as the embedded one (:class:`~harvester.store.api.StoreBackend`).

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

OpenLink Virtuoso (``[store] engine = "virtuoso"``, or recognised by its ``Server`` header) gets
its writes in a form it accepts (:func:`virtuoso_requests`): triples that hold blank nodes, which
it refuses in ``INSERT DATA``, go in ``INSERT { GRAPH <g> { ... } } WHERE {}`` templates (one
graph and a bounded number of triples each), and no ``GRAPH`` block of ``INSERT DATA`` is longer
than its parser accepts. See "Engine quirks handled" in ``docs/scaling.md``.

The store keeps its identity in the graph :data:`STORE_GRAPH`: a random id made on first use
(``store_id``) and the time of the last write in microseconds, set by every write (``version``,
for ETags). That graph and the
lease graph (:mod:`harvester.store.lease`) are internal: :meth:`RemoteStore.quads`, :meth:`dump` and
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
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import IO, Any, cast

import httpx
import pyoxigraph as ox

from .. import __version__
from ..exceptions import QueryError, StoreError, StoreTimeoutError
from ..settings import StoreSettings
from ..vocab import MEA
from .embedded import ChangeSet, QueryResult, StagedStore, _update_operations
from .lease import LEASE_GRAPH, WriterLease, new_holder_id

__all__ = [
    "STORE_GRAPH",
    "USER_AGENT",
    "RemoteStore",
    "bind_values",
    "detect_engine",
    "query_form",
    "virtuoso_requests",
]

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

# Virtuoso 7.2's limits, measured: its SPARQL parser gives up ("memory exhausted") on a group of
# about 5,000 triples, in INSERT DATA too; a template insert compiles to SQL of several lines a
# triple, refused past 10,000 lines (between 1,000 and 1,500 triples); templates compile slowly
# (about 0.7 ms a triple), and a request of some 5,000 template triples or more may be refused
# ("code vector exceeded").
VIRTUOSO_BLOCK_TRIPLES = 2_000  # triples per GRAPH block of INSERT DATA
VIRTUOSO_TEMPLATE_TRIPLES = 500  # triples per INSERT { ... } WHERE {}; a larger linked set alone
VIRTUOSO_TEMPLATE_BUDGET = 2_000  # template triples per request; more go in further requests
_INSERT_DATA_BYTES = 4_000_000  # N-Triples text per INSERT DATA operation

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


# Virtuoso's SPARQL JSON results name blank nodes ``nodeID://b123`` (``_:b123`` in its
# N-Triples), which is no blank node label, and give booleans as "1" and "0" (true and false in
# its N-Triples). A JSON string cannot hold these patterns (its quotes would be escaped), so the
# rewrite touches blank nodes and booleans only.
_VIRTUOSO_BNODE = re.compile(rb'("type"\s*:\s*"bnode"\s*,\s*"value"\s*:\s*")nodeID://')
_VIRTUOSO_BOOLEAN = re.compile(
    rb'("datatype"\s*:\s*"http://www\.w3\.org/2001/XMLSchema#boolean"\s*,\s*"value"\s*:\s*")'
    rb'([01])"'
)


def _virtuoso_json(data: bytes) -> bytes:
    """Virtuoso's JSON results with blank nodes labelled ``b123`` and booleans ``true`` and
    ``false``, as in its N-Triples."""
    data = _VIRTUOSO_BNODE.sub(rb"\1", data)
    return _VIRTUOSO_BOOLEAN.sub(
        lambda m: m.group(1) + (b'true"' if m.group(2) == b"1" else b'false"'), data
    )


class _ChunkReader:
    """A file-like view of a streamed response body, for pyoxigraph's streaming parsers.

    :param fix: rewrites the body; it is given whole lines only (and the unfinished last one
        at the end), so that a rewritten pattern is never cut in two.
    """

    def __init__(
        self, chunks: Iterator[bytes], fix: Callable[[bytes], bytes] | None = None
    ) -> None:
        self.chunks = chunks
        self.fix = fix
        self.buffer = b""
        self.pending = b""

    def _take(self, chunk: bytes) -> None:
        if self.fix is None:
            self.buffer += chunk
            return
        self.pending += chunk
        cut = self.pending.rfind(b"\n") + 1
        if cut:
            self.buffer += self.fix(self.pending[:cut])
            self.pending = self.pending[cut:]

    def read(self, size: int = -1) -> bytes:
        while size < 0 or len(self.buffer) < size:
            chunk = next(self.chunks, None)
            if chunk is None:
                if self.pending and self.fix is not None:
                    self.buffer += self.fix(self.pending)
                    self.pending = b""
                break
            self._take(chunk)
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


def detect_engine(response: httpx.Response) -> str:
    """``"virtuoso"`` when the answer comes from OpenLink Virtuoso (its ``Server`` header),
    else ``"generic"``."""
    server = str(response.headers.get("server", ""))
    return "virtuoso" if server.lower().startswith("virtuoso") else "generic"


def virtuoso_requests(changes: ChangeSet, closing: str) -> list[str]:
    """A change set as SPARQL Update requests that Virtuoso 7.2 accepts, with ``closing`` (the
    version stamp) as the last operation of the last request.

    Drops, deletes and ``INSERT DATA`` of every triple without blank nodes make the first
    request, in GRAPH blocks of at most :data:`VIRTUOSO_BLOCK_TRIPLES`. Each graph's triples
    that hold blank nodes are split into the sets that share blank nodes (a SHACL list, an OWL
    restriction) and written as ``INSERT { GRAPH <g> { ... } } WHERE {}`` templates of about
    :data:`VIRTUOSO_TEMPLATE_TRIPLES`: SPARQL makes a template's blank nodes fresh for each
    operation, so a set is never split (Virtuoso refuses a set of more than about 1,000
    triples). One request takes templates of up to :data:`VIRTUOSO_TEMPLATE_BUDGET` triples;
    more go in further requests, so such a change set is not written at once (MEA Hub's own
    data have blank nodes only in the ontology and shapes: fewer than 100 triples). A blank
    node that two graphs share becomes one per graph.

    Terms come from pyoxigraph's N-Triples serialiser, as written in the change set, or parsed
    from it and written again by the same serialiser.
    """
    replaced = sorted(changes.replace)
    operations = [f"DROP SILENT GRAPH {ox.NamedNode(graph)}" for graph in sorted(changes.drop)]
    for start in range(0, len(replaced), 500):
        names = " ".join(str(ox.NamedNode(g)) for g in replaced[start : start + 500])
        operations.append(
            f"DELETE {{ GRAPH ?g {{ ?s ?p ?o }} }} WHERE {{ VALUES ?g {{ {names} }} "
            "GRAPH ?g { ?s ?p ?o } }"
        )
    blocks: list[str] = []
    templates: list[tuple[str, int]] = []
    for graph in replaced:
        ground, linked = _split_blank_nodes(changes.triples(graph))
        name = ox.NamedNode(graph)
        for start in range(0, len(ground), VIRTUOSO_BLOCK_TRIPLES):
            lines = " .\n".join(ground[start : start + VIRTUOSO_BLOCK_TRIPLES])
            blocks.append(f"GRAPH {name} {{\n{lines} .\n}}")
        for group in _packed(linked, VIRTUOSO_TEMPLATE_TRIPLES):
            text = " .\n".join(group)
            templates.append((f"INSERT {{ GRAPH {name} {{\n{text} .\n}} }} WHERE {{}}", len(group)))
    operations.extend(_insert_data(blocks))
    requests: list[list[str]] = [operations]
    budget = VIRTUOSO_TEMPLATE_BUDGET
    for template, size in templates:
        if size > budget and requests[-1]:
            requests.append([])
            budget = VIRTUOSO_TEMPLATE_BUDGET
        requests[-1].append(template)
        budget -= size
    requests[-1].append(closing)
    return [" ;\n".join(ops) for ops in requests]


def _split_blank_nodes(triples: str) -> tuple[list[str], list[list[str]]]:
    """One graph's N-Triples lines (no final dots): the lines without blank nodes, and the
    lines with blank nodes grouped by the blank nodes they share (connected sets)."""
    lines = triples.split("\n") if triples else []
    if "_:" not in triples:  # a literal may hold "_:" too: then the graph is parsed below
        return lines, []
    ground: list[str] = []
    parent: dict[str, str] = {}

    def root(label: str) -> str:
        while parent.setdefault(label, label) != label:
            parent[label] = parent[parent[label]]
            label = parent[label]
        return label

    linked: list[tuple[str, str]] = []
    text = "".join(f"{line} .\n" for line in lines).encode("utf-8")
    for triple in ox.parse(text, format=ox.RdfFormat.N_TRIPLES):
        labels = [t.value for t in (triple.subject, triple.object) if isinstance(t, ox.BlankNode)]
        line = f"{triple.subject} {triple.predicate} {triple.object}"
        if not labels:
            ground.append(line)
            continue
        for label in labels[1:]:
            parent[root(label)] = root(labels[0])
        linked.append((labels[0], line))
    groups: dict[str, list[str]] = {}
    for label, line in linked:
        groups.setdefault(root(label), []).append(line)
    return ground, list(groups.values())


def _packed(groups: list[list[str]], size: int) -> Iterator[list[str]]:
    """Groups of lines packed together up to ``size`` lines (a larger group goes alone)."""
    pack: list[str] = []
    for group in groups:
        if pack and len(pack) + len(group) > size:
            yield pack
            pack = []
        pack.extend(group)
    if pack:
        yield pack


def _insert_data(blocks: list[str]) -> Iterator[str]:
    """GRAPH blocks as INSERT DATA operations of about :data:`_INSERT_DATA_BYTES` each."""
    chunk: list[str] = []
    size = 0
    for block in blocks:
        chunk.append(block)
        size += len(block)
        if size >= _INSERT_DATA_BYTES:
            yield "INSERT DATA {\n" + "\n".join(chunk) + "\n}"
            chunk, size = [], 0
    if chunk:
        yield "INSERT DATA {\n" + "\n".join(chunk) + "\n}"


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
        #: "virtuoso" or "generic"; with ``engine = "auto"``, set by the first answer
        self.engine: str | None = None if settings.engine == "auto" else settings.engine
        self.store_id = self._claim_id()

    # -- the wire ------------------------------------------------------------------------------

    def _post(self, url: str, data: dict[str, Any], action: str, **options: Any) -> httpx.Response:
        timeout = options.pop("timeout", None) or self.settings.timeout
        with _http_errors(action, timeout):
            response = self.client.post(url, data=data, timeout=timeout, **options)
        if self.engine is None:
            self.engine = detect_engine(response)
            log.info("remote store engine: %s", self.engine)
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
            fmt = ox.QueryResultsFormat.from_media_type(_media_type(response)) or _JSON_FORMAT
            body = response.content
            if self.engine == "virtuoso" and fmt == _JSON_FORMAT:
                body = _virtuoso_json(body)
            answer = ox.parse_query_results(body, format=fmt)
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
            fix = _virtuoso_json if self.engine == "virtuoso" else None
            reader = _ChunkReader(response.iter_bytes(), fix)
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

        On Virtuoso the request is written in the form it accepts (:func:`virtuoso_requests`;
        one request too, unless the change set holds more than
        :data:`VIRTUOSO_TEMPLATE_BUDGET` triples with blank nodes).

        :raises StoreError: when the write fails; then nothing of ``changes`` is visible (on
            an engine that runs one request in one transaction).
        :raises QueryError: when the engine refuses the request (nothing is written).
        :raises LeaseHeldError: when this process held the writer lease and lost it.
        """
        if not changes:
            return
        if self._lease is not None:
            self._lease.check()
        stamp = max(time.time_ns() // 1000, self._written + 1)
        closing = _SET_VERSION % stamp
        if self.engine == "virtuoso":
            for request in virtuoso_requests(changes, closing):
                self.update(request)
        else:
            self.update(";\n".join([*_update_operations(changes), closing]))
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

    def compaction_deferred(self) -> contextlib.AbstractContextManager[None]:
        """Nothing to defer: the remote engine compacts on its own."""
        return contextlib.nullcontext()

    def pipelined(self) -> contextlib.AbstractContextManager[None]:
        """Every commit waits: a remote store's batches are written in place, in order."""
        return contextlib.nullcontext()

    @contextlib.contextmanager
    def writer_lease(self) -> Iterator[None]:
        """Hold the store's writer lease (:mod:`harvester.store.lease`) while the block runs; nested
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
