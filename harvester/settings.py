"""The only reader of configuration: a TOML file (``meahub.toml`` or ``$MEAHUB_CONFIG``).

Everything else receives the frozen :class:`Settings` (or a part of it) as an argument.

Example::

    [store]
    path = "data/store"

    [server]
    base_iri = "http://localhost:8000/"

    [[sources]]
    name = "ramsar"
    kind = "informea-odata"
    url = "https://example.org/informea.svc"
    entities = ["Decisions", "Meetings"]
    interval = "6h"
"""

from __future__ import annotations

import dataclasses
import difflib
import os
import re
import tomllib
import zoneinfo
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .exceptions import ConfigError

__all__ = [
    "DEFAULT_BASE_IRI",
    "DEFAULT_CONFIG_FILE",
    "FeedSettings",
    "HarvestSettings",
    "LinkingSettings",
    "SchedulerSettings",
    "SearchSettings",
    "ServerSettings",
    "Settings",
    "SourceConfig",
    "StoreSettings",
    "load_settings",
    "no_sources_message",
    "parse_duration",
    "settings_from_mapping",
]

DEFAULT_CONFIG_FILE = "meahub.toml"
DEFAULT_BASE_IRI = "http://localhost:8000/"
DEFAULT_DATASET_TITLE = "MEA Hub"
DEFAULT_PUBLISHER = "MEA Hub"
SOURCE_KINDS = ("informea-odata", "cbd-decisions", "ldes")
ODATA_ENTITIES = (
    "Treaties",
    "Meetings",
    "Decisions",
    "Contacts",
    "CountryReports",
    "NationalPlans",
    "Sites",
)
_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
_DURATION_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, None: 1.0}


def parse_duration(value: str | int | float) -> float:
    """Seconds in ``"30s"``, ``"6h"``, ``"1.5m"``, ``"250ms"`` or a bare number of seconds.

    :raises ConfigError: for anything else.
    """
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    match = _DURATION_RE.match(str(value))
    if not match:
        raise ConfigError(f"not a duration: {value!r} (use e.g. '30s', '15m', '6h', '1d')")
    return float(match.group(1)) * _UNIT_SECONDS[match.group(2)]


@dataclass(frozen=True, kw_only=True)
class StoreSettings:
    """Where the embedded store lives (``path``), or a remote SPARQL 1.1 store's endpoints
    (``query_url``, ``update_url``, optional ``graph_store_url``; see ``docs/scaling.md``).

    :param timeout: seconds per request to a remote store (queries of ``/sparql`` use
        ``[server].query_timeout`` instead).
    :param auth: ``"basic"`` or ``"digest"`` (Virtuoso's ``/sparql-auth``), with
        ``username``/``password`` (or ``$MEAHUB_STORE_PASSWORD``).
    :param lease_seconds: how long a writer's lease lasts unless renewed (renewed every third).
    :param batch_quads: quads per SPARQL Update request of a large run on a remote store.
    :param engine: the remote engine, for the quirks MEA Hub works around (``docs/scaling.md``):
        ``"virtuoso"``, ``"generic"`` (plain SPARQL 1.1), or ``"auto"``: Virtuoso when its
        answers carry a ``Server: Virtuoso/...`` header, generic otherwise.
    """

    path: Path | None = Path("data/store")
    state_dir: Path = Path("data/state")
    query_url: str | None = None
    update_url: str | None = None
    graph_store_url: str | None = None
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    auth: str = "basic"
    timeout: float = 60.0
    lease_seconds: float = 120.0
    batch_quads: int = 10_000
    engine: str = "auto"

    @property
    def is_remote(self) -> bool:
        return self.query_url is not None


