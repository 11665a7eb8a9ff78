"""No field is dropped unnoticed: every field real providers send is read by a mapping, or
listed in mappings/README.md as deliberately not kept (with the reason).

The fields come from real-shaped payloads (tests/data/payloads/), from the documented field list
of each entity set (tests/data/informea-api-fields.json) and from what the demo providers serve
in each of their wire dialects.
"""

from __future__ import annotations

import json
import re
import string
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

import httpx
import pytest
import rdflib
from rdflib.namespace import OWL, RDF

from harvester import vocab
from harvester.demo import Dataset, ODataProvider
from harvester.demo.cbd_api import CbdDecisionsProvider
from harvester.demo.dataset import NAVIGATIONS
from harvester.demo.provider import FLAVOURS
from harvester.mapping.engine import MappingRegistry, RecordMapping
from harvester.mapping.prepare import PREPARERS
from harvester.paths import MAPPINGS_DIR, ONTOLOGY_DIR

from .conftest import small_dataset

DATA = Path(__file__).resolve().parent / "data"
PAYLOADS = sorted((DATA / "payloads").glob("*--*--*.json"))
KINDS = ("informea-odata", "cbd-decisions")
REGISTRIES = {kind: MappingRegistry.load(MAPPINGS_DIR, kind) for kind in KINDS}
_LANGUAGE_KEY = re.compile(r"^[a-z]{2,3}(?:[-_][a-z0-9]{1,8})*$")
_TEXT_KEYS = frozenset({"language", "lang", "value"})


# -- what the README lists ---------------------------------------------------------------------


@dataclass(frozen=True)
class Listed:
    """One row of a mappings/README.md table: which fields of which entity sets, and why."""

    kind: str
    entity: str
    patterns: tuple[str, ...]
    why: str

    def applies(self, kind: str, entity: str) -> bool:
        return self.kind in ("*", kind) and self.entity in ("*", entity)


def _table(section: str) -> list[list[str]]:
    """The body rows of the first table under the ``### <section>`` heading."""
    text = (MAPPINGS_DIR / "README.md").read_text(encoding="utf-8")
    _, found, rest = text.partition(f"### {section}\n")
    assert found, f"mappings/README.md has no section {section!r}"
    rows = []
    for line in rest.splitlines():
        if line.startswith("#"):
            break
        if line.startswith("|") and not line.startswith(("| kind", "|---")):
            rows.append([cell.strip() for cell in line.strip().strip("|").split("|")])
    return rows


def _listed() -> list[Listed]:
    rows = _table("Not kept") + _table("Read by a preparer")
    listed = [Listed(k, e, tuple(re.findall(r"`([^`]+)`", f)), why) for k, e, f, why in rows]
    assert all(row.patterns and len(row.why) > 20 for row in listed), listed
    return listed


LISTED = _listed()
NOT_HARVESTED = {(kind, entity): why for kind, entity, why in _table("Entity sets not harvested")}


# -- what the mappings read --------------------------------------------------------------------


@dataclass
class Reads:
    """Lower-case paths a mapping reads: exactly, and wholesale (language maps, item lists)."""

    exact: set[str]
    texts: set[str]  # langstring/text fields: their items' language/value, or language keys


