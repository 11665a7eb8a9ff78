"""Source kind ``ldes``: another hub's change feed (``/ldes``), or any Linked Data Event Stream
whose members are versions of records (issue 15, docs/feed.md).

This adapter reads pages: :meth:`LdesSource.start` finds the first page from the stream (its
``tree:view``), :meth:`LdesSource.page` fetches one page and reads its members (each the version
of one record: ``ldes:versionOfPath``, ``ldes:timestampPath``, an Activity Streams kind) and the
``tree:relation``s to the next pages. Applying them to the store is
:mod:`harvester.feed.follow`'s work.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import pyoxigraph as ox

from ..exceptions import SourceError, SourceFormatError
from ..http import Fetcher
from ..settings import SourceConfig
from .informea_odata import Listing, RawRecord, RowCheck

__all__ = ["LdesMember", "LdesPage", "LdesSource"]

LDES = "https://w3id.org/ldes#"
TREE = "https://w3id.org/tree#"
AS = "https://www.w3.org/ns/activitystreams#"
RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
DEFAULT_VERSION_OF = "http://purl.org/dc/terms/isVersionOf"
DEFAULT_TIMESTAMP = "http://www.w3.org/ns/prov#generatedAtTime"
ACCEPT = (
    "text/turtle, application/n-triples;q=0.9, application/ld+json;q=0.8, application/n-quads;q=0.5"
)
_FORMATS = {
    "text/turtle": ox.RdfFormat.TURTLE,
    "application/n-triples": ox.RdfFormat.N_TRIPLES,
    "application/ld+json": ox.RdfFormat.JSON_LD,
    "application/n-quads": ox.RdfFormat.N_QUADS,
    "application/trig": ox.RdfFormat.TRIG,
}


@dataclass(frozen=True)
class LdesMember:
    """One member: its IRI, the record it is a version of, its time, its kind (``Create``,
    ``Update``, ``Delete``), and its triples as published (the member as subject)."""

    iri: str
    version_of: str | None
    time: datetime | None
    kind: str
    triples: tuple[ox.Triple, ...]
    problem: str | None = None


@dataclass(frozen=True)
class LdesPage:
    """One page: its URL, its members in time order, and the pages its relations lead to."""

    url: str
    members: tuple[LdesMember, ...]
    next: tuple[str, ...]


@dataclass(frozen=True)
class _Paths:
    version_of: str = DEFAULT_VERSION_OF
    timestamp: str = DEFAULT_TIMESTAMP


class LdesSource:
    """Reads an LDES through the source's polite fetcher (timeouts, retries, rate limit)."""

    def __init__(self, config: SourceConfig, fetcher: Fetcher) -> None:
        self.config = config
        self.fetcher = fetcher
        fetcher.client.headers["Accept"] = ACCEPT
        self.paths = _Paths()

    # -- the stream --------------------------------------------------------------------------

    def start(self) -> str:
        """The first page: the stream's ``tree:view`` (followed to its first relation when the
        view holds no member itself), or the URL itself when it is a page.

        :raises SourceError: when the URL is not a readable stream or page.
        """
        url = self.config.url
        graph = self._fetch(url)
        streams = [
            t.subject
            for t in graph
            if t.predicate.value == RDF_TYPE and t.object == ox.NamedNode(LDES + "EventStream")
        ]
        if streams:
            self.paths = _paths(graph, streams[0])
            views = _objects(graph, streams[0], TREE + "view")
            if views:
                url = views[0]
                if url != self.config.url:
                    graph = self._fetch(url)
        if _objects_of(graph, TREE + "member"):
            return url
        nexts = _relations(graph, url)
        return nexts[0] if nexts else url

    def page(self, url: str) -> LdesPage:
        """One page read.

        :raises SourceHTTPError: when it cannot be fetched (a 404, a 410 past retention...).
        :raises SourceFormatError: when it is not RDF.
        """
        graph = self._fetch(url)
        iris = _objects_of(graph, TREE + "member")
        others: set[object] = {ox.NamedNode(m) for m in iris} | {ox.NamedNode(url)}
        others |= {t.subject for t in graph if t.predicate.value == TREE + "member"}
        others |= {t.subject for t in graph if t.predicate.value == TREE + "relation"}
        others |= {t.object for t in graph if t.predicate.value == TREE + "relation"}
        index = _Index(graph)
        members = [self._member(index, m, others) for m in iris]
        members.sort(key=_order)
        return LdesPage(url, tuple(members), tuple(_relations(graph, url)))

    # -- reading -----------------------------------------------------------------------------

    def _fetch(self, url: str) -> list[ox.Triple]:
        response = self.fetcher.get(url)
        media = response.headers.get("Content-Type", "").split(";")[0].strip().lower()
        syntax = _FORMATS.get(media)
        if syntax is None:
            raise SourceFormatError(
                f"{self.config.name}: {url} is not RDF ({media or 'no content type'})",
                source=self.config.name,
                url=url,
            )
        try:
            parsed = ox.parse(response.content, format=syntax, base_iri=url)
            return [q.triple if isinstance(q, ox.Quad) else q for q in parsed]
        except (SyntaxError, ValueError) as exc:
            raise SourceFormatError(
                f"{self.config.name}: {url} is malformed {media}: {exc}",
                source=self.config.name,
                url=url,
            ) from exc

    def _member(self, index: _Index, iri: str, others: set[object]) -> LdesMember:
        node = ox.NamedNode(iri)
        own = tuple(index.by_subject.get(node, ()))
        types = {str(t.object)[1:-1] for t in own if t.predicate.value == RDF_TYPE}
        kind = next((k for k in ("Delete", "Update", "Create") if AS + k in types), "Update")
        version = [t.object for t in own if t.predicate.value == self.paths.version_of]
        times = [t.object for t in own if t.predicate.value == self.paths.timestamp]
        problem = None
        version_of = (
            version[0].value if len(version) == 1 and isinstance(version[0], ox.NamedNode) else None
        )
        time = _datetime(times[0]) if len(times) == 1 else None
        if version_of is None:
            problem = f"member {iri}: no single IRI on {self.paths.version_of}"
        elif time is None:
            problem = f"member {iri}: no single xsd:dateTime on {self.paths.timestamp}"
        elif kind != "Delete" and not types - {AS + k for k in ("Create", "Update")}:
            problem = f"member {iri}: no rdf:type of the record it is a version of"
        triples = _closure(index, node, version_of, others)
        return LdesMember(iri, version_of, time, kind, triples, problem)

    # -- the Source protocol: an LDES is followed, not listed --------------------------------

    def records(
        self,
        entity: str,
        listing: Listing,
        *,
        navigations: Sequence[str] = (),
        since: datetime | None = None,
        unchanged: RowCheck | None = None,
    ) -> Iterator[RawRecord]:
        raise SourceError(
            f"{self.config.name}: an ldes source is followed (harvester.feed.follow), not listed",
            source=self.config.name,
        )

    def exists(self, entity: str, record_id: str) -> bool | None:
        return None


