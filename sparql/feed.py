"""The change feed over HTTP (issue 15, docs/feed.md): a Linked Data Event Stream.

- ``GET /ldes``: the ``ldes:EventStream`` (its timestamp and version-of paths, its retention
  policy, its shape inline) with one ``tree:view``, ``/ldes/view``;
- ``GET /ldes/view``: the root node, mutable, with one relation to the first page kept, from
  which the chain of pages leads to the newest;
- ``GET /ldes/page/<n>``: the members ``(n - 1) * size + 1`` to ``n * size`` ordered by
  time, with a ``tree:GreaterThanOrEqualToRelation`` on the timestamp path to page ``n + 1``
  (every page but the newest: full, final, ``immutable``);
- ``GET /ldes/shape``: the members' SHACL shape.

Every IRI comes from ``[server] base_iri``, never from the request. Turtle (the default),
N-Triples and JSON-LD (with an inline ``@context``) by ``Accept``. A page dropped by the
retention policy answers ``410 Gone``, pointing at the dumps: restart from one.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from collections.abc import Iterable
from datetime import datetime

import pyoxigraph as ox
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

from harvester.feed import FeedPage, FeedReader, FeedTerms, Member
from harvester.feed.recorder import FeedState
from harvester.feed.terms import AS, LDES, TREE
from harvester.settings import ServerSettings
from harvester.store.api import StoreBackend
from harvester.vocab import DCTERMS, MEA, PREFIXES, PROV, RDF, SH, XSD

from .negotiation import JSON_LD, N_TRIPLES, TURTLE, Choice, Format, negotiate

__all__ = ["FEED_FORMATS", "FeedRoutes", "feed_routes"]

FEED_FORMATS: tuple[Format, ...] = (TURTLE, N_TRIPLES, JSON_LD)
#: a full page never changes: a week, and never revalidated
IMMUTABLE = "public, max-age=604800, immutable"
#: the stream, the view and the newest page change with each commit
MUTABLE = "public, max-age=60, must-revalidate"
#: final pages whose serialised bodies are kept in memory (a few MB)
_FINAL_PAGES_KEPT = 64
TIMESTAMP_PATH = PROV + "generatedAtTime"
VERSION_OF_PATH = DCTERMS + "isVersionOf"
_PREFIXES = {
    **PREFIXES,
    "ldes": LDES,
    "tree": TREE,
    "as": AS,
}


def feed_routes(store: StoreBackend, settings: ServerSettings) -> list[BaseRoute]:
    return FeedRoutes(store, settings).routes()


class FeedRoutes:
    """The feed's routes over ``store``."""

    def __init__(self, store: StoreBackend, settings: ServerSettings) -> None:
        self.store = store
        self.terms = FeedTerms(settings.base_iri)
        self.reader = FeedReader(store, self.terms)
        #: the bodies of final pages (never change): (store id, page, format) -> body
        self._final: OrderedDict[tuple[str, int, str], bytes] = OrderedDict()

    def routes(self) -> list[BaseRoute]:
        return [
            Route("/ldes", self.stream, methods=["GET", "HEAD"], name="ldes"),
            Route("/ldes/view", self.view, methods=["GET", "HEAD"], name="ldes-view"),
            Route("/ldes/shape", self.shape, methods=["GET", "HEAD"], name="ldes-shape"),
            Route("/ldes/page/{number:int}", self.page, methods=["GET", "HEAD"], name="ldes-page"),
        ]

    # -- the documents -----------------------------------------------------------------------

    def stream(self, request: Request) -> Response:
        state = self.reader.state()
        triples = [*self._stream_triples(state), *self._shape_triples()]
        return self._answer(request, triples, f"stream-{state.count}-{state.first_kept}", False)

    def view(self, request: Request) -> Response:
        state = self.reader.state()
        view = _iri(self.terms.base_iri + "ldes/view")
        first = self.reader.first_page(state)
        triples = [
            ox.Triple(_iri(self.terms.stream), _iri(TREE + "view"), view),
            ox.Triple(view, _iri(RDF + "type"), _iri(TREE + "Node")),
            *self._relation(view, self.terms.page(first), None),
        ]
        return self._answer(request, triples, f"view-{first}", False)

    def shape(self, request: Request) -> Response:
        return self._answer(request, list(self._shape_triples()), "shape", True)

    def page(self, request: Request) -> Response:
        number = int(request.path_params["number"])
        state = self.reader.state()
        if number < self.reader.first_page(state) and number >= 1:
            return _gone(self.terms)
        choice = negotiate(FEED_FORMATS, request.headers.get("accept"))
        key = (self.store.store_id, number, choice.format.name if choice else "")
        cached = self._final.get(key)
        if cached is not None:  # a final page (the same once the retention drops it: above)
            self._final.move_to_end(key)
            return self._answer(request, [], f"page-{number}", True, body=cached)
        found = self.reader.page(number, state)
        if found is None:
            return PlainTextResponse(f"no page {number} in this feed\n", status_code=404)
        tag = f"page-{number}" if found.final else f"page-{number}-{state.count}"
        response = self._answer(request, list(self._page_triples(found)), tag, found.final)
        if found.final and choice is not None and response.status_code == 200:
            self._final[key] = bytes(response.body)
            while len(self._final) > _FINAL_PAGES_KEPT:
                self._final.popitem(last=False)
        return response

    # -- triples -----------------------------------------------------------------------------

    def _stream_triples(self, state: FeedState) -> Iterable[ox.Triple]:
        stream = _iri(self.terms.stream)
        yield ox.Triple(stream, _iri(RDF + "type"), _iri(LDES + "EventStream"))
        yield ox.Triple(stream, _iri(LDES + "timestampPath"), _iri(TIMESTAMP_PATH))
        yield ox.Triple(stream, _iri(LDES + "versionOfPath"), _iri(VERSION_OF_PATH))
        yield ox.Triple(stream, _iri(TREE + "shape"), _iri(self.terms.shape))
        yield ox.Triple(stream, _iri(TREE + "view"), _iri(self.terms.base_iri + "ldes/view"))
        yield ox.Triple(stream, _iri(DCTERMS + "title"), ox.Literal("MEA Hub change feed"))
        yield from self._retention(stream, state)

    def _retention(self, stream: ox.NamedNode, state: FeedState) -> Iterable[ox.Triple]:
        """``ldes:retentionPolicy``: a ``ldes:DurationAgoPolicy`` for ``"365d"``; a member
        count as ``mea:LatestMembersPolicy`` with ``ldes:amount``."""
        value = state.retention
        if value == "none":
            return
        policy = ox.BlankNode("retention")
        yield ox.Triple(stream, _iri(LDES + "retentionPolicy"), policy)
        if value.endswith("d"):
            days = float(value[:-1])
            duration = f"P{int(days)}D" if days.is_integer() else f"PT{round(days * 86400)}S"
            yield ox.Triple(policy, _iri(RDF + "type"), _iri(LDES + "DurationAgoPolicy"))
            yield ox.Triple(policy, _iri(TREE + "value"), _typed(duration, XSD + "duration"))
        else:
            yield ox.Triple(policy, _iri(RDF + "type"), _iri(MEA + "LatestMembersPolicy"))
            yield ox.Triple(policy, _iri(LDES + "amount"), _typed(value, XSD + "integer"))

    def _shape_triples(self) -> Iterable[ox.Triple]:
        """Every member is a version of one record, at one time, of one kind of change."""
        shape = _iri(self.terms.shape)
        yield ox.Triple(shape, _iri(RDF + "type"), _iri(SH + "NodeShape"))
        for index, (path, extra) in enumerate(
            [
                (VERSION_OF_PATH, (SH + "nodeKind", SH + "IRI")),
                (TIMESTAMP_PATH, (SH + "datatype", XSD + "dateTime")),
                (RDF + "type", (SH + "nodeKind", SH + "IRI")),
            ]
        ):
            node = ox.BlankNode(f"p{index}")
            yield ox.Triple(shape, _iri(SH + "property"), node)
            yield ox.Triple(node, _iri(SH + "path"), _iri(path))
            yield ox.Triple(node, _iri(SH + "minCount"), _typed("1", XSD + "integer"))
            yield ox.Triple(node, _iri(extra[0]), _iri(extra[1]))
            if path != RDF + "type":
                yield ox.Triple(node, _iri(SH + "maxCount"), _typed("1", XSD + "integer"))

    def _page_triples(self, page: FeedPage) -> Iterable[ox.Triple]:
        node = _iri(self.terms.page(page.number))
        stream = _iri(self.terms.stream)
        yield ox.Triple(node, _iri(RDF + "type"), _iri(TREE + "Node"))
        yield ox.Triple(stream, _iri(TREE + "view"), _iri(self.terms.base_iri + "ldes/view"))
        yield ox.Triple(stream, _iri(RDF + "type"), _iri(LDES + "EventStream"))
        if page.final:
            yield from self._relation(node, self.terms.page(page.number + 1), page.next_value)
        for member in page.members:
            yield ox.Triple(stream, _iri(TREE + "member"), _iri(self.terms.member(member.number)))
            yield from member_triples(self.terms, member)

    def _relation(
        self, node: ox.NamedNode, target: str, value: datetime | None
    ) -> Iterable[ox.Triple]:
        relation = ox.BlankNode(f"r{abs(hash(target))}")
        yield ox.Triple(node, _iri(TREE + "relation"), relation)
        yield ox.Triple(relation, _iri(RDF + "type"), _iri(TREE + "GreaterThanOrEqualToRelation"))
        yield ox.Triple(relation, _iri(TREE + "node"), _iri(target))
        yield ox.Triple(relation, _iri(TREE + "path"), _iri(TIMESTAMP_PATH))
        stamp = value.isoformat() if value is not None else "1970-01-01T00:00:00+00:00"
        yield ox.Triple(relation, _iri(TREE + "value"), _typed(stamp, XSD + "dateTime"))

    # -- the answer --------------------------------------------------------------------------

    def _answer(
        self,
        request: Request,
        triples: list[ox.Triple],
        tag: str,
        final: bool,
        *,
        body: bytes | None = None,
    ) -> Response:
        choice = negotiate(FEED_FORMATS, request.headers.get("accept"))
        if choice is None:
            return PlainTextResponse(
                "not acceptable: text/turtle, application/n-triples or application/ld+json\n",
                status_code=406,
                headers={"Vary": "Accept"},
            )
        etag = f'"{self.store.store_id}-{tag}-{choice.format.name}"'
        headers = {
            "ETag": etag,
            "Vary": "Accept",
            "Cache-Control": IMMUTABLE if final else MUTABLE,
            "Link": f'<{self.terms.stream}>; rel="collection"',
        }
        if etag in _tags(request.headers.get("if-none-match")):
            return Response(status_code=304, headers=headers)
        if body is None:
            body = serialise(triples, choice)
        return Response(body, media_type=choice.media_type, headers=headers)