@dataclass(frozen=True, kw_only=True)
class ServerSettings:
    host: str = "127.0.0.1"
    port: int = 8000
    base_iri: str = DEFAULT_BASE_IRI
    query_timeout: float = 30.0
    max_query_bytes: int = 1_000_000
    service_allowlist: tuple[str, ...] = ()
    admin_token: str | None = None
    #: The dataset description (``/.well-known/void``): its title, publisher and licence IRI.
    #: No licence is claimed unless configured: the data are the sources' own.
    title: str = DEFAULT_DATASET_TITLE
    publisher: str = DEFAULT_PUBLISHER
    license: str | None = None
    #: Where ``/dumps/latest.*`` are written; None means ``<store path parent>/dumps``.
    dumps_dir: Path | None = None
    #: worker processes that evaluate queries of an on-disk store (killed on timeout)
    query_workers: int = 2
    #: a query a worker answered in less than this many milliseconds is answered again in the
    #: endpoint process while the store generation is the same (0: always in a worker)
    inline_query_ms: float = 5.0
    #: SELECT rows (CONSTRUCT/DESCRIBE triples) past which an answer is cut, with a header
    max_result_rows: int = 100_000
    #: origins allowed by CORS (``"*"``: any); empty: no CORS headers at all
    cors_origins: tuple[str, ...] = ("*",)


@dataclass(frozen=True, kw_only=True)
class LinkingSettings:
    """Inferred Aichi target links: on or off, and the score a link must pass."""

    enabled: bool = True
    threshold: float = 0.5


@dataclass(frozen=True, kw_only=True)
class SearchSettings:
    """``[search]``: the full-text index (issue 17, docs/search.md) kept with every write, or
    not (``enabled = false``: no index is kept, ``/search`` answers 503)."""

    enabled: bool = True


@dataclass(frozen=True, kw_only=True)
class FeedSettings:
    """``[feed]``: the change feed at ``/ldes`` (issue 15, docs/feed.md).

    :param page_size: members per page (100-500), fixed by the first commit of a store.
    :param retention_days: members older than this many days are dropped (whole pages);
        ``retention = "365d"``.
    :param retention_count: or only the last this many members are kept; ``retention = 100000``.
    """

    enabled: bool = True
    page_size: int = 250
    retention_days: float | None = 365.0
    retention_count: int | None = None


@dataclass(frozen=True, kw_only=True)
class HarvestSettings:
    """``[harvest]``.

    :param max_delete_share: the mass-deletion guard (the largest share of a source's records
        one run may delete without ``--full`` or ``--allow-mass-delete``).
    :param flag_after_withheld_runs: a source whose runs withheld deletions (an incomplete
        listing, the mass-deletion guard...) this many times in a row is flagged.
    """

    user_agent: str = "MEA-Hub/0.1 (+https://w3id.org/mea; InforMEA-style harvester)"
    max_delete_share: float = 0.2
    flag_after_withheld_runs: int = 3
    #: worker processes for mapping and linking in large runs; None: one per core, at most
    #: four (0 turns them off; small runs never start them)
    workers: int | None = None
    #: sources ``meahub harvest`` fetches at the same time (each from its own host, at its own
    #: rate limit); their commits land one after the other (a source's batches wait for the
    #: commit before it to be sealed, so one bulk load runs at a time). 1: one after another,
    #: each commit overlapping the next source's fetch. Default 2: a source's listing, which
    #: waits on its provider, overlaps another's; measured with the e2e bench (``python -m
    #: bench.harvest_e2e --no-serve``, 2 cores, same machine, back to back): first harvest
    #: 65.8 s with 2 against 67.4-75.7 s with 1, the no-change harvest 5.8 s against 7.3-9.0 s,
    #: peak RSS of the tree 667 MB against 639 MB. (Before the search capture went to disk, 3
    #: took 47.8 s against 34.6 s for 1 at a quarter of the scale, and 2 peaked at 1,027 MB.)
    parallel_sources: int = 2


@dataclass(frozen=True, kw_only=True)
class SchedulerSettings:
    """Scheduled harvests in ``meahub serve`` (``[scheduler]``).

    :param jobstore_url: SQLAlchemy URL of the persistent job store; None means SQLite in the
        state directory (``jobs.sqlite``).
    :param history_runs: run descriptions kept in the store per source (older ones dropped).
    :param flag_after_failures: a source failing this many runs in a row is flagged.
    :param retry_base: first retry delay after a failed scheduled run (doubles per failure,
        capped at half the source's interval).
    """

    jobstore_url: str | None = None
    history_runs: int = 50
    flag_after_failures: int = 3
    retry_base: float = 30.0


