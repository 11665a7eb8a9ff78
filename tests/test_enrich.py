"""Paragraphs split from decision content, inferred Aichi links, and ``meahub link``."""

from __future__ import annotations

import pyoxigraph as ox
import pytest

from harvester.demo import Dataset
from harvester.linking import METHOD, Linker
from harvester.mapping import targets
from harvester.mapping.engine import MappingContext, MappingRegistry
from harvester.mapping.enrich import Enricher, inferred_graph
from harvester.paths import MAPPINGS_DIR
from harvester.service.relink import relink

from .conftest import Hub, provider

MEA = "https://w3id.org/mea/ontology#"


def _rows(hub: Hub, query: str) -> list[tuple[str, ...]]:
    return [tuple(term.value for term in row) for row in hub.runtime.store.query(query)]  # type: ignore[union-attr]


def _first_decision(dataset: Dataset) -> dict[str, object]:
    return next(iter(dataset["Decisions"].values()))


def test_odata_decisions_get_numbered_paragraphs(hub: Hub, dataset: Dataset) -> None:
    record = dict(_first_decision(dataset))
    record["content"] = [
        {
            "language": "en",
            "value": "<p>1. ADOPTS the plan;</p><p>2. URGES Parties to expand protected areas.</p>",
        },
        {
            "language": "fr",
            "value": "<p>1. ADOPTE le plan;</p><p>2. PRIE instamment les Parties.</p>",
        },
    ]
    dataset.add("Decisions", record)
    hub.harvest(provider(dataset).handle)
    decision = f"<http://hub.test/decision/prov/{record['id']}>"
    query = f"SELECT ?n ?t WHERE {{ {decision} <{MEA}paragraph> ?p . ?p <{MEA}number> ?n ; <{MEA}text> ?t }} ORDER BY ?n ?t"
    assert _rows(hub, query) == [
        ("1", "ADOPTE le plan;"), ("1", "ADOPTS the plan;"),
        ("2", "PRIE instamment les Parties."), ("2", "URGES Parties to expand protected areas."),
    ]  # fmt: skip


def test_paragraphs_without_source_tags_get_inferred_links(hub: Hub, dataset: Dataset) -> None:
    hub.harvest(provider(dataset).handle)
    query = f"""SELECT ?p ?m ?s ?e WHERE {{ ?p a <{MEA}DecisionParagraph> ; <{MEA}targetLink> ?l .
                ?l <{MEA}method> ?m ; <{MEA}score> ?s ; <{MEA}evidence> ?e }}"""
    rows = _rows(hub, query)
    assert rows and {m for _, m, _, _ in rows} == {METHOD}
    assert all(0.5 < float(s) <= 1 for _, _, s, _ in rows)


def test_decisions_carry_the_targets_of_their_paragraphs(hub: Hub, dataset: Dataset) -> None:
    hub.harvest(provider(dataset).handle)
    query = f"""SELECT ?d ?t WHERE {{ ?d a <{MEA}Decision> ; <{MEA}paragraph> ?p . ?p <{MEA}aichiTarget> ?t
                FILTER NOT EXISTS {{ ?d <{MEA}aichiTarget> ?t }} }}"""
    assert _rows(hub, query) == []


def test_protected_areas_decision_is_linked_to_target_11(hub: Hub, dataset: Dataset) -> None:
    record = dict(_first_decision(dataset))
    record["content"] = [
        {
            "language": "en",
            "value": "<p>1. URGES Parties to expand and effectively manage their systems of protected areas, including marine protected areas.</p>",
        }
    ]
    dataset.add("Decisions", record)
    hub.harvest(provider(dataset).handle)
    decision = f"<http://hub.test/decision/prov/{record['id']}>"
    rows = _rows(hub, f"SELECT ?t WHERE {{ {decision} <{MEA}aichiTarget> ?t }}")
    assert ("https://w3id.org/mea/aichi/target-11",) in rows


