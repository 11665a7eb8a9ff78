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
