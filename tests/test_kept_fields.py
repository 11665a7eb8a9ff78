"""Fields real payloads carry that the store used to drop (issue 12, item 4): decisions'
meetingUrl and treatyUUID, meetings' repetition, imageUrl and imageCopyright, BRS extras, file
sizes, and the CBD tree's body, session, decision, gbfGoals and subjects."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pyoxigraph as ox
import pytest

from harvester.demo import demo_dataset
from harvester.mapping.engine import MappingContext, MappingRegistry, RecordMapping
from harvester.mapping.prepare import cbd_tree
from harvester.mapping.validate import ShapeChecker
from harvester.paths import MAPPINGS_DIR

from .conftest import HUB, Hub, provider

MEA = "https://w3id.org/mea/ontology#"
DCTERMS = "http://purl.org/dc/terms/"
SCHEMA_IMAGE = "https://schema.org/image"
BYTE_SIZE = "http://www.w3.org/ns/dcat#byteSize"
PAYLOADS = Path(__file__).resolve().parent / "data" / "payloads"
CTX = MappingContext(base_iri=HUB, source="prov")
CHECKER = ShapeChecker.from_file()
ODATA = MappingRegistry.load(MAPPINGS_DIR, "informea-odata")
CBD = MappingRegistry.load(MAPPINGS_DIR, "cbd-decisions")


def _mapping(registry: MappingRegistry, entity: str) -> RecordMapping:
    mapping = registry.get(entity)
    assert mapping is not None
    return mapping


def _first(name: str) -> dict[str, Any]:
    body = json.loads((PAYLOADS / f"{name}.json").read_text(encoding="utf-8"))
    body = body.get("d", body)
    return dict((body["results"] if isinstance(body, dict) and "results" in body else body)[0])


def _objects(
    quads: list[ox.Quad], prop: str, subject: str | None = None
) -> list[ox.NamedNode | ox.BlankNode | ox.Literal | ox.Triple]:
    return [
        q.object
        for q in quads
        if q.predicate.value == prop and (subject is None or str(q.subject) == f"<{subject}>")
    ]


def _map(registry: MappingRegistry, entity: str, record: dict[str, Any]) -> list[ox.Quad]:
    mapped = _mapping(registry, entity).map(record, CTX, url="http://p.test/x")
    assert mapped.warnings == ()
    assert CHECKER.check(mapped.quads) == []
    return mapped.quads


def test_meeting_repetition_image_and_brs_texts_are_kept() -> None:
    record = _first("informea-odata--Meetings--brs")
    quads = _map(ODATA, "Meetings", record)
    assert _objects(quads, MEA + "repetition") == [ox.Literal("yearly")]
    assert _objects(quads, SCHEMA_IMAGE) == [ox.NamedNode(record["imageUrl"])]
    assert _objects(quads, MEA + "imageCopyright") == [ox.Literal("Image: BRS Secretariat")]
    # brs_Title repeats the English title: written once; brs_Description is the fuller text
    assert _objects(quads, DCTERMS + "title") == [ox.Literal(record["brs_Title"], language="en")]
    assert set(_objects(quads, DCTERMS + "description")) == {
        ox.Literal("The objective of this webinar", language="en"),
        ox.Literal(record["brs_Description"], language="en"),
    }


def test_a_meeting_without_them_gets_none() -> None:
    quads = _map(ODATA, "Meetings", _first("informea-odata--Meetings--olingo"))
    for prop in (MEA + "repetition", SCHEMA_IMAGE, MEA + "imageCopyright"):
        assert _objects(quads, prop) == []


def test_decision_meeting_url_treaty_uuid_and_file_size_are_kept() -> None:
    brs = _map(ODATA, "Decisions", _first("informea-odata--Decisions--brs"))
    assert _objects(brs, MEA + "meetingUrl") == [ox.NamedNode("http://brs.example/meetings/cop3")]
    olingo = _map(ODATA, "Decisions", _first("informea-odata--Decisions--olingo"))
    assert _objects(olingo, MEA + "meetingUrl") == []  # null
    assert _objects(olingo, MEA + "treatyUuid") == [
        ox.Literal("9a3b5c7d-0000-4e3c-9b33-7a1f1a6c0b2e")
    ]
    assert _objects(olingo, BYTE_SIZE) == [ox.Literal(204800)]


def test_national_plan_symbol_and_file_size_are_kept() -> None:
    quads = _map(ODATA, "NationalPlans", _first("informea-odata--NationalPlans--brs"))
    assert _objects(quads, MEA + "documentSymbol") == [ox.Literal("UNEP/POPS/NIP/Albania/1")]
    assert _objects(quads, BYTE_SIZE) == [ox.Literal(1322373)]  # sent as the string "1322373"


def test_cbd_tree_body_session_goals_and_subjects_are_kept() -> None:
    tree = json.loads((PAYLOADS / "cbd-decisions--Decisions--tree.json").read_text("utf-8"))
    quads = _map(CBD, "Decisions", tree)
    decision = f"{HUB}decision/prov/cbd-cop-15-04"
    assert _objects(quads, MEA + "body", decision) == [ox.Literal("COP")]
    assert _objects(quads, MEA + "session", decision) == [ox.Literal(15)]
    assert _objects(quads, MEA + "displayOrder", decision) == [ox.Literal(4)]
    numbers = {o.value for o in _objects(quads, MEA + "number") if isinstance(o, ox.Literal)}
    assert {"1", "1(a)", "1(a)(i)", "B.2"} <= numbers
    first = f"{decision}/paragraph/01"
    assert _objects(quads, MEA + "gbfGoal", first) == [
        ox.NamedNode("https://w3id.org/mea/gbf/goal-A")
    ]
    assert _objects(quads, MEA + "keyword", first) == [ox.Literal("CBD-SUBJECT-PA")]
    assert _objects(quads, MEA + "gbfGoal", f"{decision}/paragraph/b-02") == [
        ox.NamedNode("https://w3id.org/mea/gbf/goal-D")
    ]


def test_cbd_sub_items_are_numbered_under_their_item() -> None:
    tree = {"code": "C", "nodes": [{"paragraph": 4, "nodes": [
        {"paragraph": 4, "item": "a", "nodes": [{"paragraph": 4, "item": "a", "subitem": "i"}]},
        {"subitem": "ii"},
    ]}]}  # fmt: skip
    paragraphs = cbd_tree(tree)["paragraphs"]
    assert [(p["number"], p["slug"]) for p in paragraphs] == [
        ("4", "04"),
        ("4(a)", "04-a"),
        ("4(a)(i)", "04-a-i"),
        ("4(ii)", "04-ii"),
    ]


@pytest.mark.parametrize(
    ("value", "goal"),
    [
        ("GBF-GOAL-A", "A"),
        ("Goal b", "B"),
        ("GBF-G-C", "C"),
        ("https://w3id.org/mea/gbf/goal-D", "D"),
        ("d", "D"),
    ],
)
def test_gbf_goals_in_any_form(value: str, goal: str) -> None:
    tree = {"code": "CBD/COP/15/04", "symbol": "15/4", "treaty": "XXVII8", "title": {"en": "T"},
            "nodes": [{"code": "CBD/COP/15/04/01", "paragraph": 1, "gbfGoals": [value]}]}  # fmt: skip
    quads = _map(CBD, "Decisions", tree)
    assert _objects(quads, MEA + "gbfGoal") == [
        ox.NamedNode(f"https://w3id.org/mea/gbf/goal-{goal}")
    ]


def test_an_unknown_gbf_goal_is_dropped_with_a_warning() -> None:
    tree = {"code": "CBD/COP/15/04", "symbol": "15/4", "treaty": "XXVII8", "title": {"en": "T"},
            "nodes": [{"code": "CBD/COP/15/04/01", "paragraph": 1, "gbfGoals": ["GBF-GOAL-E"]}]}  # fmt: skip
    mapped = _mapping(CBD, "Decisions").map(tree, CTX, url="http://p.test/x")
    assert _objects(mapped.quads, MEA + "gbfGoal") == []
    assert any("not a GBF goal" in w for w in mapped.warnings)


def _count(hub: Hub, prop: str) -> int:
    rows = hub.runtime.store.query(f"SELECT (COUNT(*) AS ?n) WHERE {{ ?s <{prop}> ?o }}")
    assert isinstance(rows, ox.QuerySolutions)
    (count,) = next(iter(rows))
    assert isinstance(count, ox.Literal)
    return int(count.value)


@pytest.mark.parametrize("flavour", ["olingo", "brs", "jaydata"])
def test_the_demo_providers_serve_them_and_the_store_keeps_them(hub: Hub, flavour: str) -> None:
    data = demo_dataset()
    report = hub.harvest(
        provider(data, flavour=flavour).handle, hub.source(entities=["Meetings", "Decisions"])
    )
    assert report.failures == []
    meetings, decisions = data["Meetings"].values(), data["Decisions"].values()
    expected = {
        MEA + "repetition": sum(bool(m["repetition"]) for m in meetings),
        SCHEMA_IMAGE: sum(bool(m["imageUrl"]) for m in meetings),
        MEA + "imageCopyright": sum(bool(m["imageCopyright"]) for m in meetings),
        MEA + "meetingUrl": sum(bool(d["meetingUrl"]) for d in decisions),
    }
    assert all(expected.values()), expected
    assert {prop: _count(hub, prop) for prop in expected} == expected
