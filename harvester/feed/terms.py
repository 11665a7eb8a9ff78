"""The feed's IRIs (all built from ``[server] base_iri``) and vocabularies."""

from __future__ import annotations

import base64
import zlib
from dataclasses import dataclass

import pyoxigraph as ox

from ..vocab import MEA, XSD

__all__ = [
    "AS",
    "FEED_PREDICATES",
    "LDES",
    "TREE",
    "FeedTerms",
    "decode_payload",
    "encode_payload",
    "record_of_graph",
    "value_of",
]

LDES = "https://w3id.org/ldes#"
TREE = "https://w3id.org/tree#"
AS = "https://www.w3.org/ns/activitystreams#"

#: the change kinds, as the Activity Streams types a member carries
KINDS = ("Create", "Update", "Delete")

#: predicates of the stored form of a member (kept out of the vocabularies a SPARQL query of
#: the records uses: the payload is a literal, so the record's types and titles stay the
#: record's; the served member carries them as triples)
FEED_RECORD = MEA + "feedRecord"
FEED_KIND = MEA + "feedKind"
FEED_PAYLOAD = MEA + "feedPayload"
FEED_COUNT = MEA + "feedCount"
FEED_TIME = MEA + "feedTime"
FEED_FIRST = MEA + "feedFirst"
FEED_LAST = MEA + "feedLast"
FEED_PAGE_SIZE = MEA + "feedPageSize"
FEED_FIRST_KEPT = MEA + "feedFirstKept"
FEED_RETENTION = MEA + "feedRetention"
#: the datatype of a stored payload: the record's N-Quads lines, zlib-compressed, in base64 (about
#: a tenth of the text; nothing to escape when written, and no predicate of the record's in the
#: member graph's text, for the writers and indexes that scan written text)
PAYLOAD_TYPE = XSD + "base64Binary"
#: zlib level of stored payloads: the fastest (the feed is written in the harvest's commit)
_PAYLOAD_LEVEL = 1
#: predicates of a follower's position (harvester.feed.follow)
FOLLOW_PAGE = MEA + "followPage"
FOLLOW_APPLIED = MEA + "followApplied"
FOLLOW_DONE = MEA + "followDone"
#: every predicate of the feed's own graphs (``{base}feed/...``): members, commits (with their
#: ``prov:generatedAtTime``), the state, followers' positions
FEED_PREDICATES = (
    FEED_RECORD,
    FEED_KIND,
    FEED_PAYLOAD,
    FEED_FIRST,
    FEED_LAST,
    "http://www.w3.org/ns/prov#generatedAtTime",
    FEED_COUNT,
    FEED_TIME,
    FEED_PAGE_SIZE,
    FEED_FIRST_KEPT,
    FEED_RETENTION,
    FOLLOW_PAGE,
    FOLLOW_APPLIED,
    FOLLOW_DONE,
)


@dataclass(frozen=True)
class FeedTerms:
    """The IRIs of one hub's feed."""

    base_iri: str

    @property
    def stream(self) -> str:
        return f"{self.base_iri}ldes"

    @property
    def shape(self) -> str:
        return f"{self.base_iri}ldes/shape"

    def page(self, number: int) -> str:
        return f"{self.base_iri}ldes/page/{number}"

    def member(self, number: int) -> str:
        return f"{self.base_iri}feed/member/{number}"

    def member_graph(self, number: int) -> str:
        return f"{self.base_iri}feed/member/{number}"

    def commit_graph(self, first: int) -> str:
        return f"{self.base_iri}feed/commit/{first}"

    @property
    def state_graph(self) -> str:
        return f"{self.base_iri}feed/state"

    @property
    def graph_prefix(self) -> str:
        return f"{self.base_iri}graph/"

    @property
    def feed_graph_prefix(self) -> str:
        """Every graph of the feed (members, commits, state, followers' positions) starts so."""
        return f"{self.base_iri}feed/"

    def is_feed_graph(self, graph: str) -> bool:
        return graph.startswith(self.feed_graph_prefix)


def record_of_graph(graph: str, prefix: str) -> str | None:
    """The record graph a written graph belongs to (itself, or the record of an ``/inferred``
    graph); None for any other graph (run history, shapes, ontology, the feed's own)."""
    if not graph.startswith(prefix):
        return None
    parts = graph[len(prefix) :].split("/")
    if parts[0] == "runs" or len(parts) not in (3, 4) or not all(parts[:3]):
        return None
    if len(parts) == 4:
        return graph.rsplit("/", 1)[0] if parts[3] == "inferred" else None
    return graph


def encode_payload(lines: str) -> ox.Literal:
    """A record's N-Quads (or N-Triples) lines as the stored payload literal
    (:data:`PAYLOAD_TYPE`)."""
    packed = zlib.compress(lines.encode("utf-8"), _PAYLOAD_LEVEL)
    return ox.Literal(base64.b64encode(packed).decode("ascii"), datatype=ox.NamedNode(PAYLOAD_TYPE))


def decode_payload(term: ox.NamedNode | ox.BlankNode | ox.Literal | ox.Triple) -> str:
    """The lines of a stored payload, to be read as N-Quads (a plain literal, as stores written
    before :data:`PAYLOAD_TYPE` have them, is N-Triples text itself)."""
    if isinstance(term, ox.Literal) and term.datatype.value == PAYLOAD_TYPE:
        return zlib.decompress(base64.b64decode(term.value)).decode("utf-8")
    return value_of(term)


def value_of(term: ox.NamedNode | ox.BlankNode | ox.Literal | ox.Triple) -> str:
    """A term's value (a quoted triple, never in the feed's graphs, as its text)."""
    return str(term) if isinstance(term, ox.Triple) else term.value