@dataclass(frozen=True, kw_only=True)
class SourceConfig:
    """One harvested source, validated at start-up.

    :param entities: the entity sets to harvest, in order; empty means all that the kind knows.
    :param entity_urls: per-entity service roots, for providers with one service per entity set
        (the Basel/Rotterdam/Stockholm WCF services).
    :param mode: ``"full"`` (re-list everything, compare hashes) or ``"incremental"`` (ask for
        records updated since the watermark, then probe unseen ids for deletions).
    """

    name: str
    kind: str
    url: str
    entities: tuple[str, ...] = ()
    entity_urls: Mapping[str, str] = field(default_factory=dict)
    cron: str | None = None
    interval: float | None = None
    #: the time zone of ``cron`` (an IANA name)
    timezone: str = "UTC"
    #: seconds a scheduled run may start late, at random (spreads load); None: none
    jitter: float | None = None
    #: a run still going after this many seconds is cancelled at the next record or page
    max_run_seconds: float = 3600.0
    timeout: float = 30.0
    connect_timeout: float = 10.0
    retries: int = 4
    backoff: float = 0.5
    max_backoff: float = 60.0
    rate: float = 20.0
    concurrency: int = 4
    page_size: int = 100
    max_pages: int = 100_000
    mode: str = "full"
    overlap: float = 3600.0
    max_delete_share: float | None = None
    #: overrides ``[harvest] flag_after_withheld_runs`` for this source
    flag_after_withheld_runs: int | None = None

    def entity_sets(self) -> tuple[str, ...]:
        return self.entities or ODATA_ENTITIES

    def url_for(self, entity: str) -> str:
        return self.entity_urls.get(entity, self.url).rstrip("/")


@dataclass(frozen=True, kw_only=True)
class Settings:
    store: StoreSettings = field(default_factory=StoreSettings)
    server: ServerSettings = field(default_factory=ServerSettings)
    harvest: HarvestSettings = field(default_factory=HarvestSettings)
    linking: LinkingSettings = field(default_factory=LinkingSettings)
    scheduler: SchedulerSettings = field(default_factory=SchedulerSettings)
    feed: FeedSettings = field(default_factory=FeedSettings)
    search: SearchSettings = field(default_factory=SearchSettings)
    sources: tuple[SourceConfig, ...] = ()
    config_path: Path | None = None

    def source(self, name: str) -> SourceConfig:
        for source in self.sources:
            if source.name == name:
                return source
        known = ", ".join(s.name for s in self.sources) or "none configured"
        raise ConfigError(f"unknown source {name!r} (known: {known})")


def load_settings(path: str | os.PathLike[str] | None = None) -> Settings:
    """Read and validate the configuration file.

    The file is ``path``, else ``$MEAHUB_CONFIG``, else ``meahub.toml`` in the working directory.
    A missing default file gives the defaults (no sources); a missing named file is an error.
    ``$MEAHUB_ADMIN_TOKEN`` overrides ``server.admin_token``; ``$MEAHUB_STORE_PASSWORD``
    overrides ``store.password``.

    :raises ConfigError: when the file is unreadable or invalid.
    """
    env = os.environ.get("MEAHUB_CONFIG")
    named = path or env
    file = Path(named or DEFAULT_CONFIG_FILE)
    data: dict[str, Any] = {}
    if file.exists():
        try:
            data = tomllib.loads(file.read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"cannot read config {file}: {exc}") from exc
    elif named:
        given_by = "--config" if path else "$MEAHUB_CONFIG"
        raise ConfigError(f"config file not found: {file} (given by {given_by})")
    settings = settings_from_mapping(
        data, base_dir=file.resolve().parent if file.exists() else None
    )
    token = os.environ.get("MEAHUB_ADMIN_TOKEN")
    server = settings.server
    if token:
        server = ServerSettings(**{**server.__dict__, "admin_token": token})
    store = settings.store
    password = os.environ.get("MEAHUB_STORE_PASSWORD")
    if password:
        store = dataclasses.replace(store, password=password)
    return dataclasses.replace(
        settings, server=server, store=store, config_path=file if file.exists() else None
    )


