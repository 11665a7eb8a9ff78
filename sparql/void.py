"""The dataset description (VoID + DCAT) at ``/.well-known/void`` and the dumps at ``/dumps/``.

``/.well-known/void`` (Turtle, JSON-LD, N-Triples, RDF/XML or HTML by content negotiation)
describes ``{base}.well-known/void#dataset``: title, publisher and licence from ``[server]``,
its size (``void:triples``: the store's quads but the change feed's own graphs), the SPARQL
endpoint, the dumps as DCAT distributions, record counts per class, and one
``void:subset`` per harvested source with its counts and freshness: the last harvest run that
changed it (the ``prov:Activity`` graphs) and the last successful harvest (the status callable).

The description carries a weak ``ETag`` (the store's version, the dumps' manifest, the negotiated
media type and, for the page, the reader's languages) and ``Last-Modified``, with ``Vary: Accept,
Accept-Language``, and is a ``304`` on revalidation before any query runs
(:mod:`sparql.caching`). The status callable (the last successful harvest) is not read to
revalidate: a run's end is recorded right after the run's own write to the store, which changes
the validator. A description fetched between the two keeps the run's start as
``mea:lastHarvested`` until the next write.

``/dumps/latest.nq.gz`` and ``/dumps/latest.ttl`` are streamed from disk with ``ETag`` and
``Last-Modified`` (``304`` on revalidation); they are written after every harvest
(:func:`harvester.store.dumps.write_dumps`), or at the first request when missing.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pyoxigraph as ox
from starlette.requests import Request
from starlette.responses import FileResponse, PlainTextResponse, Response
from starlette.routing import Route

from harvester.feed import FeedTerms, feed_quads
from harvester.settings import ServerSettings
from harvester.store.api import StoreBackend
from harvester.store.dumps import (
    DUMP_FILES,
    MANIFEST,
    NQUADS_DUMP,
    TRIG_DUMP,
    dumps_directory,
    read_manifest,
    write_dumps,
)
from harvester.vocab import DCAT, DCTERMS, FOAF, MEA, PREFIXES, PROV, RDF, XSD

from .caching import (
    Revalidator,
    StoreAndFileVersion,
    file_tag,
    is_not_modified,
    not_modified,
    validator_headers,
)
from .describe import Description, Statement
from .html import html_response
from .languages import preferred_languages
from .linked_data import HTML, LD_FORMATS, alternates, representation_parts
from .links import Linker
from .negotiation import negotiate
from .resource_page import PageContext, compact, render_resource

__all__ = ["VOID", "VoidBuilder", "void_routes"]

log = logging.getLogger(__name__)

VOID = "http://rdfs.org/ns/void#"
IANA = "https://www.iana.org/assignments/media-types/"
StatusCallable = Callable[[], dict[str, Any]]

_CLASS_COUNTS = "SELECT ?class (COUNT(DISTINCT ?s) AS ?n) WHERE { ?s a ?class } GROUP BY ?class"
_SOURCE_COUNTS = (
    f"SELECT ?src ?class (COUNT(DISTINCT ?s) AS ?n) WHERE {{ ?s <{MEA}harvestSource> ?src ; "
    "a ?class } GROUP BY ?src ?class"
)
_RUNS = (
    f"SELECT ?src ?run ?t ?used WHERE {{ ?run a <{MEA}HarvestRun> ; <{MEA}harvestSource> ?src ; "
    f"<{PROV}startedAtTime> ?t OPTIONAL {{ ?run <{PROV}used> ?used }} }} ORDER BY ?src DESC(?t)"
)


@dataclass
class SourceStats:
    """What the store and the status callable say about one source."""

    iri: str
    counts: dict[str, int] = field(default_factory=dict)
    last_run: str | None = None
    last_change: str | None = None
    url: str | None = None
    last_success: str | None = None


class VoidBuilder:
    """Builds the description's triples for the current store state."""

    def __init__(
        self, store: StoreBackend, settings: ServerSettings, status: StatusCallable | None = None
    ) -> None:
        self.store = store
        self.settings = settings
        self.status = status
        self.base = settings.base_iri
        self.document = self.base + ".well-known/void"
        self.dataset = ox.NamedNode(self.document + "#dataset")

    def triples(self) -> list[ox.Triple]:
        """The whole description."""
        sources = self.sources()
        return _grouped(
            self._document(),
            self._dataset(_latest_change(sources)),
            self._partitions(self.dataset, self._class_counts()),
            self._distributions(),
            self._service(),
            self._feed(),
            *(self._subset(stats) for stats in sources.values()),
        )

    # -- the store ---------------------------------------------------------------------------

    def _class_counts(self) -> dict[str, int]:
        rows = self.store.query(_CLASS_COUNTS)
        return {r["class"].value: int(r["n"].value) for r in rows}  # type: ignore[union-attr]

    def sources(self) -> dict[str, SourceStats]:
        """Per-source statistics, by source name."""
        stats: dict[str, SourceStats] = {}
        for row in self.store.query(_SOURCE_COUNTS):  # type: ignore[union-attr]
            entry = self._stats(stats, row["src"].value)
            entry.counts[row["class"].value] = int(row["n"].value)
        for row in self.store.query(_RUNS):  # type: ignore[union-attr]
            entry = self._stats(stats, row["src"].value)
            if entry.last_run is None:
                entry.last_run, entry.last_change = row["run"].value, row["t"].value
                entry.url = row["used"].value if row["used"] is not None else None
        self._add_status(stats)
        return stats

    def _stats(self, stats: dict[str, SourceStats], iri: str) -> SourceStats:
        name = unquote(iri.removeprefix(self.base + "source/"))
        return stats.setdefault(name, SourceStats(iri))

    def _add_status(self, stats: dict[str, SourceStats]) -> None:
        """The last successful harvest (changed something or not) from the status callable."""
        data = self.status() if self.status is not None else {}
        for name, run in (data.get("sources") or {}).items():
            if isinstance(run, dict) and run.get("status") == "ok" and run.get("ended"):
                entry = self._stats(stats, f"{self.base}source/{name}")
                entry.last_success = _iso(run["ended"])

    # -- triples -----------------------------------------------------------------------------

    def _document(self) -> Iterator[ox.Triple]:
        doc = ox.NamedNode(self.document)
        yield _t(doc, RDF + "type", ox.NamedNode(VOID + "DatasetDescription"))
        yield _t(
            doc,
            DCTERMS + "title",
            ox.Literal(f"Description of {self.settings.title}", language="en"),
        )
        yield _t(doc, FOAF + "primaryTopic", self.dataset)

    def _dataset(self, latest: str | None) -> Iterator[ox.Triple]:
        ds, settings = self.dataset, self.settings
        yield _t(ds, RDF + "type", ox.NamedNode(VOID + "Dataset"))
        yield _t(ds, RDF + "type", ox.NamedNode(DCAT + "Dataset"))
        yield _t(ds, DCTERMS + "title", ox.Literal(settings.title, language="en"))
        yield _t(ds, DCTERMS + "description", ox.Literal(_DESCRIPTION, language="en"))
        yield from self._publisher()
        if settings.license:
            yield _t(ds, DCTERMS + "license", ox.NamedNode(settings.license))
        yield _t(ds, VOID + "sparqlEndpoint", ox.NamedNode(self.base + "sparql"))
        yield _t(ds, VOID + "uriSpace", ox.Literal(self.base))
        yield _t(ds, VOID + "vocabulary", ox.NamedNode(MEA.rstrip("#")))
        yield _t(ds, VOID + "triples", _integer(self._triples()))
        yield _t(ds, VOID + "rootResource", ox.NamedNode(MEA.rstrip("#")))
        if latest:
            yield _t(ds, DCTERMS + "modified", _datetime(latest))

    def _triples(self) -> int:
        """The dataset's quads: the store's but the change feed's own graphs (issue 15: its
        members repeat the records' triples, as versions; the feed is served at /ldes)."""
        return len(self.store) - feed_quads(self.store, FeedTerms(self.base))

    def _publisher(self) -> Iterator[ox.Triple]:
        publisher = ox.NamedNode(self.document + "#publisher")
        yield _t(self.dataset, DCTERMS + "publisher", publisher)
        yield _t(publisher, RDF + "type", ox.NamedNode(FOAF + "Agent"))
        yield _t(publisher, FOAF + "name", ox.Literal(self.settings.publisher))

    def _partitions(self, subject: ox.NamedNode, counts: dict[str, int]) -> Iterator[ox.Triple]:
        for cls in sorted(counts):
            part = ox.NamedNode(f"{subject.value}-class-{_slug(compact(cls))}")
            yield _t(subject, VOID + "classPartition", part)
            yield _t(part, VOID + "class", ox.NamedNode(cls))
            yield _t(part, VOID + "entities", _integer(counts[cls]))

    def _distributions(self) -> Iterator[ox.Triple]:
        directory = self._dumps_dir()
        manifest = read_manifest(directory) if directory is not None else {}
        for name, media_type in DUMP_FILES.items():
            url = ox.NamedNode(f"{self.base}dumps/{name}")
            dist = ox.NamedNode(f"{self.document}#dump-{_slug(name)}")
            yield _t(self.dataset, VOID + "dataDump", url)
            yield _t(self.dataset, DCAT + "distribution", dist)
            yield _t(dist, RDF + "type", ox.NamedNode(DCAT + "Distribution"))
            yield _t(dist, DCAT + "downloadURL", url)
            yield _t(dist, DCAT + "mediaType", ox.NamedNode(IANA + media_type))
            yield _t(dist, DCAT + "compressFormat", ox.NamedNode(IANA + "application/gzip"))
            if manifest.get("written"):
                yield _t(dist, DCTERMS + "modified", _datetime(manifest["written"]))
            if manifest.get("generation"):
                yield _t(dist, MEA + "storeGeneration", ox.Literal(manifest["generation"]))
            yield from _feed_position(dist, manifest)  # issue 15

    def _service(self) -> Iterator[ox.Triple]:
        service = ox.NamedNode(self.document + "#sparql")
        yield _t(self.dataset, DCAT + "distribution", service)
        yield _t(service, RDF + "type", ox.NamedNode(DCAT + "Distribution"))
        yield _t(service, DCAT + "accessURL", ox.NamedNode(self.base + "sparql"))
        yield _t(service, DCTERMS + "title", ox.Literal("SPARQL 1.1 endpoint", language="en"))

    def _feed(self) -> Iterator[ox.Triple]:
        """The change feed (issue 15, sparql/feed.py) as a ``dcat:DataService``."""
        service = ox.NamedNode(self.document + "#ldes")
        stream = ox.NamedNode(self.base + "ldes")
        yield _t(service, RDF + "type", ox.NamedNode(DCAT + "DataService"))
        yield _t(service, DCAT + "endpointURL", stream)
        yield _t(service, DCAT + "servesDataset", self.dataset)
        yield _t(service, DCTERMS + "conformsTo", ox.NamedNode(LDES_SPEC))
        yield _t(
            service,
            DCTERMS + "title",
            ox.Literal("Change feed (Linked Data Event Stream)", language="en"),
        )

    def _subset(self, stats: SourceStats) -> Iterator[ox.Triple]:
        name = stats.iri.removeprefix(self.base + "source/")
        subset = ox.NamedNode(f"{self.document}#source-{_slug(name)}")
        yield _t(self.dataset, VOID + "subset", subset)
        yield _t(subset, RDF + "type", ox.NamedNode(VOID + "Dataset"))
        yield _t(subset, DCTERMS + "title", ox.Literal(f"Records harvested from {unquote(name)}"))
        yield _t(subset, DCTERMS + "source", ox.NamedNode(stats.iri))
        yield _t(subset, VOID + "entities", _integer(sum(stats.counts.values())))
        yield from self._freshness(subset, stats)
        yield from self._partitions(subset, stats.counts)

    def _freshness(self, subset: ox.NamedNode, stats: SourceStats) -> Iterator[ox.Triple]:
        if stats.url:
            yield _t(subset, PROV + "wasDerivedFrom", ox.NamedNode(stats.url))
        if stats.last_run and stats.last_change:
            yield _t(subset, PROV + "wasGeneratedBy", ox.NamedNode(stats.last_run))
            yield _t(subset, DCTERMS + "modified", _datetime(stats.last_change))
        success = max(filter(None, (stats.last_change, stats.last_success)), default=None)
        if success:
            yield _t(subset, MEA + "lastHarvested", _datetime(success))

    def _dumps_dir(self) -> Path | None:
        return dumps_directory(self.settings, self.store)

    def description(self) -> Description:
        """The triples as a :class:`Description` of the dataset, for the HTML page."""
        found = Description(self.dataset.value)
        for triple in self.triples():
            subject, obj = triple.subject, triple.object
            assert isinstance(subject, ox.NamedNode) and not isinstance(obj, ox.Triple)
            statement = Statement(subject, triple.predicate, obj)
            (found.outgoing if subject == self.dataset else found.owned).append(statement)
            if triple.predicate.value == DCTERMS + "title" and isinstance(obj, ox.Literal):
                found.labels.setdefault(subject.value, []).append(obj)
        return found