def test_relink_replaces_only_inferred_links(hub: Hub, dataset: Dataset) -> None:
    hub.harvest(provider(dataset).handle)
    count = (
        f"SELECT (COUNT(*) AS ?n) WHERE {{ ?x <{MEA}targetLink> ?l . ?l <{MEA}method> '{METHOD}' }}"
    )
    records = "SELECT (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } FILTER(!STRENDS(STR(?g), '/inferred') && STRSTARTS(STR(?g), 'http://hub.test/graph/prov/')) }"
    before, record_quads = int(_rows(hub, count)[0][0]), _rows(hub, records)
    strict = relink(hub.runtime.store, Enricher(Linker.from_ontology(), 0.9), "http://hub.test/")
    assert int(_rows(hub, count)[0][0]) < before
    assert _rows(hub, records) == record_quads
    assert strict.decisions == len(dataset["Decisions"])
    relink(hub.runtime.store, Enricher(Linker.from_ontology(), 0.5), "http://hub.test/")
    assert int(_rows(hub, count)[0][0]) == before


def test_deleting_a_decision_removes_its_inferred_links(hub: Hub, dataset: Dataset) -> None:
    mock = provider(dataset)
    hub.harvest(mock.handle)
    gone = next(iter(dataset["Decisions"]))
    dataset.delete("Decisions", gone)
    hub.harvest(mock.handle)
    rows = _rows(hub, f"SELECT ?s WHERE {{ ?s ?p ?o FILTER(CONTAINS(STR(?s), '{gone}')) }}")
    assert rows == []


def test_linking_can_be_switched_off() -> None:
    from harvester.service.runtime import Runtime
    from harvester.settings import settings_from_mapping

    from .conftest import small_dataset

    settings = settings_from_mapping(
        {"server": {"base_iri": "http://hub.test/"}, "linking": {"enabled": False}}
    )
    with Runtime.open(settings, in_memory=True) as runtime:
        hub = Hub(runtime)
        hub.harvest(provider(small_dataset()).handle)
        assert _rows(hub, f"SELECT ?l WHERE {{ ?l <{MEA}method> '{METHOD}' }}") == []


# -- the same triples, as lines and as quads ------------------------------------------------------


def _lines(quads: list[ox.Quad]) -> list[str]:
    return [f"{q.subject} {q.predicate} {q.object}" for q in quads]


def test_lines_and_quads_agree(dataset: Dataset) -> None:
    mapping = MappingRegistry.load(MAPPINGS_DIR, "informea-odata").get("Decisions")
    assert mapping is not None
    ctx = MappingContext(
        base_iri="http://hub.test/", source="prov", run_iri="http://hub.test/run/1"
    )
    enricher = Enricher(Linker.from_ontology(), 0.5)
    linked = 0
    for record in dataset["Decisions"].values():
        mapped = mapping.map(record, ctx, url="http://prov.test/d")
        added = enricher.enrich_lines(mapped, ctx.run_iri)
        enriched, links = enricher.enrich(mapped, ctx.run_iri)
        assert _lines(enriched.quads) == _lines(mapped.quads) + added.paragraphs
        assert _lines(links) == added.links
        assert {q.graph_name.value for q in links} <= {inferred_graph(mapped.graph)}
        assert enricher.add_paragraphs(mapped).quads == enriched.quads
        assert enricher.infer(enriched, ctx.run_iri) == links
        linked += bool(links)
    assert linked


@pytest.mark.parametrize("run_iri", [None, "http://hub.test/run/1"])
def test_link_lines_are_the_link_triples(run_iri: str | None) -> None:
    concept = ox.NamedNode(targets.target_iri("aichi", 11))
    evidence = ("protected areas", 'say "x"\n\\ y', "paragraph 2 bis: é")
    pairs = targets.link_triples(concept, METHOD, 0.8765, evidence, run_iri)
    link = "<http://hub.test/d/1/inferred/aichi-11>"
    run = None if run_iri is None else str(ox.NamedNode(run_iri))
    lines = targets.link_lines(link, str(concept), METHOD, 0.8765, evidence, run)
    assert lines == [f"{link} {p} {o}" for p, o in pairs]