def no_sources_message(settings: Settings) -> str:
    """Why there is nothing to harvest: the file read has no ``[[sources]]``, or no file was
    found (then which ones were looked for), and how to start."""
    start = (
        "see 'Harvesting your own sources' in README.md for an example, "
        "or run 'meahub demo' to try the bundled demo providers"
    )
    if settings.config_path is not None:
        return f"no [[sources]] in {settings.config_path.resolve()}; add one: {start}"
    default = Path(DEFAULT_CONFIG_FILE).resolve()
    return (
        "no configuration file found, so no source to harvest: looked for --config FILE "
        f"(not given), then $MEAHUB_CONFIG (not set), then {DEFAULT_CONFIG_FILE} in the working "
        f"directory ({default}: does not exist). Write {DEFAULT_CONFIG_FILE} with a "
        f"[[sources]] table: {start}"
    )


def settings_from_mapping(data: Mapping[str, Any], *, base_dir: Path | None = None) -> Settings:
    """Validate a parsed configuration; relative store paths resolve against ``base_dir``.

    :raises ConfigError: on unknown keys, wrong types or inconsistent values.
    """
    _check_keys(
        data,
        {"store", "server", "harvest", "linking", "scheduler", "feed", "search", "sources"},
        "top level",
    )
    sources = tuple(_source(s, i) for i, s in enumerate(data.get("sources", [])))
    names = [s.name for s in sources]
    if len(set(names)) != len(names):
        raise ConfigError(f"source names must be unique, got {names}")
    return Settings(
        store=_store(data.get("store", {}), base_dir),
        server=_server(data.get("server", {}), base_dir),
        harvest=_harvest(data.get("harvest", {})),
        linking=_linking(data.get("linking", {})),
        scheduler=_scheduler(data.get("scheduler", {})),
        feed=_feed(data.get("feed", {})),
        search=_search(data.get("search", {})),
        sources=sources,
    )


def _check_keys(table: Mapping[str, Any], allowed: set[str], where: str) -> None:
    if not isinstance(table, Mapping):
        raise ConfigError(f"{where} must be a table")
    unknown = sorted(set(table) - allowed)
    if unknown:
        raise ConfigError(f"unknown key(s) in {where}: {_with_suggestions(unknown, allowed)}")


def _with_suggestions(unknown: list[str], allowed: set[str]) -> str:
    """``intervl (did you mean interval?), foo``."""
    parts = []
    for key in unknown:
        close = difflib.get_close_matches(key, sorted(allowed), n=1)
        parts.append(f"{key} (did you mean {close[0]}?)" if close else key)
    return ", ".join(parts)


def _typed(table: Mapping[str, Any], key: str, kind: type | tuple[type, ...], where: str) -> Any:
    value = table[key]
    if not isinstance(value, kind) or isinstance(value, bool) and bool not in _as_tuple(kind):
        raise ConfigError(f"{where}.{key} has the wrong type: {value!r}")
    return value


def _as_tuple(kind: type | tuple[type, ...]) -> tuple[type, ...]:
    return kind if isinstance(kind, tuple) else (kind,)


def _resolve(path: str, base_dir: Path | None) -> Path:
    candidate = Path(path).expanduser()
    return candidate if candidate.is_absolute() or base_dir is None else base_dir / candidate


_REMOTE_KEYS: dict[str, type | tuple[type, ...]] = {
    "query_url": str,
    "update_url": str,
    "graph_store_url": str,
    "username": str,
    "password": str,
    "auth": str,
    "timeout": (int, float),
    "lease_seconds": (int, float),
    "batch_quads": int,
    "engine": str,
}
#: ``[store] engine`` values (``remote_store`` works around the named engines' quirks)
STORE_ENGINES = ("auto", "generic", "virtuoso")


def _store(table: Mapping[str, Any], base_dir: Path | None) -> StoreSettings:
    _check_keys(table, {"path", "state_dir", *_REMOTE_KEYS}, "[store]")
    remote = _remote_store(table)
    if remote and "path" in table:
        raise ConfigError("[store]: give path (embedded) or query_url (remote), not both")
    path = _resolve(str(table.get("path", "data/store")), base_dir)
    state = table.get("state_dir")
    state_dir = _resolve(str(state), base_dir) if state else path.parent / "state"
    return StoreSettings(path=None if remote else path, state_dir=state_dir, **remote)