def _template_names(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def _reads(mapping: RecordMapping, prefix: str = "") -> Reads:
    reads = Reads(exact={prefix + "id"} if not prefix else set(), texts=set())
    for spec in mapping.fields:
        names = [spec.source, *spec.aliases]
        if spec.type == "template" and spec.template:
            names = sorted(_template_names(spec.template))
        for name in (prefix + n.lower() for n in names):
            reads.exact.add(name)
            if spec.type in ("langstring", "text"):
                reads.texts.add(name)
            if spec.item:
                reads.exact.add(f"{name}.{spec.item.lower()}")
            if spec.nested is not None:
                inner = _reads(spec.nested, name + ".")
                reads.exact |= inner.exact
                reads.texts |= inner.texts
                own = _template_names(spec.nested.iri) - {"record", "index", "key"}
                reads.exact |= {f"{name}.{n.lower()}" for n in own}
    return reads


def _paths(value: Any, prefix: str = "") -> Iterator[str]:
    """The dotted path of every key of a record, through lists and ``{"results": [...]}``."""
    if isinstance(value, list):
        for item in value:
            yield from _paths(item, prefix)
        return
    if not isinstance(value, Mapping):
        return
    if prefix and "results" in value:
        yield from _paths(value["results"], prefix)
        return
    for key, inner in value.items():
        path = f"{prefix}.{key}" if prefix else str(key)
        yield path
        yield from _paths(inner, path)


@dataclass(frozen=True)
class Coverage:
    """Decides for each path of a record whether it is read, or listed as not kept."""

    kind: str
    entity: str
    mapping: RecordMapping

    def uncovered(self, record: Mapping[str, Any]) -> list[str]:
        if self.mapping.prepare:
            record = PREPARERS[self.mapping.prepare](record)
        reads = _reads(self.mapping)
        listed = [r for r in LISTED if r.applies(self.kind, self.entity)]
        missing: list[str] = []
        settled: list[str] = []
        for path in dict.fromkeys(_paths(record)):
            low = path.lower()
            if any(low.startswith(done + ".") for done in settled):
                continue  # below a listed path
            if any(_matches(low, p) for r in listed for p in r.patterns):
                settled.append(low)
            elif not (low in reads.exact or _text_part(low, reads.texts)):
                missing.append(path)
        return missing


def _matches(path: str, pattern: str) -> bool:
    return fnmatchcase(path, pattern.lower())


def _text_part(path: str, texts: set[str]) -> bool:
    """A key of an item of a text field (``language``, ``value``) or of a language map."""
    parent, _, key = path.rpartition(".")
    return parent in texts and (key in _TEXT_KEYS or bool(_LANGUAGE_KEY.match(key)))


def _coverage(kind: str, entity: str) -> Coverage:
    mapping = REGISTRIES[kind].get(entity)
    assert mapping is not None, f"{kind} has no mapping for {entity}"
    return Coverage(kind, entity, mapping)


def _records(payload: Any) -> list[Mapping[str, Any]]:
    """The records of an OData answer (``{"d": {"results": [...]}}``, ``{"d": [...]}``,
    ``{"d": {...}}``) or of a plain JSON object or list."""
    body = payload.get("d", payload) if isinstance(payload, Mapping) else payload
    if isinstance(body, Mapping) and "results" in body:
        body = body["results"]
    return list(body) if isinstance(body, list) else [body]


def _uncovered(kind: str, entity: str, records: Iterable[Mapping[str, Any]]) -> set[str]:
    coverage = _coverage(kind, entity)
    return {path for record in records for path in coverage.uncovered(record)}


# -- the payloads ------------------------------------------------------------------------------


def _payload_id(path: Path) -> str:
    return path.stem


@pytest.mark.parametrize("path", PAYLOADS, ids=_payload_id)
def test_every_field_of_a_real_payload_is_mapped_or_listed(path: Path) -> None:
    kind, entity, _ = path.stem.split("--")
    if (kind, entity) in NOT_HARVESTED:
        return
    records = _records(json.loads(path.read_text(encoding="utf-8")))
    assert records
    assert _uncovered(kind, entity, records) == set()


def _documented() -> list[tuple[str, str, list[str]]]:
    table = json.loads((DATA / "informea-api-fields.json").read_text(encoding="utf-8"))
    return [
        (kind, entity, fields)
        for kind, sets in table.items()
        if kind in KINDS
        for entity, fields in sets.items()
    ]


def _synthetic(fields: Iterable[str]) -> dict[str, Any]:
    """A record holding every documented field (``files.url``: a list of one item with it)."""
    record: dict[str, Any] = {"id": "x"}
    for field in fields:
        head, _, rest = field.partition(".")
        if rest:
            items = record.setdefault(head, [{}])
            items = items if isinstance(items, list) else record.setdefault(head, [{}])
            items[0][rest] = "x"
        else:
            record.setdefault(head, "x")
    return record


@pytest.mark.parametrize(
    ("kind", "entity", "fields"), _documented(), ids=lambda v: v if isinstance(v, str) else ""
)
def test_every_documented_field_is_mapped_or_listed(
    kind: str, entity: str, fields: list[str]
) -> None:
    assert _uncovered(kind, entity, [_synthetic(fields)]) == set()


def test_every_payload_entity_set_is_mapped_or_listed_as_not_harvested() -> None:
    sets = {tuple(p.stem.split("--")[:2]) for p in PAYLOADS}
    for kind, entity in sets:
        assert REGISTRIES[kind].get(entity) or (kind, entity) in NOT_HARVESTED, (kind, entity)
    assert ("informea-odata", "Documents") in NOT_HARVESTED


def _all_paths() -> dict[tuple[str, str], set[str]]:
    """Every lower-case path of every payload, prepared as its mapping reads it."""
    found: dict[tuple[str, str], set[str]] = {}
    for path in PAYLOADS:
        kind, entity, _ = path.stem.split("--")
        mapping = REGISTRIES[kind].get(entity)
        for record in _records(json.loads(path.read_text(encoding="utf-8"))):
            if mapping is not None and mapping.prepare:
                record = PREPARERS[mapping.prepare](record)
            found.setdefault((kind, entity), set()).update(p.lower() for p in _paths(record))
    return found


def test_every_listed_field_occurs_in_some_payload() -> None:
    """No stale rows: each pattern of the README's tables is met in the payloads."""
    found = _all_paths()
    for row in LISTED:
        seen = {p for (k, e), paths in found.items() if row.applies(k, e) for p in paths}
        for pattern in row.patterns:
            assert any(_matches(p, pattern) for p in seen), (row.kind, row.entity, pattern)


# -- the check itself --------------------------------------------------------------------------


def test_an_unknown_field_is_reported_with_its_path() -> None:
    record = {
        "id": "m",
        "treaty": "cms",
        "title": [{"language": "en", "value": "COP", "colour": "red"}],
        "surprise": {"nested": 1},
        "imageCopyright": "© CMS",
    }
    assert set(_coverage("informea-odata", "Meetings").uncovered(record)) == {
        "title.colour",
        "surprise",
        "surprise.nested",
    }


def test_listed_fields_cover_what_lies_below_them() -> None:
    record = {"id": "c", "treaties": [{"value": "cms", "contacts": {"__deferred": {"uri": "u"}}}]}
    assert _coverage("informea-odata", "Contacts").uncovered(record) == []
    record["treaties"][0]["since"] = "2001"  # type: ignore[index]
    assert _coverage("informea-odata", "Contacts").uncovered(record) == ["treaties.since"]


# -- the demo providers ------------------------------------------------------------------------


def _demo_records(data: Dataset, flavour: str, entity: str) -> list[Mapping[str, Any]]:
    base = "http://demo.test/informea.svc"
    mock = ODataProvider(data, base_url=base, flavour=flavour)  # type: ignore[arg-type]
    params = {"$format": "json", "$expand": ",".join(NAVIGATIONS[entity])}
    request = httpx.Request("GET", f"{base}/{entity}", params=params)
    response = mock.handle(request)
    assert response.status_code == 200, response.text
    return _records(response.json())


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_every_field_the_demo_providers_serve_is_mapped_or_listed(flavour: str) -> None:
    data = small_dataset()
    for entity in NAVIGATIONS:
        records = _demo_records(data, flavour, entity)
        assert records, entity
        assert _uncovered("informea-odata", entity, records) == set(), entity


def test_every_field_of_the_demo_decision_trees_is_mapped_or_listed() -> None:
    mock = CbdDecisionsProvider(small_dataset(seed=11), base_url="http://cbd.test")
    listing = mock.handle(httpx.Request("GET", "http://cbd.test/api/v2021/decisions")).json()
    trees = [
        mock.handle(
            httpx.Request("GET", f"http://cbd.test/api/v2021/decisions/{item['code']}/tree")
        ).json()
        for item in listing
    ]
    assert trees
    assert _uncovered("cbd-decisions", "Decisions", listing + trees) == set()


# -- the terms the mappings write --------------------------------------------------------------


def _written(mapping: RecordMapping) -> Iterator[tuple[str, str]]:
    """(IRI, "class" or "property") of every term a mapping writes, nested ones included."""
    yield mapping.cls.value, "class"
    for spec in mapping.fields:
        yield spec.prop.value, "property"
        if spec.nested is not None:
            yield from _written(spec.nested)


def test_every_mea_term_a_mapping_writes_is_declared_in_the_ontology() -> None:
    ontology = rdflib.Graph().parse(ONTOLOGY_DIR / "mea.ttl", format="turtle")
    kinds = {
        "class": {OWL.Class},
        "property": {OWL.ObjectProperty, OWL.DatatypeProperty},
    }
    for registry in REGISTRIES.values():
        for mapping in registry.mappings.values():
            for iri, what in _written(mapping):
                if not iri.startswith(vocab.MEA):
                    continue
                declared = set(ontology.objects(rdflib.URIRef(iri), RDF.type))
                assert declared & kinds[what], f"{iri} ({what}) is not declared in mea.ttl"
