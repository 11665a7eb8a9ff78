"""``[search] enabled = false`` (issue 17): no index is kept with the writes and ``/search``
says why it cannot answer."""

from __future__ import annotations

from pathlib import Path

import pytest
from starlette.testclient import TestClient

from harvester.exceptions import ConfigError
from harvester.search import attach
from harvester.search.evaluate import HUB, fixture_dataset, harvest_fixture
from harvester.service.cli import main
from harvester.service.runtime import Runtime
from harvester.settings import settings_from_mapping
from sparql import create_app


def test_search_turned_off_keeps_no_index_and_search_says_so() -> None:
    settings = settings_from_mapping({"server": {"base_iri": HUB}, "search": {"enabled": False}})
    with Runtime.open(settings, in_memory=True) as runtime:
        harvest_fixture(runtime, fixture_dataset())
        assert runtime.store.publish_hook is None  # type: ignore[attr-defined]
        assert attach(runtime.store) is None
        response = TestClient(create_app(runtime.store, settings.server)).get(
            "/search", params={"q": "protected areas"}
        )
    assert response.status_code == 503
    assert "[search] enabled = false" in response.json()["error"]


def test_search_is_on_by_default_and_the_switch_is_a_boolean() -> None:
    assert settings_from_mapping({}).search.enabled
    with pytest.raises(ConfigError):
        settings_from_mapping({"search": {"enabled": "no"}})
    with pytest.raises(ConfigError):
        settings_from_mapping({"search": {"enable": False}})


def test_commands_refuse_when_search_is_turned_off(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "meahub.toml"
    config.write_text(
        f'[store]\npath = "{tmp_path / "store"}"\nstate_dir = "{tmp_path / "state"}"\n'
        "[search]\nenabled = false\n",
        encoding="utf-8",
    )
    assert main(["search", "--config", str(config), "wetlands"]) != 0
    assert "[search] enabled = false" in capsys.readouterr().err
    assert main(["reindex", "--config", str(config)]) != 0
    assert "[search] enabled = false" in capsys.readouterr().err
    assert not any(p.name.lower().startswith("search") for p in (tmp_path / "store").iterdir())


SERVICE_QUERY = """PREFIX mea: <https://w3id.org/mea/ontology#>
SELECT ?record ?score WHERE {
  SERVICE <urn:meahub:search> { ?record mea:matches "wetlands" ; mea:score ?score . }
}"""


def test_a_search_service_block_is_refused_once_search_is_turned_off(tmp_path: Path) -> None:
    # An index left on disk by an earlier configuration is not read by the query workers
    # after search is turned off: the SERVICE block gets the same 503 as /search.
    store = {"path": str(tmp_path / "store"), "state_dir": str(tmp_path / "state")}
    on = settings_from_mapping({"server": {"base_iri": HUB}, "store": store})
    with Runtime.open(on) as runtime:
        harvest_fixture(runtime, fixture_dataset())
        with TestClient(create_app(runtime.store, on.server)) as client:
            found = client.get("/sparql", params={"query": SERVICE_QUERY})
    assert found.status_code == 200 and found.json()["results"]["bindings"]
    off = settings_from_mapping(
        {"server": {"base_iri": HUB}, "store": store, "search": {"enabled": False}}
    )
    with Runtime.open(off) as runtime, TestClient(create_app(runtime.store, off.server)) as client:
        refused = client.get("/sparql", params={"query": SERVICE_QUERY})
        plain = client.get("/sparql", params={"query": "ASK { ?s ?p ?o }"})
    assert refused.status_code == 503
    assert "[search] enabled = false" in refused.text
    assert plain.status_code == 200
