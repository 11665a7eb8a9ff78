"""harvester.mapping.validate: the fast shape checker agrees with pySHACL on good and bad
records."""

from __future__ import annotations

from pathlib import Path

import pyoxigraph as ox
import pyshacl
import pytest
import rdflib

from harvester.exceptions import ConfigError
from harvester.mapping.validate import ShapeChecker
from harvester.paths import ONTOLOGY_DIR

PREFIXES = """
@prefix mea: <https://w3id.org/mea/ontology#> .
@prefix dcterms: <http://purl.org/dc/terms/> .
@prefix prov: <http://www.w3.org/ns/prov#> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
@prefix aichi: <https://w3id.org/mea/aichi/> .
@prefix vcard: <http://www.w3.org/2006/vcard/ns#> .
@prefix rec: <https://w3id.org/mea/demo/> .
"""

GOOD_DECISION = (
    PREFIXES
    + """
rec:d1 a mea:Decision ;
    dcterms:identifier "2c776b76-0001" ;
    dcterms:title "Biodiversity and climate change"@en ;
    dcterms:title "Diversité biologique et changements climatiques"@fr ;
    mea:number "X/33" ;
    mea:decisionType "decision" ;
    mea:treaty <https://w3id.org/mea/treaty/cbd> ;
    mea:meeting rec:cop-10 ;
    dcterms:issued "2010-10-29"^^xsd:date ;
    dcterms:modified "2015-12-14T17:21:55Z"^^xsd:dateTime ;
    mea:aichiTarget aichi:target-10 , aichi:target-15 ;
    mea:paragraph rec:d1-p1 ;
    mea:file rec:d1-f1 ;
    prov:wasDerivedFrom <https://example.org/odata/Decisions('2c776b76-0001')> .

rec:d1-p1 a mea:DecisionParagraph ;
    dcterms:identifier "2c776b76-0001-p1" ;
    mea:number "1" ;
    mea:displayOrder 1 ;
    mea:aichiTarget aichi:target-15 ;
    prov:wasDerivedFrom <https://example.org/odata/Decisions('2c776b76-0001')> .

rec:d1-f1 a mea:File ;
    mea:url <https://example.org/files/cop-10-dec-33-en.pdf> ;
    dcterms:format "application/pdf" .
"""
)

GOOD_MEETING = (
    PREFIXES
    + """
rec:m1 a mea:Meeting ;
    dcterms:identifier "cop-10" ;
    dcterms:title "Tenth meeting of the Conference of the Parties"@en ;
    mea:treaty <https://w3id.org/mea/treaty/cbd> ;
    mea:country <https://w3id.org/mea/country/JPN> ;
    mea:startDate "2010-10-18"^^xsd:date ;
    mea:latitude "35.18"^^xsd:double ;
    mea:longitude "136.9"^^xsd:double ;
    mea:isVirtual false ;
    prov:wasDerivedFrom <https://example.org/odata/Meetings('cop-10')> .
"""
)

GOOD_FOCAL_POINT = (
    PREFIXES
    + """
rec:fp1 a mea:FocalPoint ;
    dcterms:identifier "fp-1" ;
    mea:treaty <https://w3id.org/mea/treaty/cbd> , <https://w3id.org/mea/treaty/nagoya> ;
    mea:country <https://w3id.org/mea/country/ALB> ;
    vcard:hasEmail <mailto:someone@example.org> ;
    prov:wasDerivedFrom <https://example.org/odata/Contacts('fp-1')> .
"""
)


def _edit(text: str, old: str, new: str) -> str:
    assert old in text, old
    return text.replace(old, new)