_DESCRIPTION = (
    "Decisions, meetings, national reports and plans, focal points and sites of multilateral "
    "environmental agreements, harvested from InforMEA-style sources and linked to the Aichi "
    "and Kunming-Montreal GBF targets."
)


def _feed_position(dist: ox.NamedNode, manifest: dict[str, Any]) -> Iterator[ox.Triple]:
    """Where in the change feed the dump stands (``harvester.store.dumps.feed_position``):
    the page to follow from, the last member it reflects, and that member's time."""
    if manifest.get("feed_page"):
        yield _t(dist, MEA + "feedPosition", ox.NamedNode(manifest["feed_page"]))
        yield _t(dist, MEA + "feedMembers", _integer(int(manifest["feed_members"])))
    if manifest.get("feed_time"):
        yield _t(dist, MEA + "feedTime", _datetime(manifest["feed_time"]))


#: what the change feed conforms to (SEMIC's Linked Data Event Streams)
LDES_SPEC = "https://w3id.org/ldes/specification"


def _grouped(*parts: Iterable[ox.Triple]) -> list[ox.Triple]:
    """The triples with each subject's together (in order of first appearance), so Turtle
    writes every subject once."""
    triples = [t for part in parts for t in part]
    first: dict[Any, int] = {}
    for index, triple in enumerate(triples):
        first.setdefault(triple.subject, index)
    return sorted(triples, key=lambda t: first[t.subject])