def member_triples(terms: FeedTerms, member: Member) -> Iterable[ox.Triple]:
    """A member as served: a version object of its record (the record's triples with the
    member where the record was the subject), its kind as an Activity Streams type, its time
    and what it is a version of. A deletion is a tombstone: ``as:Delete``, nothing more."""
    node = _iri(terms.member(member.number))
    record = _iri(member.record)
    yield ox.Triple(node, _iri(RDF + "type"), _iri(AS + member.kind))
    yield ox.Triple(node, _iri(VERSION_OF_PATH), record)
    yield ox.Triple(node, _iri(TIMESTAMP_PATH), _typed(member.time.isoformat(), XSD + "dateTime"))
    for triple in member.payload:
        subject = node if triple.subject == record else triple.subject
        yield ox.Triple(subject, triple.predicate, triple.object)


def serialise(triples: list[ox.Triple], choice: Choice) -> bytes:
    if choice.format is JSON_LD:
        expanded = json.loads(ox.serialize(triples, format=ox.RdfFormat.JSON_LD) or b"[]")
        context = dict(sorted(_PREFIXES.items()))
        return json.dumps({"@context": context, "@graph": expanded}).encode("utf-8")
    syntax = choice.format.syntax
    assert isinstance(syntax, ox.RdfFormat)
    prefixes = _PREFIXES if choice.format is TURTLE else None
    return ox.serialize(triples, format=syntax, prefixes=prefixes) or b""


def _gone(terms: FeedTerms) -> Response:
    return PlainTextResponse(
        "this page is past the feed's retention policy: restart from a dump "
        f"({terms.base_iri}dumps/) and follow the feed from the position it states\n",
        status_code=410,
        headers={"Link": f'<{terms.base_iri}dumps/latest.json>; rel="alternate"'},
    )


def _tags(header: str | None) -> set[str]:
    if not header:
        return set()
    return {part.strip().removeprefix("W/") for part in header.split(",")}


def _iri(value: str) -> ox.NamedNode:
    return ox.NamedNode(value)


def _typed(value: str, datatype: str) -> ox.Literal:
    return ox.Literal(value, datatype=ox.NamedNode(datatype))
