"""The static reference data of the store: ontology, shapes, target schemes, treaties, countries.

Everything here is read from ``ontology/`` (and, for countries, generated from pycountry) and
loaded into two graphs: :data:`~harvester.vocab.GRAPH_ONTOLOGY` (ontology, Aichi and GBF
schemes, treaties, countries) and :data:`GRAPH_SHAPES` (the SHACL shapes). A digest of the inputs
is stored as a marker triple so that :func:`load_reference` rewrites the graphs only when the
reference data changed.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import logging
from collections.abc import Iterator
from pathlib import Path

import pycountry
import pyoxigraph as ox

from .. import vocab
from ..exceptions import StoreError
from ..paths import ONTOLOGY_DIR
from ..store.api import StoreBackend
from ..store.embedded import ChangeSet
from .countries import COUNTRY_NS, EU_CODE

__all__ = [
    "GRAPH_SHAPES",
    "ONTOLOGY_FILES",
    "SHAPES_FILE",
    "country_quads",
    "load_reference",
    "reference_digest",
    "reference_quads",
]

log = logging.getLogger(__name__)

GRAPH_SHAPES = "https://w3id.org/mea/graph/shapes"
ONTOLOGY_FILES = ("mea.ttl", "aichi-targets.ttl", "gbf-targets.ttl", "treaties.ttl")
SHAPES_FILE = "shapes.ttl"
EU_COUNTRY_AUTHORITY = "http://publications.europa.eu/resource/authority/country/"

# Bump when the code that generates reference quads changes (part of the digest).
_GENERATOR_VERSION = "1"

# Countries outside pycountry's ISO 3166-1 table: code, label, EU authority code (or None).
_EXTRA_COUNTRIES: tuple[tuple[str, str, str, str | None], ...] = (
    (EU_CODE, "EU", "European Union", "EUR"),
    ("XKX", "XK", "Kosovo", None),
)

_TYPE = ox.NamedNode(vocab.RDF + "type")
_COUNTRY = ox.NamedNode(vocab.MEA + "Country")
_IDENTIFIER = ox.NamedNode(vocab.DCTERMS + "identifier")
_NOTATION = ox.NamedNode(vocab.SKOS + "notation")
_LABEL = ox.NamedNode(vocab.RDFS + "label")
_SAME_AS = ox.NamedNode(vocab.OWL + "sameAs")
_DIGEST = ox.NamedNode(vocab.MEA + "digest")


def _parse_turtle(path: Path, graph: str) -> list[ox.Quad]:
    """Parse one Turtle file into quads of ``graph`` (blank nodes renamed to fresh ids).

    :raises StoreError: when the file is missing or is not valid Turtle.
    """
    target = ox.NamedNode(graph)
    try:
        parsed = ox.parse(path=path, format=ox.RdfFormat.TURTLE, rename_blank_nodes=True)
        return [ox.Quad(t.subject, t.predicate, t.object, target) for t in parsed]
    except (OSError, SyntaxError, ValueError) as exc:
        raise StoreError(f"cannot read reference file {path}: {exc}") from exc


def _country_entry(
    code3: str, code2: str, label: str, authority: str | None
) -> Iterator[tuple[ox.NamedNode, ox.NamedNode | ox.Literal]]:
    """Predicate/object pairs describing one country."""
    yield _TYPE, _COUNTRY
    yield _IDENTIFIER, ox.Literal(code3)
    yield _NOTATION, ox.Literal(code2)
    yield _NOTATION, ox.Literal(code3)
    yield _LABEL, ox.Literal(label, language="en")
    if authority is not None:
        yield _SAME_AS, ox.NamedNode(EU_COUNTRY_AUTHORITY + authority)


def _country_rows() -> Iterator[tuple[str, str, str, str | None]]:
    """(alpha-3, alpha-2, English name, EU authority code) of every country we know."""
    for country in pycountry.countries:
        yield country.alpha_3, country.alpha_2, country.name, country.alpha_3
    yield from _EXTRA_COUNTRIES


def country_quads(graph: str = vocab.GRAPH_ONTOLOGY) -> list[ox.Quad]:
    """The ``mea:Country`` resources of every ISO 3166-1 country, the EU and Kosovo."""
    target = ox.NamedNode(graph)
    quads: list[ox.Quad] = []
    for code3, code2, label, authority in _country_rows():
        subject = ox.NamedNode(COUNTRY_NS + code3)
        for predicate, obj in _country_entry(code3, code2, label, authority):
            quads.append(ox.Quad(subject, predicate, obj, target))
    return quads


def reference_quads(directory: Path = ONTOLOGY_DIR) -> list[ox.Quad]:
    """Every static reference quad: ontology graph first, then the shapes graph.

    :raises StoreError: when a reference file is missing or malformed.
    """
    quads: list[ox.Quad] = []
    for name in ONTOLOGY_FILES:
        quads.extend(_parse_turtle(directory / name, vocab.GRAPH_ONTOLOGY))
    quads.extend(country_quads())
    quads.extend(_parse_turtle(directory / SHAPES_FILE, GRAPH_SHAPES))
    return quads


def reference_digest(directory: Path = ONTOLOGY_DIR) -> str:
    """SHA-256 over the reference files' bytes, the pycountry version and the generator version.

    :raises StoreError: when a reference file cannot be read.
    """
    digest = hashlib.sha256()
    for name in (*ONTOLOGY_FILES, SHAPES_FILE):
        try:
            digest.update((directory / name).read_bytes())
        except OSError as exc:
            raise StoreError(f"cannot read reference file {directory / name}: {exc}") from exc
    digest.update(importlib.metadata.version("pycountry").encode())
    digest.update(_GENERATOR_VERSION.encode())
    return digest.hexdigest()


def _marker_quad(digest: str) -> ox.Quad:
    graph = ox.NamedNode(vocab.GRAPH_ONTOLOGY)
    return ox.Quad(graph, _DIGEST, ox.Literal(digest), graph)


def _has_marker(store: StoreBackend, digest: str) -> bool:
    """Whether the ontology graph already holds the marker of ``digest``."""
    result = store.query(
        "ASK { GRAPH ?g { ?g ?p ?d } }",
        substitutions={
            "g": ox.NamedNode(vocab.GRAPH_ONTOLOGY),
            "p": _DIGEST,
            "d": ox.Literal(digest),
        },
    )
    return bool(result)


def _reference_changes(directory: Path, digest: str) -> ChangeSet:
    """Replacement of the ontology graph (with the digest marker) and of the shapes graph."""
    ontology_graph = ox.NamedNode(vocab.GRAPH_ONTOLOGY)
    quads = reference_quads(directory)
    changes = ChangeSet()
    ontology = [q for q in quads if q.graph_name == ontology_graph]
    changes.put_graph(vocab.GRAPH_ONTOLOGY, [*ontology, _marker_quad(digest)])
    changes.put_graph(GRAPH_SHAPES, [q for q in quads if q.graph_name != ontology_graph])
    return changes


def load_reference(store: StoreBackend, directory: Path = ONTOLOGY_DIR) -> bool:
    """Load the reference data unless the store already holds this exact version.

    Both graphs are replaced in one transaction.

    :returns: True when the graphs were (re)written, False when they were up to date.
    :raises StoreError: when a reference file is unreadable or the write fails.
    """
    digest = reference_digest(directory)
    if _has_marker(store, digest):
        log.debug("reference data up to date (%s)", digest[:12])
        return False
    changes = _reference_changes(directory, digest)
    store.apply(changes)
    log.info("loaded reference data: %d quads (%s)", changes.quad_count, digest[:12])
    return True