def _remote_store(table: Mapping[str, Any]) -> dict[str, Any]:
    """The remote store's keys, checked; empty without ``query_url``."""
    values = {k: _typed(table, k, t, "store") for k, t in _REMOTE_KEYS.items() if k in table}
    if not values:
        return {}
    if "query_url" not in values or "update_url" not in values:
        raise ConfigError("[store]: a remote store needs both query_url and update_url")
    for key in ("query_url", "update_url", "graph_store_url"):
        if key in values and not values[key].startswith(("http://", "https://")):
            raise ConfigError(f"store.{key} must be an http(s) URL: {values[key]!r}")
    if values.get("auth", "basic") not in ("basic", "digest"):
        raise ConfigError(f"store.auth must be 'basic' or 'digest', got {values['auth']!r}")
    if values.get("engine", "auto") not in STORE_ENGINES:
        choices = ", ".join(repr(e) for e in STORE_ENGINES)
        raise ConfigError(f"store.engine must be one of {choices}, got {values['engine']!r}")
    for key in ("timeout", "lease_seconds", "batch_quads"):
        if key in values and values[key] <= 0:
            raise ConfigError(f"store.{key} must be positive, got {values[key]}")
    for key in ("timeout", "lease_seconds"):
        if key in values:
            values[key] = float(values[key])
    return values


def _server(table: Mapping[str, Any], base_dir: Path | None = None) -> ServerSettings:
    fields: dict[str, type | tuple[type, ...]] = {
        "host": str,
        "port": int,
        "base_iri": str,
        "query_timeout": (int, float),
        "max_query_bytes": int,
        "service_allowlist": list,
        "admin_token": str,
        "query_workers": int,
        "inline_query_ms": (int, float),
        "max_result_rows": int,
        "cors_origins": list,
        "title": str,
        "publisher": str,
        "license": str,
        "dumps_dir": str,
    }
    _check_keys(table, set(fields), "[server]")
    values = {
        key: _typed(table, key, kind, "server") for key, kind in fields.items() if key in table
    }
    for key in ("service_allowlist", "cors_origins"):
        if key in values:
            values[key] = tuple(str(u) for u in values[key])
    for key in ("query_workers", "max_result_rows", "max_query_bytes"):
        if key in values and values[key] < 1:
            raise ConfigError(f"server.{key} must be at least 1, got {values[key]}")
    if "inline_query_ms" in values:
        values["inline_query_ms"] = float(values["inline_query_ms"])
        if values["inline_query_ms"] < 0:
            raise ConfigError("server.inline_query_ms must be 0 (off) or a positive number")
    if "query_timeout" in values:
        values["query_timeout"] = float(values["query_timeout"])
        if values["query_timeout"] <= 0:
            raise ConfigError("server.query_timeout must be a positive number of seconds")
    if "dumps_dir" in values:
        values["dumps_dir"] = _resolve(values["dumps_dir"], base_dir)
    base = values.get("base_iri", DEFAULT_BASE_IRI)
    if not re.match(r"^https?://[^\s<>\"{}|\\^`]+/$", base):
        raise ConfigError(f"server.base_iri must be an http(s) IRI ending in '/': {base!r}")
    return ServerSettings(**values)


def _harvest(table: Mapping[str, Any]) -> HarvestSettings:
    keys = {"user_agent", "max_delete_share", "workers", "flag_after_withheld_runs"}
    _check_keys(table, keys | {"parallel_sources"}, "[harvest]")
    values: dict[str, Any] = {}
    if "parallel_sources" in table:
        values["parallel_sources"] = _at_least_one(table, "parallel_sources", "harvest")
    if "flag_after_withheld_runs" in table:
        values["flag_after_withheld_runs"] = _at_least_one(
            table, "flag_after_withheld_runs", "harvest"
        )
    if "workers" in table:
        values["workers"] = _positive(_typed(table, "workers", int, "harvest"), "harvest.workers")
    if "user_agent" in table:
        values["user_agent"] = _typed(table, "user_agent", str, "harvest")
    if "max_delete_share" in table:
        values["max_delete_share"] = _share(table["max_delete_share"], "harvest.max_delete_share")
    return HarvestSettings(**values)