def _latest_change(sources: dict[str, SourceStats]) -> str | None:
    times = [s.last_change for s in sources.values() if s.last_change]
    return max(times) if times else None


def _t(subject: ox.NamedNode, predicate: str, obj: ox.NamedNode | ox.Literal) -> ox.Triple:
    return ox.Triple(subject, ox.NamedNode(predicate), obj)


def _integer(value: int) -> ox.Literal:
    return ox.Literal(str(value), datatype=ox.NamedNode(XSD + "integer"))


def _datetime(value: str) -> ox.Literal:
    return ox.Literal(value, datatype=ox.NamedNode(XSD + "dateTime"))


def _iso(value: Any) -> str:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
    return str(value)


def _slug(value: str) -> str:
    tail = value.rstrip("/#").rsplit("/", 1)[-1].rsplit("#", 1)[-1]
    return "".join(c if c.isalnum() or c in "_." else "-" for c in tail)


# -- routes --------------------------------------------------------------------------------------


def void_routes(
    store: StoreBackend, settings: ServerSettings, status: StatusCallable | None = None
) -> list[Route]:
    """``/.well-known/void`` and ``/dumps/{name}``."""
    dumps = _Dumps(store, settings)
    description = _Description(VoidBuilder(store, settings, status), dumps.directory)
    return [
        Route("/.well-known/void", description.serve, methods=["GET"], name="void"),
        Route("/dumps/{name}", dumps.serve, methods=["GET"], name="dumps"),
    ]