CASES = [
    pytest.param(GOOD_DECISION, True, id="good-decision"),
    pytest.param(GOOD_MEETING, True, id="good-meeting"),
    pytest.param(GOOD_FOCAL_POINT, True, id="good-focal-point"),
    pytest.param(
        _edit(GOOD_DECISION, '"Biodiversity and climate change"@en', '"Untagged title"'),
        False,
        id="untagged-title",
    ),
    pytest.param(
        _edit(
            _edit(GOOD_DECISION, '    dcterms:title "Biodiversity and climate change"@en ;\n', ""),
            '    dcterms:title "Diversité biologique et changements climatiques"@fr ;\n',
            "",
        ),
        False,
        id="missing-title",
    ),
    pytest.param(
        _edit(GOOD_DECISION, 'mea:number "X/33" ;', 'mea:number "X/33", "X/34" ;'),
        False,
        id="two-numbers",
    ),
    pytest.param(
        _edit(GOOD_DECISION, "<https://w3id.org/mea/treaty/cbd>", '"cbd"'),
        False,
        id="literal-treaty",
    ),
    pytest.param(
        _edit(GOOD_DECISION, "<https://w3id.org/mea/treaty/cbd>", "<https://example.org/cbd>"),
        False,
        id="treaty-outside-namespace",
    ),
    pytest.param(
        _edit(GOOD_DECISION, '"2010-10-29"^^xsd:date', '"2010-10-29"'),
        False,
        id="date-as-plain-string",
    ),
    pytest.param(
        _edit(GOOD_DECISION, '"2010-10-29"^^xsd:date', '"29 Oct 2010"^^xsd:date'),
        False,
        id="ill-formed-date",
    ),
    pytest.param(
        _edit(GOOD_DECISION, '"2c776b76-0001" ;', '"2c776b76-0001", "other" ;'),
        False,
        id="two-identifiers",
    ),
    pytest.param(
        _edit(
            GOOD_DECISION,
            "    prov:wasDerivedFrom <https://example.org/odata/Decisions('2c776b76-0001')> .\n\n"
            "rec:d1-p1",
            '    mea:status "active" .\n\nrec:d1-p1',
        ),
        False,
        id="decision-without-provenance",
    ),
    pytest.param(
        _edit(GOOD_DECISION, "aichi:target-10 ,", "aichi:target-21 ,"),
        False,
        id="unknown-aichi-target",
    ),
    pytest.param(
        _edit(GOOD_DECISION, "mea:displayOrder 1 ;", 'mea:displayOrder "first" ;'),
        False,
        id="paragraph-order-not-integer",
    ),
    pytest.param(
        _edit(GOOD_MEETING, '"35.18"^^xsd:double', '"135.18"^^xsd:double'),
        False,
        id="latitude-out-of-range",
    ),
    pytest.param(
        _edit(GOOD_MEETING, "    mea:treaty <https://w3id.org/mea/treaty/cbd> ;\n", ""),
        False,
        id="meeting-without-treaty",
    ),
    pytest.param(
        _edit(GOOD_FOCAL_POINT, "country/ALB>", "country/al>"),
        False,
        id="country-not-alpha3",
    ),
    pytest.param(
        _edit(GOOD_FOCAL_POINT, "<mailto:someone@example.org>", '"someone@example.org"'),
        False,
        id="email-as-literal",
    ),
]


@pytest.fixture(scope="module")
def checker() -> ShapeChecker:
    return ShapeChecker.from_file()


@pytest.fixture(scope="module")
def shapes_graph() -> rdflib.Graph:
    return rdflib.Graph().parse(ONTOLOGY_DIR / "shapes.ttl", format="turtle")


def _quads(turtle: str) -> list[ox.Quad]:
    return list(ox.parse(turtle, format=ox.RdfFormat.TURTLE))


def _pyshacl_conforms(turtle: str, shapes: rdflib.Graph) -> bool:
    data = rdflib.Graph().parse(data=turtle, format="turtle")
    conforms, _, _ = pyshacl.validate(data, shacl_graph=shapes)
    return bool(conforms)


@pytest.mark.parametrize(("turtle", "valid"), CASES)
def test_checker_and_pyshacl_agree(
    turtle: str, valid: bool, checker: ShapeChecker, shapes_graph: rdflib.Graph
) -> None:
    problems = checker.check(_quads(turtle))
    assert (problems == []) is valid, problems
    assert _pyshacl_conforms(turtle, shapes_graph) is valid


def test_problems_name_the_focus_node_and_property(checker: ShapeChecker) -> None:
    turtle = _edit(GOOD_DECISION, 'mea:number "X/33" ;', 'mea:number "X/33", "X/34" ;')
    problems = checker.check(_quads(turtle))
    assert problems == ["<https://w3id.org/mea/demo/d1>: mea:number: 2 values, at most 1 allowed"]


def test_nodes_without_a_target_class_are_not_checked(checker: ShapeChecker) -> None:
    file_only = PREFIXES + 'rec:f a mea:File ; mea:fileName 42 .\nrec:x dcterms:title "t" .'
    assert checker.check(_quads(file_only)) == []


def test_every_harvested_class_has_rules(checker: ShapeChecker) -> None:
    names = {iri.rsplit("#", 1)[1] for iri in checker.rules}
    assert names == {
        "Treaty",
        "Meeting",
        "Decision",
        "DecisionParagraph",
        "NationalReport",
        "NationalPlan",
        "FocalPoint",
        "FocalPointRole",
        "Site",
    }


def test_unsupported_shacl_feature_is_refused(tmp_path: Path) -> None:
    shapes = tmp_path / "shapes.ttl"
    shapes.write_text(
        "@prefix sh: <http://www.w3.org/ns/shacl#> .\n"
        "<urn:s> sh:targetClass <urn:C> ; sh:property [ sh:path <urn:p> ; sh:class <urn:D> ] .\n"
    )
    with pytest.raises(ConfigError, match="sh:class"):
        ShapeChecker.from_file(shapes)


def test_unreadable_shapes_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError):
        ShapeChecker.from_file(tmp_path / "missing.ttl")
