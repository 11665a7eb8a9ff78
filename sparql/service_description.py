"""The SPARQL 1.1 Service Description that ``GET /sparql`` (without a query) answers with.

See https://www.w3.org/TR/sparql11-service-description/. The default dataset is described with a
VoID triple count (the number of quads in the store: cheap, and exact while every triple lives in
one record graph).
"""

from __future__ import annotations

import logging

import pyoxigraph as ox

from harvester.settings import ServerSettings
from harvester.store.api import StoreBackend

from .negotiation import GRAPH_FORMATS, RESULT_FORMATS, Format

__all__ = ["SD", "VOID", "description_triples", "endpoint_iri", "serialize_description"]

log = logging.getLogger(__name__)

SD = "http://www.w3.org/ns/sparql-service-description#"
VOID = "http://rdfs.org/ns/void#"
_RDF_TYPE = ox.NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type")
_PREFIXES = {"sd": SD, "void": VOID, "formats": "http://www.w3.org/ns/formats/"}


def endpoint_iri(settings: ServerSettings) -> str:
    """The public IRI of the SPARQL endpoint (``base_iri`` ends in ``/``)."""
    return settings.base_iri + "sparql"


def _sd(local: str) -> ox.NamedNode:
    return ox.NamedNode(SD + local)


def description_triples(
    endpoint: str, triple_count: int, *, federated: bool = False
) -> list[ox.Triple]:
    """The description of the service at ``endpoint`` as triples.

    :param federated: whether ``SERVICE`` is allowed (to some endpoints).
    """
    service = ox.NamedNode(endpoint + "#service")
    dataset, graph = ox.BlankNode("dataset"), ox.BlankNode("defaultGraph")
    triples = [
        ox.Triple(service, _RDF_TYPE, _sd("Service")),
        ox.Triple(service, _sd("endpoint"), ox.NamedNode(endpoint)),
        ox.Triple(service, _sd("supportedLanguage"), _sd("SPARQL11Query")),
        ox.Triple(service, _sd("feature"), _sd("UnionDefaultGraph")),
        ox.Triple(service, _sd("defaultDataset"), dataset),
        ox.Triple(dataset, _RDF_TYPE, _sd("Dataset")),
        ox.Triple(dataset, _sd("defaultGraph"), graph),
        ox.Triple(graph, _RDF_TYPE, _sd("Graph")),
        ox.Triple(
            graph,
            ox.NamedNode(VOID + "triples"),
            ox.Literal(
                str(triple_count), datatype=ox.NamedNode("http://www.w3.org/2001/XMLSchema#integer")
            ),
        ),
    ]
    if federated:
        triples.append(ox.Triple(service, _sd("feature"), _sd("BasicFederatedQuery")))
    formats = {fmt.w3c for fmt in (*RESULT_FORMATS, *GRAPH_FORMATS)}
    triples += [ox.Triple(service, _sd("resultFormat"), ox.NamedNode(f)) for f in sorted(formats)]
    return triples


def serialize_description(store: StoreBackend, settings: ServerSettings, fmt: Format) -> bytes:
    """The service description in ``fmt`` (a graph format).

    Runs a count over the store, so call it from a worker thread.
    """
    if not isinstance(fmt.syntax, ox.RdfFormat):
        raise ValueError(f"{fmt.name} is not an RDF format")
    triples = description_triples(
        endpoint_iri(settings), len(store), federated=bool(settings.service_allowlist)
    )
    # pyoxigraph returns bytes when no output is given; its stub says ``bytes | None``.
    return ox.serialize(triples, format=fmt.syntax, prefixes=_PREFIXES) or b""
