"""The ontology files and harvester.mapping.ontology: parsing, contract terms, reference loading."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pyoxigraph as ox
import pyshacl
import pytest
import rdflib
from rdflib.namespace import OWL, RDF, RDFS, SKOS

from harvester import vocab
from harvester.mapping.countries import treaty_iri
from harvester.mapping.ontology import (
    GRAPH_SHAPES,
    load_reference,
    reference_digest,
    reference_quads,
)
from harvester.mapping.validate import ShapeChecker
from harvester.paths import ONTOLOGY_DIR
from harvester.store.embedded import MeaStore

TTL_FILES = ["mea.ttl", "shapes.ttl", "aichi-targets.ttl", "gbf-targets.ttl", "treaties.ttl"]
MEA = rdflib.Namespace(vocab.MEA)
DCTERMS = rdflib.Namespace(vocab.DCTERMS)
ELI = rdflib.Namespace(vocab.ELI)

CONTRACT_CLASSES = [
    "Treaty",
    "Meeting",
    "Decision",
    "DecisionParagraph",
    "NationalReport",
    "NationalPlan",
    "FocalPoint",
    "Country",
]
CONTRACT_OBJECT_PROPERTIES = ["treaty", "meeting", "paragraph", "country", "aichiTarget"]
CONTRACT_OBJECT_PROPERTIES += ["targetLink", "target"]
CONTRACT_DATATYPE_PROPERTIES = ["number", "method", "score", "decisionType"]


@pytest.fixture(scope="module")
def ontology() -> rdflib.Graph:
    return rdflib.Graph().parse(ONTOLOGY_DIR / "mea.ttl", format="turtle")


@pytest.fixture
def store() -> MeaStore:
    return MeaStore()


@pytest.mark.parametrize("name", TTL_FILES)
def test_turtle_files_parse_with_both_libraries(name: str) -> None:
    path = ONTOLOGY_DIR / name
    oxi = list(ox.parse(path=path, format=ox.RdfFormat.TURTLE))
    graph = rdflib.Graph().parse(path, format="turtle")
    assert len(oxi) == len(graph) > 0


@pytest.mark.parametrize(
    ("names", "kind"),
    [
        pytest.param(CONTRACT_CLASSES, OWL.Class, id="classes"),
        pytest.param(CONTRACT_OBJECT_PROPERTIES, OWL.ObjectProperty, id="object-properties"),
        pytest.param(CONTRACT_DATATYPE_PROPERTIES, OWL.DatatypeProperty, id="datatype-properties"),
    ],
)
def test_contract_terms_are_declared(
    ontology: rdflib.Graph, names: list[str], kind: rdflib.URIRef
) -> None:
    for name in names:
        assert (MEA[name], RDF.type, kind) in ontology, name
        assert (MEA[name], RDFS.label, None) in ontology, name


def test_every_mea_term_used_by_shapes_is_declared(ontology: rdflib.Graph) -> None:
    shapes = rdflib.Graph().parse(ONTOLOGY_DIR / "shapes.ttl", format="turtle")
    used = {o for o in shapes.objects() if isinstance(o, rdflib.URIRef) and o.startswith(MEA)}
    declared = set(ontology.subjects(RDF.type, None))
    assert used and used <= declared, used - declared


def test_ontology_header_and_alignments(ontology: rdflib.Graph) -> None:
    header = rdflib.URIRef("https://w3id.org/mea/ontology")
    assert (header, RDF.type, OWL.Ontology) in ontology
    assert (header, OWL.versionInfo, None) in ontology
    assert (MEA.Decision, RDFS.subClassOf, ELI.LegalResource) in ontology
    assert (MEA.DecisionParagraph, RDFS.subClassOf, ELI.LegalResourceSubdivision) in ontology
    assert (MEA.paragraph, RDFS.subPropertyOf, ELI.has_part) in ontology
    assert (MEA.aichiTarget, RDFS.subPropertyOf, DCTERMS.subject) in ontology


def test_aichi_scheme_has_twenty_targets() -> None:
    graph = rdflib.Graph().parse(ONTOLOGY_DIR / "aichi-targets.ttl", format="turtle")
    targets = {str(s) for s in graph.subjects(RDF.type, SKOS.Concept) if "/target-" in str(s)}
    assert targets == {f"https://w3id.org/mea/aichi/target-{n}" for n in range(1, 21)}


def test_gbf_scheme_has_twenty_three_targets() -> None:
    graph = rdflib.Graph().parse(ONTOLOGY_DIR / "gbf-targets.ttl", format="turtle")
    targets = [s for s in graph.subjects(RDF.type, SKOS.Concept) if "/target-" in str(s)]
    assert len(targets) == 23


def test_aichi_keywords_cover_every_target() -> None:
    cues = json.loads((ONTOLOGY_DIR / "aichi-keywords.json").read_text(encoding="utf-8"))
    assert sorted(cues) == [f"AT{n:02d}" for n in range(1, 21)]
    assert all(cues[key] for key in cues)


def test_shapes_are_valid_shacl() -> None:
    shapes = rdflib.Graph().parse(ONTOLOGY_DIR / "shapes.ttl", format="turtle")
    conforms, _, text = pyshacl.validate(rdflib.Graph(), shacl_graph=shapes, meta_shacl=True)
    assert conforms, text


def test_treaties_match_their_iris_and_conform() -> None:
    path = ONTOLOGY_DIR / "treaties.ttl"
    graph = rdflib.Graph().parse(path, format="turtle")
    ids = {str(o): str(s) for s, o in graph.subject_objects(DCTERMS.identifier)}
    assert {"cbd", "cites", "cms", "ramsar", "whc", "stockholm", "plant-treaty"} <= set(ids)
    assert all(treaty_iri(slug) == iri for slug, iri in ids.items())
    assert (rdflib.URIRef(ids["plant-treaty"]), SKOS.altLabel, rdflib.Literal("itpgrfa")) in graph
    quads = list(ox.parse(path=path, format=ox.RdfFormat.TURTLE))
    assert ShapeChecker.from_file().check(quads) == []


def test_reference_quads_put_shapes_in_their_own_graph() -> None:
    graphs = {
        q.graph_name.value for q in reference_quads() if isinstance(q.graph_name, ox.NamedNode)
    }
    assert graphs == {vocab.GRAPH_ONTOLOGY, GRAPH_SHAPES}


def test_load_reference_is_idempotent(store: MeaStore) -> None:
    assert load_reference(store) is True
    count = len(store)
    assert load_reference(store) is False
    assert len(store) == count
    assert store.has_graph(GRAPH_SHAPES)


def test_loaded_countries_are_queryable(store: MeaStore) -> None:
    load_reference(store)
    query = """
        PREFIX mea: <https://w3id.org/mea/ontology#>
        PREFIX dcterms: <http://purl.org/dc/terms/>
        PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
        SELECT ?country ?label ?code WHERE {
            ?country a mea:Country ; dcterms:identifier ?code ; rdfs:label ?label }
    """
    for code, label in [("ALB", "Albania"), ("EUU", "European Union")]:
        result = store.query(query, substitutions={"code": ox.Literal(code)})
        assert isinstance(result, ox.QuerySolutions)
        rows = list(result)
        assert [(r["country"].value, r["label"].value) for r in rows] == [
            (f"https://w3id.org/mea/country/{code}", label)
        ]


def test_digest_changes_when_a_file_changes(tmp_path: Path, store: MeaStore) -> None:
    copy = tmp_path / "ontology"
    shutil.copytree(ONTOLOGY_DIR, copy)
    before = reference_digest(copy)
    assert before == reference_digest(ONTOLOGY_DIR)
    assert load_reference(store, copy) is True
    with (copy / "treaties.ttl").open("a", encoding="utf-8") as handle:
        handle.write("\n# changed\n")
    assert reference_digest(copy) != before
    count = len(store)
    assert load_reference(store, copy) is True
    assert len(store) == count
