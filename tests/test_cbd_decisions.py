"""The ``cbd-decisions`` kind: paragraph trees with target tags, against the mock CBD API."""

from __future__ import annotations

from typing import Any

import pytest

from harvester.demo import Dataset
from harvester.demo.cbd_api import TOPIC_TARGETS, CbdDecisionsProvider
from harvester.mapping.prepare import cbd_tree
from harvester.models import RunStatus

from .conftest import Hub, small_dataset

MEA = "https://w3id.org/mea/ontology#"


@pytest.fixture
def cbd_data() -> Dataset:
    return small_dataset(seed=11)


def _harvest(hub: Hub, data: Dataset, **options: Any) -> Any:
    mock = CbdDecisionsProvider(data, base_url="http://cbd.test", page_limit=4)
    config = hub.source(
        name="dtt", kind="cbd-decisions", url="http://cbd.test", page_size=4, **options
    )
    return mock, hub.harvest(mock.handle, config)


def _rows(hub: Hub, query: str) -> list[tuple[str, ...]]:
    return [tuple(term.value for term in row) for row in hub.runtime.store.query(query)]  # type: ignore[union-attr]


def _cbd_decisions(data: Dataset) -> list[dict[str, Any]]:
    return [d for d in data["Decisions"].values() if d["treaty"] in ("cbd", "cartagena", "nagoya")]


def test_decisions_and_paragraphs_are_loaded(hub: Hub, cbd_data: Dataset) -> None:
    _, report = _harvest(hub, cbd_data)
    assert report.status is RunStatus.OK and report.failures == []
    assert report.counts["added"] == len(_cbd_decisions(cbd_data)) > 0
    rows = _rows(
        hub,
        f"SELECT ?d ?p ?n WHERE {{ ?d <{MEA}paragraph> ?p . ?p <{MEA}number> ?n ; <{MEA}text> ?t }}",
    )
    assert len(rows) > 2 * report.counts["added"]
    assert any("(" in number for _, _, number in rows)  # sub-items numbered like "3(a)"


def test_source_tags_become_links_with_method_source(hub: Hub, cbd_data: Dataset) -> None:
    _harvest(hub, cbd_data)
    query = f"""SELECT ?p ?t ?m ?s WHERE {{ ?p a <{MEA}DecisionParagraph> ; <{MEA}aichiTarget> ?t ;
                <{MEA}targetLink> ?l . ?l <{MEA}target> ?t ; <{MEA}method> ?m ; <{MEA}score> ?s }}"""
    rows = _rows(hub, query)
    assert rows
    assert {(m, float(s)) for _, _, m, s in rows} == {("source", 1.0)}
    expected = {
        f"https://w3id.org/mea/aichi/target-{n}" for a, _ in TOPIC_TARGETS.values() for n in a
    }
    assert {t for _, t, _, _ in rows} <= expected


def test_gbf_tags_link_onward(hub: Hub, cbd_data: Dataset) -> None:
    _harvest(hub, cbd_data)
    rows = _rows(hub, f"SELECT DISTINCT ?t WHERE {{ ?p <{MEA}gbfTarget> ?t }}")
    assert rows and all(t.startswith("https://w3id.org/mea/gbf/target-") for (t,) in rows)


def test_procedural_paragraphs_have_no_source_links(hub: Hub, cbd_data: Dataset) -> None:
    _harvest(hub, cbd_data)
    query = f"""SELECT ?text WHERE {{ ?p <{MEA}text> ?text ; <{MEA}aichiTarget> ?t
                FILTER(REGEX(?text, "^DECIDES to hold its next meeting|^EXPRESSES its gratitude")) }}"""
    assert _rows(hub, query) == []


def test_deleted_decisions_are_removed(hub: Hub, cbd_data: Dataset) -> None:
    _harvest(hub, cbd_data)
    gone = _cbd_decisions(cbd_data)[0]
    cbd_data.delete("Decisions", gone["id"])
    _, report = _harvest(hub, cbd_data)
    assert report.counts["deleted"] == 1


def test_treaty_codes_of_the_un_collection_resolve(hub: Hub, cbd_data: Dataset) -> None:
    _harvest(hub, cbd_data)
    treaties = {
        t
        for (t,) in _rows(
            hub, f"SELECT DISTINCT ?t WHERE {{ ?d a <{MEA}Decision> ; <{MEA}treaty> ?t }}"
        )
    }
    assert treaties <= {f"https://w3id.org/mea/treaty/{t}" for t in ("cbd", "cartagena", "nagoya")}


def test_cbd_tree_numbers_and_slugs() -> None:
    tree = {"code": "CBD/COP/15/04", "nodes": [
        {"paragraph": 1, "section": None, "item": None, "nodes": [{"paragraph": 1, "item": "a"}]},
        {"paragraph": 2, "section": "B", "item": None, "nodes": []},
    ]}  # fmt: skip
    paragraphs = cbd_tree(tree)["paragraphs"]
    assert [(p["number"], p["slug"]) for p in paragraphs] == [
        ("1", "01"),
        ("1(a)", "01-a"),
        ("B.2", "b-02"),
    ]


def test_keywords_naming_a_target_are_source_links(hub: Hub, dataset: Dataset) -> None:
    from .conftest import provider

    record_id = next(iter(dataset["Decisions"]))
    record = dict(dataset["Decisions"][record_id])
    record["keywords"] = [*record["keywords"], {"namespace": "x", "term": "Aichi Target 11"}]
    dataset.add("Decisions", record)
    hub.harvest(provider(dataset).handle)
    target = "<https://w3id.org/mea/aichi/target-11>"
    decision = f"<http://hub.test/decision/prov/{record_id}>"
    query = f"SELECT ?m WHERE {{ {decision} <{MEA}aichiTarget> {target} ; <{MEA}targetLink> ?l . ?l <{MEA}target> {target} ; <{MEA}method> ?m }}"
    assert _rows(hub, query) == [("source",)]