def _linking(table: Mapping[str, Any]) -> LinkingSettings:
    _check_keys(table, {"enabled", "threshold"}, "[linking]")
    values: dict[str, Any] = {}
    if "enabled" in table:
        values["enabled"] = _typed(table, "enabled", bool, "linking")
    if "threshold" in table:
        values["threshold"] = _share(table["threshold"], "linking.threshold")
    return LinkingSettings(**values)


def _search(table: Mapping[str, Any]) -> SearchSettings:
    _check_keys(table, {"enabled"}, "[search]")
    if "enabled" in table:
        return SearchSettings(enabled=_typed(table, "enabled", bool, "search"))
    return SearchSettings()


def _feed(table: Mapping[str, Any]) -> FeedSettings:
    _check_keys(table, {"enabled", "page_size", "retention"}, "[feed]")
    values: dict[str, Any] = {}
    if "enabled" in table:
        values["enabled"] = _typed(table, "enabled", bool, "feed")
    if "page_size" in table:
        size = _typed(table, "page_size", int, "feed")
        if not 100 <= size <= 500:
            raise ConfigError(f"feed.page_size must be 100 to 500 members, got {size}")
        values["page_size"] = size
    if "retention" in table:
        values.update(_retention(table["retention"]))
    return FeedSettings(**values)


def _retention(value: Any) -> dict[str, Any]:
    """``"365d"`` (days), a member count, or ``"none"`` (keep everything)."""
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return {"retention_days": None, "retention_count": value}
    if isinstance(value, str) and value.strip().lower() == "none":
        return {"retention_days": None, "retention_count": None}
    if isinstance(value, str) and value.strip().endswith("d"):
        try:
            days = float(value.strip()[:-1])
        except ValueError:
            days = 0.0
        if days > 0:
            return {"retention_days": days, "retention_count": None}
    raise ConfigError(
        f'feed.retention must be a number of days ("365d"), a member count or "none", got {value!r}'
    )


def _scheduler(table: Mapping[str, Any]) -> SchedulerSettings:
    keys = {"jobstore_url", "history_runs", "flag_after_failures", "retry_base"}
    _check_keys(table, keys, "[scheduler]")
    values: dict[str, Any] = {}
    if "jobstore_url" in table:
        values["jobstore_url"] = _typed(table, "jobstore_url", str, "scheduler")
    for key in ("history_runs", "flag_after_failures"):
        if key in table:
            values[key] = _typed(table, key, int, "scheduler")
            if values[key] < 1:
                raise ConfigError(f"scheduler.{key} must be at least 1, got {values[key]}")
    if "retry_base" in table:
        values["retry_base"] = parse_duration(table["retry_base"])
    return SchedulerSettings(**values)


def _at_least_one(table: Mapping[str, Any], key: str, where: str) -> int:
    value: int = _typed(table, key, int, where)
    if value < 1:
        raise ConfigError(f"{where}.{key} must be at least 1, got {value}")
    return value


def _share(value: Any, where: str) -> float:
    if not isinstance(value, int | float) or isinstance(value, bool) or not 0 <= value <= 1:
        raise ConfigError(f"{where} must be a number from 0 to 1, got {value!r}")
    return float(value)


_SOURCE_SCALARS: dict[str, type | tuple[type, ...]] = {
    "timeout": (int, float),
    "connect_timeout": (int, float),
    "retries": int,
    "backoff": (int, float),
    "max_backoff": (int, float),
    "rate": (int, float),
    "concurrency": int,
    "page_size": int,
    "max_pages": int,
}


def _source(table: Mapping[str, Any], index: int) -> SourceConfig:
    where = f"[[sources]] #{index + 1}"
    allowed = {"name", "kind", "url", "entities", "entity_urls", "cron", "interval", "mode"}
    allowed |= {"overlap", "max_delete_share", "timezone", "jitter", "max_run_seconds"}
    allowed |= {"flag_after_withheld_runs"}
    allowed |= set(_SOURCE_SCALARS)
    _check_keys(table, allowed, where)
    for key in ("name", "kind", "url"):
        if key not in table:
            raise ConfigError(f"{where} needs '{key}'")
    name = _typed(table, "name", str, where)
    if not _NAME_RE.match(name):
        raise ConfigError(f"{where}: name {name!r} must be lower-case letters, digits, - or _")
    return SourceConfig(name=name, **_source_values(table, f"[[sources]] {name}"))


