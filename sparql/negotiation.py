"""Content negotiation: an ``Accept`` header (or a ``format=`` override) to a serialisation.

SELECT and ASK answers use :data:`RESULT_FORMATS`; CONSTRUCT and DESCRIBE answers use
:data:`GRAPH_FORMATS`. The first format of each tuple is the default, used when the client sends
no ``Accept`` header or accepts anything (``*/*``).

Ranking follows RFC 9110: the most specific media range that matches a media type gives its
quality; the highest quality wins; ties go to the more specific match, then to the range the client
listed first, then to the server's order. ``q=0`` excludes a type.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import Enum

import pyoxigraph as ox

__all__ = [
    "DESCRIPTION_FORMATS",
    "GRAPH_FORMATS",
    "RESULT_FORMATS",
    "Choice",
    "Format",
    "Kind",
    "MediaRange",
    "negotiate",
    "parse_accept",
]

log = logging.getLogger(__name__)

_W3C_FORMATS = "http://www.w3.org/ns/formats/"


class Kind(Enum):
    """What a query answers with."""

    RESULTS = "results"  # SELECT and ASK
    GRAPH = "graph"  # CONSTRUCT and DESCRIBE


@dataclass(frozen=True)
class Format:
    """One serialisation we offer.

    :param media_types: the media types that select it; the first is its canonical type.
    :param aliases: values of the ``format``/``output``/``results`` parameters that select it.
    :param syntax: the pyoxigraph format that writes it.
    :param w3c: its IRI under ``http://www.w3.org/ns/formats/`` (for the service description).
    """

    name: str
    kind: Kind
    media_types: tuple[str, ...]
    aliases: tuple[str, ...]
    syntax: ox.QueryResultsFormat | ox.RdfFormat
    w3c: str


def _results(
    name: str,
    types: tuple[str, ...],
    aliases: tuple[str, ...],
    syntax: ox.QueryResultsFormat,
    w3c: str,
) -> Format:
    return Format(name, Kind.RESULTS, types, aliases, syntax, _W3C_FORMATS + w3c)


def _graph(
    name: str, types: tuple[str, ...], aliases: tuple[str, ...], syntax: ox.RdfFormat, w3c: str
) -> Format:
    return Format(name, Kind.GRAPH, types, aliases, syntax, _W3C_FORMATS + w3c)


_QRF = ox.QueryResultsFormat
_RF = ox.RdfFormat
RESULTS_JSON = _results(
    "json",
    ("application/sparql-results+json", "application/json"),
    ("json", "srj"),
    _QRF.JSON,
    "SPARQL_Results_JSON",
)
RESULTS_XML = _results(
    "xml",
    ("application/sparql-results+xml", "application/xml", "text/xml"),
    ("xml", "srx"),
    _QRF.XML,
    "SPARQL_Results_XML",
)
RESULTS_CSV = _results("csv", ("text/csv",), ("csv",), _QRF.CSV, "SPARQL_Results_CSV")
RESULTS_TSV = _results(
    "tsv", ("text/tab-separated-values",), ("tsv",), _QRF.TSV, "SPARQL_Results_TSV"
)
TURTLE = _graph(
    "turtle",
    ("text/turtle", "application/x-turtle", "application/turtle"),
    ("turtle", "ttl"),
    _RF.TURTLE,
    "Turtle",
)
N_TRIPLES = _graph(
    "ntriples",
    ("application/n-triples",),
    ("nt", "ntriples", "n-triples"),
    _RF.N_TRIPLES,
    "N-Triples",
)
RDF_XML = _graph(
    "rdfxml",
    ("application/rdf+xml", "application/xml", "text/xml"),
    ("rdf", "rdfxml", "rdf+xml", "xml"),
    _RF.RDF_XML,
    "RDF_XML",
)
JSON_LD = _graph(
    "jsonld",
    ("application/ld+json", "application/json"),
    ("jsonld", "json-ld", "json"),
    _RF.JSON_LD,
    "JSON-LD",
)
N_QUADS = _graph(
    "nquads", ("application/n-quads",), ("nq", "nquads", "n-quads"), _RF.N_QUADS, "N-Quads"
)
TRIG = _graph("trig", ("application/trig",), ("trig",), _RF.TRIG, "TriG")

RESULT_FORMATS: tuple[Format, ...] = (RESULTS_JSON, RESULTS_XML, RESULTS_CSV, RESULTS_TSV)
GRAPH_FORMATS: tuple[Format, ...] = (TURTLE, N_TRIPLES, RDF_XML, JSON_LD, N_QUADS, TRIG)
DESCRIPTION_FORMATS: tuple[Format, ...] = (TURTLE, N_TRIPLES, RDF_XML, JSON_LD)


@dataclass(frozen=True)
class MediaRange:
    """One element of an ``Accept`` header."""

    type: str
    subtype: str
    q: float
    index: int

    def specificity(self, media_type: str) -> int:
        """3 for an exact match, 2 for ``type/*``, 1 for ``*/*``, 0 for no match."""
        main, _, sub = media_type.partition("/")
        if self.type == "*":
            return 1
        if self.type != main:
            return 0
        if self.subtype == "*":
            return 2
        return 3 if self.subtype == sub else 0


@dataclass(frozen=True)
class Choice:
    """The negotiated format and the media type to answer with."""

    format: Format
    media_type: str


def parse_accept(header: str) -> list[MediaRange]:
    """Parse an ``Accept`` header; malformed elements are skipped, not fatal."""
    ranges = []
    for index, element in enumerate(header.split(",")):
        media_range = _parse_range(element, index)
        if media_range is not None:
            ranges.append(media_range)
    return ranges


def _parse_range(element: str, index: int) -> MediaRange | None:
    media, *params = (part.strip() for part in element.split(";"))
    media = "*/*" if media == "*" else media.lower()
    main, slash, sub = media.partition("/")
    if not (main and slash and sub):
        return None
    q = 1.0
    for param in params:
        key, _, value = param.partition("=")
        if key.strip().lower() == "q":
            try:
                q = min(max(float(value), 0.0), 1.0)
            except ValueError:
                return None
            break  # parameters after q are accept-extensions, not media type parameters
    return MediaRange(main, sub, q, index)


def negotiate(
    formats: Sequence[Format], accept: str | None, overrides: Iterable[str] = ()
) -> Choice | None:
    """The format to answer with, or None when none of ``formats`` is acceptable.

    :param accept: the ``Accept`` header; missing or blank means the default format.
    :param overrides: values of ``format``/``output``/``results`` parameters; the first that names
        one of ``formats`` (by alias or media type) wins over ``Accept``.
    """
    for value in overrides:
        choice = _by_override(formats, value.strip().lower())
        if choice is not None:
            return choice
    if accept is None or not accept.strip():
        return Choice(formats[0], formats[0].media_types[0])
    return _by_accept(formats, parse_accept(accept))


def _by_override(formats: Sequence[Format], value: str) -> Choice | None:
    for fmt in formats:
        if value in fmt.aliases:
            return Choice(fmt, fmt.media_types[0])
    if "/" in value:
        return _by_accept(formats, parse_accept(value))
    return None


def _by_accept(formats: Sequence[Format], ranges: list[MediaRange]) -> Choice | None:
    best: tuple[tuple[float, int, int, int, int], Choice] | None = None
    for position, fmt in enumerate(formats):
        for alias, media_type in enumerate(fmt.media_types):
            match = _best_range(ranges, media_type)
            if match is None or match.q <= 0:
                continue
            spec = match.specificity(media_type)
            # Canonical media types win ties over aliases (``application/*`` is N-Triples, not
            # Turtle as ``application/x-turtle``); ``*/*`` answers with the canonical type.
            key = (match.q, spec, -match.index, -alias, -position)
            if best is None or key > best[0]:
                best = (key, Choice(fmt, media_type if spec > 1 else fmt.media_types[0]))
    return None if best is None else best[1]


def _best_range(ranges: list[MediaRange], media_type: str) -> MediaRange | None:
    """The most specific range matching ``media_type`` (it alone decides its quality)."""
    matching = [r for r in ranges if r.specificity(media_type)]
    if not matching:
        return None
    return max(matching, key=lambda r: (r.specificity(media_type), -r.index))