_VARY = {"Vary": "Accept, Accept-Language"}


class _Description:
    """Serves the description, revalidated against the store and the dumps' manifest (whose
    date the description shows)."""

    def __init__(self, builder: VoidBuilder, dumps: Path | None) -> None:
        self.builder = builder
        manifest = dumps / MANIFEST if dumps is not None else None
        self.cache = Revalidator(StoreAndFileVersion(builder.store, manifest))

    def serve(self, request: Request) -> Response:
        choice = negotiate(
            LD_FORMATS, request.headers.get("accept"), request.query_params.getlist("format")
        )
        if choice is None:
            return PlainTextResponse("not acceptable\n", status_code=406, headers=_VARY)
        is_page = choice.format is HTML
        languages = preferred_languages(request.headers.get("accept-language")) if is_page else []
        parts = ["void", *representation_parts(request, choice, languages)]
        check = self.cache.check(request.headers, parts, _VARY, exists=True)
        if check.not_modified:
            return not_modified(check.headers)
        if is_page:
            ctx = PageContext(Linker(self.builder.base), languages, alternates(request))
            page = render_resource(self.builder.description(), ctx)
            return self.cache.finish(check, html_response(page, headers=_VARY))
        syntax = choice.format.syntax
        assert isinstance(syntax, ox.RdfFormat)
        prefixes = {**PREFIXES, "void": VOID}
        body = ox.serialize(self.builder.triples(), format=syntax, prefixes=prefixes)
        response = Response(body, media_type=choice.media_type, headers=_VARY)
        return self.cache.finish(check, response)


