"""The mapping engine over the provider variants: one record, many shapes, the same RDF."""

from __future__ import annotations

from typing import Any

import pyoxigraph as ox
import pytest

from harvester.exceptions import ConfigError, MappingError
from harvester.mapping.engine import MappingContext, MappingRegistry, RecordMapping
from harvester.mapping.validate import ShapeChecker
from harvester.paths import MAPPINGS_DIR

CTX = MappingContext(base_iri="http://hub.test/", source="prov")
REGISTRY = MappingRegistry.load(MAPPINGS_DIR, "informea-odata")
CHECKER = ShapeChecker.from_file()
GUID = "8fc906c1-820c-4a38-ad7c-00879971fee8"


def _map(entity: str, record: dict[str, Any]) -> set[str]:
    mapping = REGISTRY.get(entity)
    assert mapping is not None
    mapped = mapping.map(record, CTX, url=f"http://p.test/informea.svc/{entity}('x')")
    assert CHECKER.check(mapped.quads) == []
    return {f"{q.subject} {q.predicate} {q.object}" for q in mapped.quads}


def _decision_olingo() -> dict[str, Any]:
    return {
        "__metadata": {"type": "informea.Decision"},
        "id": GUID,
        "number": "SC-3/7",
        "treaty": "stockholm",
        "type": "Decision",
        "published": "/Date(1206271611000)/",
        "title": {"results": [{"Id": "t1", "language": "en", "value": "Releases from wastes"}]},
        "files": {"results": [{"Id": "f", "url": "http://x.test/a.pdf", "filename": "a.pdf"}]},
        "keywords": {"results": [{"namespace": "https://www.informea.org/terms/", "term": "POPs"}]},
    }


def _decision_brs() -> dict[str, Any]:
    return {
        "protocolVersion": 1,
        "Id": GUID,
        "number": "SC-3/7",
        "treaty": "Stockholm",
        "type": "decision",
        "published": "\\/Date(1206271611000)\\/",
        "title": {
            "results": [
                {"id": "t1", "documentId": GUID, "language": "EN", "value": "Releases from wastes"}
            ]
        },
        "files": {"results": [{"url": "http://x.test/a.pdf", "fileName": "a.pdf"}]},
        "keywords": [{"term": "POPs"}],
        "brs_Title": "extra fields are ignored",
    }


def _decision_jaydata() -> dict[str, Any]:
    return {
        "id": GUID,
        "number": " SC-3/7 ",
        "treaty": "STOCKHOLM",
        "type": "decision",
        "published": "2008-03-23T11:26:51Z",
        "title": [
            {
                "__metadata": {"type": "LocalizableString"},
                "language": "en",
                "value": "Releases from wastes",
            }
        ],
        "files": [{"url": "http://x.test/a.pdf", "filename": "a.pdf"}],
        "keywords": [{"term": "POPs"}],
    }


def test_decision_flavours_map_to_the_same_graph() -> None:
    olingo = _map("Decisions", _decision_olingo())
    assert _map("Decisions", _decision_brs()) == olingo
    assert _map("Decisions", _decision_jaydata()) == olingo
    assert (
        "<http://hub.test/decision/prov/8fc906c1-820c-4a38-ad7c-00879971fee8> <https://w3id.org/mea/ontology#treaty> <https://w3id.org/mea/treaty/stockholm>"
        in olingo
    )


@pytest.mark.parametrize(
    "treaties",
    [
        pytest.param(
            {"results": [{"id": "c-cms", "value": "cms"}, {"value": "cites"}]}, id="olingo"
        ),
        pytest.param([{"__metadata": {}, "value": "cms"}, {"value": "cites"}], id="wcf"),
        pytest.param(["cms", "cites"], id="jaydata-strings"),
    ],
)
@pytest.mark.parametrize("phone_key", ["phone", "phoneNumber"])
def test_contact_variants(treaties: object, phone_key: str) -> None:
    record = {
        "id": "c1",
        "country": "al",
        "firstName": "Jo",
        "lastName": "Doe",
        "prefix": "Ms.",
        "treaties": treaties,
        phone_key: "+355 4",
        "primary": 1,
        "email": "jo@example.org",
    }
    triples = _map("Contacts", record)
    focal = "<http://hub.test/focal-point/prov/c1>"
    assert (
        f"{focal} <https://w3id.org/mea/ontology#country> <https://w3id.org/mea/country/ALB>"
        in triples
    )
    assert f'{focal} <http://www.w3.org/2006/vcard/ns#hasTelephone> "+355 4"' in triples
    assert f'{focal} <http://www.w3.org/2000/01/rdf-schema#label> "Ms. Jo Doe"' in triples
    assert sum("ontology#treaty>" in t for t in triples) == 2