def _paths(graph: list[ox.Triple], stream: ox.NamedNode | ox.BlankNode | ox.Triple) -> _Paths:
    version = _objects(graph, stream, LDES + "versionOfPath")
    stamp = _objects(graph, stream, LDES + "timestampPath")
    return _Paths(
        version[0] if version else DEFAULT_VERSION_OF, stamp[0] if stamp else DEFAULT_TIMESTAMP
    )


def _objects(graph: list[ox.Triple], subject: object, predicate: str) -> list[str]:
    return [
        t.object.value
        for t in graph
        if t.subject == subject
        and t.predicate.value == predicate
        and isinstance(t.object, ox.NamedNode)
    ]


def _objects_of(graph: list[ox.Triple], predicate: str) -> list[str]:
    found = dict.fromkeys(
        t.object.value
        for t in graph
        if t.predicate.value == predicate and isinstance(t.object, ox.NamedNode)
    )
    return list(found)


def _relations(graph: list[ox.Triple], url: str) -> list[str]:
    """The nodes the page's own relations lead to (``<url> tree:relation [ tree:node ... ]``)."""
    page = ox.NamedNode(url)
    relations = [
        t.object for t in graph if t.subject == page and t.predicate.value == TREE + "relation"
    ]
    return list(
        dict.fromkeys(
            t.object.value
            for t in graph
            if t.subject in relations
            and t.predicate.value == TREE + "node"
            and isinstance(t.object, ox.NamedNode)
        )
    )


class _Index:
    """A page's triples by subject and by object (read once per page, not once per member)."""

    def __init__(self, graph: list[ox.Triple]) -> None:
        self.by_subject: dict[object, list[ox.Triple]] = {}
        self.by_object: dict[object, list[ox.Triple]] = {}
        for triple in graph:
            self.by_subject.setdefault(triple.subject, []).append(triple)
            self.by_object.setdefault(triple.object, []).append(triple)


def _closure(
    index: _Index, node: ox.NamedNode, record: str | None, others: set[object]
) -> tuple[ox.Triple, ...]:
    """The member's triples, and those of the nodes it owns: the IRIs and blank nodes it (or
    they) point to, and those pointing at the member or its record, that the page describes,
    never another member, the page or the stream (``others``)."""
    by_subject, by_object = index.by_subject, index.by_object
    anchors: set[object] = {node} | ({ox.NamedNode(record)} if record else set())
    found: list[ox.Triple] = []
    todo: list[object] = list(anchors)
    seen: set[object] = set()
    for anchor in anchors:  # the nodes that point at the member or its record (paragraphs)
        todo.extend(t.subject for t in by_object.get(anchor, ()) if t.subject not in others)
    while todo:
        subject = todo.pop()
        if subject in seen or (subject in others and subject != node):
            continue
        seen.add(subject)
        for triple in by_subject.get(subject, ()):
            found.append(triple)
            if triple.object in by_subject and triple.object not in others:
                todo.append(triple.object)
    return tuple(found)


def _datetime(term: object) -> datetime | None:
    if not isinstance(term, ox.Literal) or not term.datatype.value.endswith("#dateTime"):
        return None
    try:
        found = datetime.fromisoformat(term.value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return found if found.tzinfo is not None else found.replace(tzinfo=UTC)


def _order(member: LdesMember) -> tuple[datetime, int, str]:
    """Time order; within one time, by the member number at the IRI's end (our members), then
    by IRI."""
    tail = member.iri.rsplit("/", 1)[-1]
    number = int(tail) if tail.isdigit() else 0
    return (member.time or datetime.min.replace(tzinfo=UTC), number, member.iri)
