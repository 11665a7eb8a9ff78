"""Focal points keep the treaties and roles given through CBD-style ``roles`` (issue 12, item 3):
role treaties count as the focal point's treaties, each role name is a node of its own, and a
later harvest replaces the roles without leftovers."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyoxigraph as ox
import pytest

from harvester.demo import Dataset
from harvester.mapping.engine import MappingContext, MappingRegistry
from harvester.mapping.validate import ShapeChecker
from harvester.paths import MAPPINGS_DIR

from .conftest import HUB, Hub, provider

MEA = "https://w3id.org/mea/ontology#"
TREATY = "https://w3id.org/mea/treaty/"
QUERIES = Path(__file__).resolve().parent.parent / "sparql" / "queries"
PAYLOAD = (
    Path(__file__).resolve().parent / "data" / "payloads" / "informea-odata--Contacts--cbd.json"
)
CONTACTS = MappingRegistry.load(MAPPINGS_DIR, "informea-odata").get("Contacts")
CHECKER = ShapeChecker.from_file()
CTX = MappingContext(base_iri=HUB, source="prov")

# The question of issue 12, as one query: who is the Cartagena primary focal point of Bolivia?
CARTAGENA_PRIMARY_OF_BOLIVIA = """
PREFIX mea: <https://w3id.org/mea/ontology#>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
SELECT ?focalPoint ?name ?role WHERE {
  ?focalPoint a mea:FocalPoint ;
      mea:country <https://w3id.org/mea/country/BOL> ;
      mea:role ?r .
  OPTIONAL { ?focalPoint rdfs:label ?name }
  ?r mea:treaty <https://w3id.org/mea/treaty/cartagena> ; mea:roleName ?role .
  FILTER(CONTAINS(LCASE(?role), "primary"))
}
"""


def _map(record: dict[str, Any]) -> tuple[list[ox.Quad], tuple[str, ...]]:
    assert CONTACTS is not None
    mapped = CONTACTS.map(record, CTX, url="http://p.test/informea.svc/Contacts('x')")
    return mapped.quads, mapped.warnings


def _v(term: object) -> str:
    """The IRI or lexical form of a term."""
    return term.value if isinstance(term, ox.NamedNode | ox.BlankNode | ox.Literal) else str(term)


def _values(quads: list[ox.Quad], subject: str, prop: str) -> set[str]:
    return {
        _v(q.object) for q in quads if _v(q.subject) == subject and q.predicate.value == MEA + prop
    }


def _roles(quads: list[ox.Quad]) -> dict[str, tuple[set[str], set[str], set[str]]]:
    """role node -> (treaties, role names, orders)"""
    nodes = {_v(q.object) for q in quads if q.predicate.value == MEA + "role"}
    return {
        n: (_values(quads, n, "treaty"), _values(quads, n, "roleName"), _values(quads, n, "order"))
        for n in nodes
    }


def _cbd_contact() -> dict[str, Any]:
    payload = json.loads(PAYLOAD.read_text(encoding="utf-8"))
    return dict(payload["d"]["results"][0])


# -- mapping ----------------------------------------------------------------------------------


def test_role_treaties_are_treaties_of_the_focal_point() -> None:
    record = _cbd_contact()  # treaties ["cbd"], roles for cbd and cartagena
    quads, warnings = _map(record)
    focal = f"{HUB}focal-point/prov/{record['id']}"
    assert _values(quads, focal, "treaty") == {TREATY + "cbd", TREATY + "cartagena"}
    # cbd, given by both `treaties` and `roles`, is written once
    assert sum(q.predicate.value == MEA + "treaty" and _v(q.subject) == focal for q in quads) == 2
    assert warnings == ()
    assert CHECKER.check(quads) == []


def test_each_role_name_is_a_node_under_the_focal_point() -> None:
    record = _cbd_contact()
    quads, _ = _map(record)
    focal = f"{HUB}focal-point/prov/{record['id']}"
    roles = _roles(quads)
    assert sorted(roles.values(), key=lambda r: sorted(r[1])) == [
        ({TREATY + "cartagena"}, {"BCH NFP"}, {"2"}),
        ({TREATY + "cbd"}, {"CBD Primary NFP"}, {"1"}),
        ({TREATY + "cartagena"}, {"Cartagena Protocol Primary NFP"}, {"2"}),
    ]
    assert all(node.startswith(focal + "/role/") for node in roles)
    typed = {_v(q.subject) for q in quads if _v(q.object) == MEA + "FocalPointRole"}
    assert typed == set(roles)
    assert {_v(q.graph_name) for q in quads} == {f"{HUB}graph/prov/contacts/{record['id']}"}
    order = next(q.object for q in quads if q.predicate.value == MEA + "order")
    assert isinstance(order, ox.Literal) and order.datatype.value.endswith("#integer")


def test_role_iris_depend_on_treaty_and_name_only() -> None:
    record = _cbd_contact()
    first = set(_roles(_map(record)[0]))
    record["roles"] = list(reversed(record["roles"]))
    record["roles"][0] = {**record["roles"][0], "treaty": "XXVII8a", "order": 7}  # UN code
    assert set(_roles(_map(record)[0])) == first  # same treaty, same names: same nodes
    record["roles"][0] = {**record["roles"][0], "roles": ["BCH NFP", "Cartagena NFP"]}
    assert len(set(_roles(_map(record)[0])) & first) == 2  # the renamed role is a new node


def test_role_treaties_are_read_as_treaties_are() -> None:
    record = {"id": "c", "country": "BO", "treaties": ["CBD"],
              "roles": [{"treaty": " Cartagena Protocol ", "roles": ["BCH NFP"]},
                        {"treaty": "cbd", "roles": []}]}  # fmt: skip
    quads, _ = _map(record)
    assert _values(quads, f"{HUB}focal-point/prov/c", "treaty") == {
        TREATY + "cbd",
        TREATY + "cartagena",
    }
    assert [r[0] for r in _roles(quads).values()] == [{TREATY + "cartagena"}]


def test_a_focal_point_named_only_through_roles_is_valid() -> None:
    record = {"id": "c", "country": "BO", "treaties": [],
              "roles": [{"treaty": "nagoya", "roles": ["Nagoya Protocol Primary NFP"]}]}  # fmt: skip
    quads, _ = _map(record)
    assert _values(quads, f"{HUB}focal-point/prov/c", "treaty") == {TREATY + "nagoya"}
    assert CHECKER.check(quads) == []


def test_a_focal_point_of_no_treaty_at_all_does_not_conform() -> None:
    quads, _ = _map({"id": "c", "country": "BO", "treaties": [], "roles": []})
    assert any("mea:treaty" in problem for problem in CHECKER.check(quads))


def test_odd_role_entries_are_reported_and_the_rest_kept() -> None:
    record = {"id": "c", "country": "BO", "treaties": ["cbd"],
              "roles": ["BCH NFP",                                        # no treaty at all
                        {"treaty": "cartagena", "roles": ["", {"x": 1}, "BCH NFP"]},
                        {"treaty": "cartagena", "roles": ["BCH NFP"]},     # a repeat
                        {"roles": ["SBSTTA NFP"], "order": "first"}]}  # fmt: skip
    quads, warnings = _map(record)
    roles = sorted(_roles(quads).values(), key=lambda r: sorted(r[1]))
    assert roles == [({TREATY + "cartagena"}, {"BCH NFP"}, set()), (set(), {"SBSTTA NFP"}, set())]
    assert _values(quads, f"{HUB}focal-point/prov/c", "treaty") == {
        TREATY + "cbd",
        TREATY + "cartagena",
    }
    assert len(warnings) == 6, warnings  # bare string (x2), empty, structured, repeat, order
    assert any("repeats" in w for w in warnings) and any("order" in w for w in warnings)
    assert CHECKER.check(quads) == []


# -- harvested, queried, re-harvested ---------------------------------------------------------


def _when(year: int) -> datetime:
    return datetime(year, 6, 1, tzinfo=UTC)


def _contact(rid: str, country: str, roles: list[dict[str, Any]], year: int) -> dict[str, Any]:
    return {"id": rid, "country": country, "treaties": ["cbd"], "prefix": "Sra.", "firstName": "Ana",
            "lastName": rid.upper(), "primary": 1, "updated": _when(year), "roles": roles}  # fmt: skip


def _bolivia() -> Dataset:
    data = Dataset()
    data.add("Contacts", _contact("bo1", "BO", [
        {"treaty": "cbd", "roles": ["CBD Primary NFP"], "order": "1"},
        {"treaty": "cartagena", "roles": ["Cartagena Protocol Primary NFP", "BCH NFP"], "order": "2"},
    ], 2020))  # fmt: skip
    data.add("Contacts", _contact("bo2", "BO", [
        {"treaty": "cartagena", "roles": ["BCH NFP"], "order": "1"}], 2020))  # fmt: skip
    data.add("Contacts", _contact("pe1", "PE", [
        {"treaty": "cartagena", "roles": ["Cartagena Protocol Primary NFP"], "order": "1"}], 2020))  # fmt: skip
    return data


def _rows(hub: Hub, query: str) -> list[tuple[str | None, ...]]:
    solutions = hub.runtime.store.query(query)
    assert isinstance(solutions, ox.QuerySolutions)
    return [tuple(None if t is None else _v(t) for t in row) for row in solutions]


def _role_rows(hub: Hub, focal: str) -> set[tuple[str | None, ...]]:
    query = f"""SELECT ?r ?t ?n ?g WHERE {{ GRAPH ?g {{ <{focal}> <{MEA}role> ?r .
                ?r a <{MEA}FocalPointRole> ; <{MEA}roleName> ?n . OPTIONAL {{ ?r <{MEA}treaty> ?t }} }} }}"""
    return set(_rows(hub, query))


@pytest.fixture
def bolivia() -> Dataset:
    return _bolivia()


def test_cartagena_primary_focal_point_of_bolivia_is_one_query(hub: Hub, bolivia: Dataset) -> None:
    report = hub.harvest(provider(bolivia, flavour="jaydata").handle)
    assert report.failures == []
    assert _rows(hub, CARTAGENA_PRIMARY_OF_BOLIVIA) == [
        (f"{HUB}focal-point/prov/bo1", "Sra. Ana BO1", "Cartagena Protocol Primary NFP")
    ]


def test_country_profile_lists_role_treaties_and_roles(hub: Hub, bolivia: Dataset) -> None:
    hub.harvest(provider(bolivia, flavour="jaydata").handle)
    query = next(QUERIES.glob("03-*.rq")).read_text(encoding="utf-8")
    rows = {(kind, treaty, item, title) for kind, treaty, item, title, _ in _rows(hub, query)}
    bo1, bo2 = f"{HUB}focal-point/prov/bo1", f"{HUB}focal-point/prov/bo2"
    assert rows == {
        ("focal point", TREATY + "cbd", bo1, "Sra. Ana BO1"),
        ("focal point", TREATY + "cartagena", bo1, "Sra. Ana BO1"),  # given by its roles only
        ("focal point", TREATY + "cbd", bo2, "Sra. Ana BO2"),
        ("focal point", TREATY + "cartagena", bo2, "Sra. Ana BO2"),
        ("focal point role", TREATY + "cbd", bo1, "CBD Primary NFP"),
        ("focal point role", TREATY + "cartagena", bo1, "Cartagena Protocol Primary NFP"),
        ("focal point role", TREATY + "cartagena", bo1, "BCH NFP"),
        ("focal point role", TREATY + "cartagena", bo2, "BCH NFP"),
    }


def test_a_later_harvest_replaces_the_roles(hub: Hub, bolivia: Dataset) -> None:
    mock = provider(bolivia, flavour="jaydata")
    hub.harvest(mock.handle)
    focal = f"{HUB}focal-point/prov/bo1"
    before = _role_rows(hub, focal)
    assert {n for _, _, n, _ in before} == {
        "CBD Primary NFP",
        "Cartagena Protocol Primary NFP",
        "BCH NFP",
    }
    # the next round: bo1 is no longer Cartagena primary; a Nagoya role instead
    bolivia.add("Contacts", _contact("bo1", "BO", [
        {"treaty": "cartagena", "roles": ["BCH NFP"], "order": "1"},
        {"treaty": "nagoya", "roles": ["Nagoya Protocol Primary NFP"], "order": "2"},
    ], 2021))  # fmt: skip
    report = hub.harvest(mock.handle)
    assert report.counts["updated"] == 1
    after = _role_rows(hub, focal)
    graph = f"{HUB}graph/prov/contacts/bo1"
    assert {(t, n, g) for _, t, n, g in after} == {
        (TREATY + "cartagena", "BCH NFP", graph),
        (TREATY + "nagoya", "Nagoya Protocol Primary NFP", graph),
    }
    # no leftovers: nothing anywhere still describes a role node that is gone
    gone = {r for r, *_ in before} - {r for r, *_ in after}
    assert len(gone) == 2
    for node in gone:
        assert not bool(
            hub.runtime.store.query(f"ASK {{ {{ <{node}> ?p ?o }} UNION {{ ?s ?p <{node}> }} }}")
        )
    treaties = {t for (t,) in _rows(hub, f"SELECT ?t WHERE {{ <{focal}> <{MEA}treaty> ?t }}")}
    assert treaties == {TREATY + t for t in ("cbd", "cartagena", "nagoya")}
    assert _rows(hub, CARTAGENA_PRIMARY_OF_BOLIVIA) == []


def test_the_demo_cbd_provider_shows_roles(hub: Hub) -> None:
    from harvester.demo import demo_dataset

    data = demo_dataset()
    hub.harvest(provider(data, flavour="jaydata").handle, hub.source(entities=["Contacts"]))
    expected = sum(len(r["roles"]) for c in data["Contacts"].values() for r in c["roles"])
    (count,) = _rows(hub, f"SELECT (COUNT(?r) AS ?n) WHERE {{ ?fp <{MEA}role> ?r }}")[0]
    assert expected > 0 and int(count or 0) == expected