@pytest.mark.parametrize("country", ["AL", "al", "ALB", "alb", " Alb "])
def test_country_codes_in_any_form(country: str) -> None:
    record = {
        "id": "r",
        "treaty": "ramsar",
        "country": country,
        "title": [{"language": "en", "value": "R"}],
    }
    assert any("/country/ALB>" in t for t in _map("CountryReports", record))


@pytest.mark.parametrize(
    ("record", "message"),
    [
        pytest.param({"number": "1", "treaty": "cms", "title": "t"}, "no id", id="no-id"),
        pytest.param({"id": "x", "treaty": "cms", "title": "t"}, "number", id="no-number"),
        pytest.param(
            {"id": "x", "number": "1", "treaty": "cms", "title": 42}, "title", id="title-number"
        ),
        pytest.param(
            {"id": "x", "number": "1", "treaty": "cms", "title": "t", "published": "not-a-date"},
            "published",
            id="bad-date",
        ),
        pytest.param(
            {"id": "x", "number": "1", "treaty": {"a": 1}, "title": "t"},
            "treaty",
            id="treaty-object",
        ),
    ],
)
def test_malformed_decisions_raise(record: dict[str, Any], message: str) -> None:
    mapping = REGISTRY.get("Decisions")
    assert mapping is not None
    with pytest.raises(MappingError, match=message):
        mapping.map(record, CTX, url="http://p.test/x")


def test_bad_optional_values_are_dropped_with_a_warning() -> None:
    mapping = REGISTRY.get("Meetings")
    assert mapping is not None
    record = {"id": "m", "treaty": "cms", "title": "COP", "country": "ZZZ", "latitude": "north"}
    mapped = mapping.map(record, CTX, url="http://p.test/x")
    assert len(mapped.warnings) == 2
    assert not any("country" in str(q.predicate) for q in mapped.quads)


def test_html_and_quotes_stay_literal_text() -> None:
    hostile = '<img src=x onerror="alert(1)"> "quoted" \\ }'
    record = {
        "id": "d",
        "number": "1",
        "treaty": "cbd",
        "title": [{"language": "en", "value": hostile}],
    }
    mapping = REGISTRY.get("Decisions")
    assert mapping is not None
    mapped = mapping.map(record, CTX, url="http://p.test/x")
    titles = [q.object for q in mapped.quads if q.predicate.value.endswith("/title")]
    assert titles == [ox.Literal(hostile, language="en")]


def test_same_record_same_iris_across_runs() -> None:
    first = _map("Decisions", _decision_olingo())
    assert _map("Decisions", _decision_olingo()) == first


def test_treaty_records_use_the_shared_treaty_iri() -> None:
    triples = _map("Treaties", {"id": "CBD", "titleEnglish": "Convention on Biological Diversity"})
    assert any(t.startswith("<https://w3id.org/mea/treaty/cbd> ") for t in triples)


def test_unreadable_mapping_file_is_a_config_error(tmp_path: Any) -> None:
    bad = tmp_path / "x.toml"
    bad.write_text(
        'entity = "X"\nclass = "mea:X"\n[[fields]]\nfrom = "a"\nto = "mea:a"\ntype = "nope"\n'
    )
    with pytest.raises(ConfigError, match="unknown type"):
        RecordMapping.load(bad)


def test_iri_templates_take_only_the_fields_they_name(tmp_path: Any) -> None:
    path = tmp_path / "x.toml"
    path.write_text(
        'entity = "X"\nclass = "mea:X"\niri = "{base}x/{source}/{id_slug}/{id}/{treaty}"\n'
        '[[fields]]\nfrom = "parts"\nto = "mea:part"\ntype = "nested"\nclass = "mea:Part"\n'
        'iri = "{record}/part/{index}/{slug}/{n}"\n'
        'fields = [{ from = "slug", to = "mea:text" }]\n'
    )
    mapping = RecordMapping.load(path)
    record = {"id": "CBD/COP 1", "parts": [{"slug": "a b/é", "n": 7, "x": ["not", "scalar"]}]}
    mapped = mapping.map(record, CTX, url="http://p.test/x")
    resource = (
        "http://hub.test/x/prov/cbd-cop-1/CBD%2FCOP%201/https://w3id.org/mea/treaty/cbd%2Fcop-1"
    )
    assert mapped.iri == resource
    assert f"<{resource}/part/1/a%20b%2F%C3%A9/7>" in {str(q.subject) for q in mapped.quads}
    record["parts"] = [{"slug": "s"}]  # no "n": the template cannot be filled
    with pytest.raises(KeyError, match="'n'"):
        mapping.map(record, CTX, url="http://p.test/x")