def _source_values(table: Mapping[str, Any], where: str) -> dict[str, Any]:
    kind = _typed(table, "kind", str, where)
    if kind not in SOURCE_KINDS:
        raise ConfigError(f"{where}: unknown kind {kind!r} (known: {', '.join(SOURCE_KINDS)})")
    url = _typed(table, "url", str, where)
    if not url.startswith(("http://", "https://")):
        raise ConfigError(f"{where}: url must be http(s): {url!r}")
    values: dict[str, Any] = {"kind": kind, "url": url}
    for key, kind_ in _SOURCE_SCALARS.items():
        if key in table:
            values[key] = _positive(_typed(table, key, kind_, where), f"{where}.{key}")
    values.update(_source_lists(table, where))
    values.update(_source_schedule(table, where))
    if "max_delete_share" in table:
        values["max_delete_share"] = _share(table["max_delete_share"], f"{where}.max_delete_share")
    if "flag_after_withheld_runs" in table:
        values["flag_after_withheld_runs"] = _at_least_one(table, "flag_after_withheld_runs", where)
    return values


def _positive(value: Any, where: str) -> Any:
    if value < 0:
        raise ConfigError(f"{where} must not be negative")
    return value


def _source_lists(table: Mapping[str, Any], where: str) -> dict[str, Any]:
    values: dict[str, Any] = {}
    if "entities" in table:
        entities = tuple(_typed(table, "entities", list, where))
        unknown = sorted(set(entities) - set(ODATA_ENTITIES))
        if unknown:
            raise ConfigError(f"{where}: unknown entities {unknown}; known: {ODATA_ENTITIES}")
        values["entities"] = entities
    if "entity_urls" in table:
        urls = dict(_typed(table, "entity_urls", dict, where))
        unknown = sorted(set(urls) - set(ODATA_ENTITIES))
        if unknown:
            raise ConfigError(f"{where}: entity_urls names unknown entities {unknown}")
        values["entity_urls"] = {str(k): str(v) for k, v in urls.items()}
    return values


def _source_schedule(table: Mapping[str, Any], where: str) -> dict[str, Any]:
    values: dict[str, Any] = {}
    if "cron" in table and "interval" in table:
        raise ConfigError(f"{where}: give cron or interval, not both")
    if "cron" in table:
        cron = _typed(table, "cron", str, where)
        if len(cron.split()) != 5:
            raise ConfigError(f"{where}: cron must have 5 fields, got {cron!r}")
        values["cron"] = cron
    if "interval" in table:
        values["interval"] = parse_duration(table["interval"])
        if values["interval"] <= 0:
            raise ConfigError(f"{where}: interval must be positive")
    values.update(_source_timing(table, where))
    if "mode" in table:
        mode = _typed(table, "mode", str, where)
        if mode not in ("full", "incremental"):
            raise ConfigError(f"{where}: mode must be 'full' or 'incremental', got {mode!r}")
        values["mode"] = mode
    return values


def _source_timing(table: Mapping[str, Any], where: str) -> dict[str, Any]:
    """``overlap``, ``jitter``, ``max_run_seconds`` (durations) and ``timezone``."""
    values: dict[str, Any] = {}
    for key in ("overlap", "jitter", "max_run_seconds"):
        if key in table:
            values[key] = _positive(parse_duration(table[key]), f"{where}.{key}")
    if values.get("max_run_seconds") == 0:
        raise ConfigError(f"{where}.max_run_seconds must be positive")
    if "timezone" in table:
        name = _typed(table, "timezone", str, where)
        try:
            zoneinfo.ZoneInfo(name)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError, ImportError) as exc:
            raise ConfigError(f"{where}: unknown timezone {name!r}") from exc
        values["timezone"] = name
    return values