class _Dumps:
    """Serves the dump files; writes them first when they are missing."""

    def __init__(self, store: StoreBackend, settings: ServerSettings) -> None:
        self.store = store
        self.directory = dumps_directory(settings, store)
        self.lock = threading.Lock()

    def serve(self, request: Request) -> Response:
        name = request.path_params["name"]
        if name == RETIRED_TURTLE_DUMP and self.directory is not None:
            return PlainTextResponse(_RETIRED, status_code=410)
        if name not in DUMP_FILES or self.directory is None:
            return PlainTextResponse("no such dump\n", status_code=404)
        path = self.directory / name
        if not path.is_file():
            with self.lock:
                write_dumps(self.store, self.directory)
        stat = path.stat()
        etag, modified = file_tag(stat), float(int(stat.st_mtime))
        headers = validator_headers(etag, modified)
        manifest = read_manifest(self.directory)
        generation = manifest.get("generation")
        if generation:
            headers["MEA-Store-Generation"] = str(generation)
        if manifest.get("feed_page"):  # issue 15: where to follow the change feed from
            headers["Link"] = f'<{manifest["feed_page"]}>; rel="{MEA}feedPosition"'
        if is_not_modified(request.headers, etag, modified):
            return not_modified(headers)
        return FileResponse(path, media_type="application/gzip", headers=headers, stat_result=stat)


#: the Turtle dump of earlier versions (the union graph: it lost every graph name)
RETIRED_TURTLE_DUMP = "latest.ttl"
_RETIRED = (
    f"{RETIRED_TURTLE_DUMP} is no longer written: Turtle loses the graph names. "
    f"Download {TRIG_DUMP} (TriG, gzip) or {NQUADS_DUMP} (N-Quads, gzip) instead.\n"
)
