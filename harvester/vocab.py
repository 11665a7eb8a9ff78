"""Namespaces of the MEA ontology and the standard vocabularies it aligns to (IRIs as strings)."""

from __future__ import annotations

__all__ = [
    "AICHI",
    "DCAT",
    "DCTERMS",
    "ELI",
    "FOAF",
    "GRAPH_ONTOLOGY",
    "MEA",
    "ORG",
    "OWL",
    "PREFIXES",
    "PROV",
    "RDF",
    "RDFS",
    "SH",
    "SKOS",
    "VCARD",
    "XSD",
    "expand",
]

MEA = "https://w3id.org/mea/ontology#"
AICHI = "https://w3id.org/mea/aichi/"
DCTERMS = "http://purl.org/dc/terms/"
PROV = "http://www.w3.org/ns/prov#"
RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
RDFS = "http://www.w3.org/2000/01/rdf-schema#"
OWL = "http://www.w3.org/2002/07/owl#"
XSD = "http://www.w3.org/2001/XMLSchema#"
SKOS = "http://www.w3.org/2004/02/skos/core#"
DCAT = "http://www.w3.org/ns/dcat#"
VCARD = "http://www.w3.org/2006/vcard/ns#"
ORG = "http://www.w3.org/ns/org#"
ELI = "http://data.europa.eu/eli/ontology#"
SH = "http://www.w3.org/ns/shacl#"
FOAF = "http://xmlns.com/foaf/0.1/"

PREFIXES: dict[str, str] = {
    "mea": MEA,
    "aichi": AICHI,
    "dcterms": DCTERMS,
    "prov": PROV,
    "rdf": RDF,
    "rdfs": RDFS,
    "owl": OWL,
    "xsd": XSD,
    "skos": SKOS,
    "dcat": DCAT,
    "vcard": VCARD,
    "org": ORG,
    "eli": ELI,
    "sh": SH,
    "foaf": FOAF,
}

# The ontology and the target schemes live in this graph; harvested records each have their own.
GRAPH_ONTOLOGY = "https://w3id.org/mea/graph/ontology"


def expand(curie: str) -> str:
    """Expand ``"mea:Decision"`` to a full IRI; a full IRI is returned unchanged.

    :raises KeyError: for an unknown prefix.
    """
    if curie.startswith(("http://", "https://", "urn:")):
        return curie
    prefix, _, local = curie.partition(":")
    return PREFIXES[prefix] + local
