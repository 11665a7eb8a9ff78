from pathlib import Path

import pytest

from harvester.exceptions import ConfigError
from harvester.settings import load_settings, parse_duration, settings_from_mapping

SOURCE = {"name": "cms", "kind": "informea-odata", "url": "https://cms.test/informea.svc"}


@pytest.mark.parametrize(
    ("raw", "seconds"), [("30s", 30), ("6h", 21600), ("1.5m", 90), ("250ms", 0.25), (5, 5)]
)
def test_parse_duration(raw: str | int, seconds: float) -> None:
    assert parse_duration(raw) == seconds


def test_parse_duration_rejects_garbage() -> None:
    with pytest.raises(ConfigError, match="not a duration"):
        parse_duration("soon")


def test_relative_store_path_resolves_against_the_config_file(tmp_path: Path) -> None:
    config = tmp_path / "meahub.toml"
    config.write_text(
        '[store]\npath = "db"\n[[sources]]\nname = "cms"\nkind = "informea-odata"\nurl = "https://c.test/s.svc"\ninterval = "6h"\n'
    )
    settings = load_settings(config)
    assert settings.store.path == tmp_path / "db"
    assert settings.store.state_dir == tmp_path / "state"
    assert settings.sources[0].interval == 21600


def test_admin_token_from_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "m.toml"
    config.write_text("")
    monkeypatch.setenv("MEAHUB_ADMIN_TOKEN", "s3cret")
    assert load_settings(config).server.admin_token == "s3cret"


def test_missing_named_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        load_settings(tmp_path / "nope.toml")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        pytest.param({"sources": [{**SOURCE, "kind": "ftp"}]}, "unknown kind", id="kind"),
        pytest.param({"sources": [{**SOURCE, "url": "file:///etc"}]}, "http", id="url-scheme"),
        pytest.param(
            {"sources": [{**SOURCE, "entities": ["Decision"]}]}, "unknown entities", id="entity"
        ),
        pytest.param({"sources": [SOURCE, SOURCE]}, "unique", id="duplicate"),
        pytest.param({"sources": [{**SOURCE, "cron": "0 3 * *"}]}, "5 fields", id="cron"),
        pytest.param(
            {"sources": [{**SOURCE, "cron": "0 3 * * *", "interval": "1h"}]}, "not both", id="both"
        ),
        pytest.param({"sources": [{**SOURCE, "timeout": "long"}]}, "wrong type", id="type"),
        pytest.param({"sources": [{**SOURCE, "nme": "x"}]}, "unknown key", id="typo"),
        pytest.param({"server": {"base_iri": "http://x.test"}}, "ending in '/'", id="base-iri"),
        pytest.param({"harvest": {"max_delete_share": 2}}, "0 to 1", id="share"),
        pytest.param({"sources": [{**SOURCE, "name": "Bad Name"}]}, "lower-case", id="name"),
    ],
)
def test_invalid_settings(data: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        settings_from_mapping(data)


def test_entity_urls_override_the_service_root() -> None:
    source = {**SOURCE, "entity_urls": {"Contacts": "https://c.test/Contacts.svc/"}}
    config = settings_from_mapping({"sources": [source]}).sources[0]
    assert config.url_for("Contacts") == "https://c.test/Contacts.svc"
    assert config.url_for("Decisions") == "https://cms.test/informea.svc"


def test_endpoint_limits_and_cors() -> None:
    server = settings_from_mapping(
        {"server": {"query_workers": 4, "max_result_rows": 10, "cors_origins": ["https://a.org"]}}
    ).server
    assert (server.query_workers, server.max_result_rows) == (4, 10)
    assert server.cors_origins == ("https://a.org",)
    defaults = settings_from_mapping({}).server
    assert (defaults.query_workers, defaults.max_result_rows) == (2, 100_000)
    assert defaults.cors_origins == ("*",)


@pytest.mark.parametrize(
    "server",
    [{"query_workers": 0}, {"max_result_rows": 0}, {"query_timeout": 0}, {"cors_origins": "*"}],
)
def test_endpoint_limits_are_checked(server: dict[str, object]) -> None:
    with pytest.raises(ConfigError):
        settings_from_mapping({"server": server})


def test_scheduler_and_schedule_keys() -> None:
    from harvester.settings import settings_from_mapping

    source = {"name": "a", "kind": "informea-odata", "url": "http://x/", "cron": "0 3 * * *",
              "timezone": "Europe/Paris", "jitter": "5m", "max_run_seconds": "2h"}  # fmt: skip
    settings = settings_from_mapping(
        {"scheduler": {"history_runs": 5, "retry_base": "10s"}, "sources": [source]}
    )
    config = settings.sources[0]
    assert (config.timezone, config.jitter, config.max_run_seconds) == ("Europe/Paris", 300, 7200)
    assert (settings.scheduler.history_runs, settings.scheduler.retry_base) == (5, 10)
    for bad in ({"timezone": "Mars/Olympus"}, {"interval": "0s", "cron": None}):
        table = {k: v for k, v in {**source, **bad}.items() if v is not None}
        with pytest.raises(ConfigError):
            settings_from_mapping({"sources": [table]})
    with pytest.raises(ConfigError):
        settings_from_mapping({"scheduler": {"history_runs": 0}})


def test_remote_store_engine() -> None:
    remote = {"query_url": "http://e.test/q", "update_url": "http://e.test/u"}
    assert settings_from_mapping({"store": remote}).store.engine == "auto"
    store = settings_from_mapping({"store": {**remote, "engine": "virtuoso"}}).store
    assert store.engine == "virtuoso"
    with pytest.raises(ConfigError, match="store.engine must be one of"):
        settings_from_mapping({"store": {**remote, "engine": "fuseki"}})
    with pytest.raises(ConfigError, match="wrong type"):
        settings_from_mapping({"store": {**remote, "engine": 1}})
