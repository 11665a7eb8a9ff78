"""Issue 12, items 1 and 2: what a listing delivered decides deletions (a malformed row was
listed), withheld deletions are never silent (report, status, metrics, run history, a flag after
N runs in a row), and a source of which nothing could be listed is a failed source.

The providers here are small ones of this module (an OData v2 service over a list of rows, with
the quirks a test turns on), served through ``httpx.MockTransport`` or on a loopback port for
the real ``meahub`` command; their rows are real toolkit-shaped payloads from the demo dataset.
"""

from __future__ import annotations

import json
import logging
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pyoxigraph as ox
import pytest
from starlette.testclient import TestClient

from harvester.demo.cbd_api import CbdDecisionsProvider
from harvester.history import recent_runs
from harvester.mapping.engine import MappingRegistry
from harvester.models import RunStatus, SourceReport
from harvester.paths import MAPPINGS_DIR
from harvester.service.cli import main
from harvester.service.runtime import Runtime
from harvester.service.serve import build_app
from harvester.service.status import status_snapshot
from harvester.settings import settings_from_mapping
from harvester.sources.cbd_decisions import decision_list_url
from sparql.metrics import Metrics

from .conftest import BASE, HUB, Hub, provider, serve_app, small_dataset

MEA = "https://w3id.org/mea/ontology#"
DCT = "http://purl.org/dc/terms/"
ROOT = Path(__file__).resolve().parents[1]


# -- a provider over a list of rows -----------------------------------------------------------


def toolkit_rows(entity: str) -> list[dict[str, Any]]:
    """Every row of ``entity`` as an Olingo toolkit sends it (navigations expanded)."""
    navigations = MappingRegistry.load(MAPPINGS_DIR, "informea-odata").get(entity)
    assert navigations is not None
    params = {"$format": "json", "$top": "1000"}
    if navigations.navigations:
        params["$expand"] = ",".join(navigations.navigations)
    url = f"{BASE}/{entity}"
    body = provider(small_dataset()).handle(httpx.Request("GET", url, params=params)).json()
    return list(body["d"]["results"])


class ListProvider:
    """An OData v2 service over lists of rows, in the order given: ``$top``/``$skip``,
    ``$inlinecount`` (``__count``), entities by key (404 when gone), and quirks:

    - ``count_bias``: added to ``__count`` (a count that lies); ``send_count``: send one at all;
    - ``ignore_skip``: every page is the first; ``ignore_paging``: every page is everything;
    - ``unstable``: each page after the first carries the set's first row in place of its own
      last one (unstable ordering: a row comes twice, another never);
    - ``refused``: entity set -> status of every request for it;
    - ``changed_only``: an incremental ``$filter`` finds no changes; ``key_status``: what a
      lookup by key answers instead of the entity (e.g. 403).
    """

    def __init__(self, sets: dict[str, list[Any]], *, base: str = BASE) -> None:
        self.sets = sets
        self.base_path = urlsplit(base).path.rstrip("/")
        self.count_bias = 0
        self.send_count = True
        self.ignore_skip = False
        self.ignore_paging = False
        self.unstable = False
        self.refused: dict[str, int] = {}
        self.changed_only = False
        self.key_status: int | None = None
        self.requests: list[str] = []

    def delete(self, entity: str, record_id: str) -> None:
        self.sets[entity] = [r for r in self.sets[entity] if _id(r) != record_id]

    def handle(self, request: httpx.Request) -> httpx.Response:
        status, body = self.answer(request.url.path, dict(request.url.params))
        return httpx.Response(status, json=body)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        """The same service as an ASGI app (for a loopback server)."""
        query = httpx.QueryParams(scope.get("query_string", b"").decode())
        status, body = self.answer(scope["path"], dict(query))
        headers = [(b"content-type", b"application/json")]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": json.dumps(body).encode()})

    def answer(self, path: str, params: dict[str, str]) -> tuple[int, Any]:
        self.requests.append(path)
        rest = path.removeprefix(self.base_path).strip("/")
        match = re.fullmatch(r"(\w+)(?:\('(.*)'\))?", rest)
        if match is None or match[1] not in self.sets:
            return 404, _error(f"Resource not found for the segment '{rest}'")
        entity, key = match[1], match[2]
        if entity in self.refused:
            return self.refused[entity], _error(f"{entity} refused")
        rows = self.sets[entity]
        if key is not None:
            return self._by_key(rows, key.replace("''", "'"))
        if self.changed_only and "$filter" in params:
            rows = []
        return 200, {"d": self._page(rows, params)}

    def _by_key(self, rows: list[Any], key: str) -> tuple[int, Any]:
        if self.key_status is not None:
            return self.key_status, _error("lookups by key are not allowed")
        found = [r for r in rows if _id(r) == key]
        return (200, {"d": found[0]}) if found else (404, _error(f"no entity {key}"))

    def _page(self, rows: list[Any], params: dict[str, str]) -> dict[str, Any]:
        top = int(params.get("$top", len(rows) or 1))
        skip = int(params.get("$skip", "0"))
        if self.ignore_skip:
            skip = 0
        page = rows if self.ignore_paging else rows[skip : skip + top]
        if self.unstable and skip and page:
            page = [rows[0], *page[:-1]]
        d: dict[str, Any] = {"results": page}
        if self.send_count and params.get("$inlinecount") == "allpages":
            d["__count"] = str(len(rows) + self.count_bias)
        return d


def _id(row: Any) -> Any:
    return row.get("id") if isinstance(row, dict) else None


def _error(message: str) -> dict[str, Any]:
    return {"error": {"code": "", "message": {"lang": "en-US", "value": message}}}


def _without_id(row: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in row.items() if k not in ("id", "__metadata")}


# -- helpers ------------------------------------------------------------------------------------


def _stored_ids(hub: Hub) -> set[str]:
    rows = hub.runtime.store.query(
        f"SELECT ?id WHERE {{ ?d a <{MEA}Decision> ; <{DCT}identifier> ?id }}"
    )
    assert isinstance(rows, ox.QuerySolutions)
    return {row["id"].value for row in rows}


@pytest.fixture
def decisions() -> list[dict[str, Any]]:
    return toolkit_rows("Decisions")[:12]


@pytest.fixture
def status_hub(tmp_path: Path) -> Iterator[Hub]:
    """A hub whose settings name the source ``prov`` (so status and metrics cover it), with
    per-source ``flag_after_withheld_runs = 2``."""
    settings = settings_from_mapping(
        {
            "server": {"base_iri": HUB},
            "store": {"state_dir": str(tmp_path / "state")},
            "scheduler": {"jobstore_url": "sqlite://"},
            "sources": [
                {
                    "name": "prov",
                    "kind": "informea-odata",
                    "url": BASE,
                    "rate": 0,
                    "entities": ["Decisions"],
                    "page_size": 5,
                    "flag_after_withheld_runs": 2,
                    "retries": 0,
                }
            ],
        }
    )
    runtime = Runtime.open(settings, in_memory=True)
    yield Hub(runtime)
    runtime.close()


def _harvest(hub: Hub, mock: ListProvider, **overrides: Any) -> SourceReport:
    config = hub.source(page_size=5, entities=["Decisions"], **overrides)
    return hub.harvest(mock.handle, config)


# -- item 1: a malformed row was listed ---------------------------------------------------------


def test_an_id_less_row_does_not_stop_deletions(hub: Hub, decisions: list[dict[str, Any]]) -> None:
    """The issue's case: the provider counts every row, one has no id. It is reported, the
    listing is complete, and the records the provider deletes next are deleted."""
    anonymous = _without_id(decisions[0])
    rows: list[Any] = [*decisions[:6], anonymous, *decisions[6:]]  # on the second page
    mock = ListProvider({"Decisions": rows})
    first = _harvest(hub, mock)
    assert first.status is RunStatus.OK
    assert [(f.record_id, f.stage) for f in first.failures] == [(None, "read")]
    assert first.counts["added"] == 12
    assert first.withheld == [] and first.withheld_deletions == 0
    assert not any("listing incomplete" in note for note in first.notes)

    gone = [str(decisions[i]["id"]) for i in (1, 7)]  # 2 of 12: under max_delete_share
    for record_id in gone:
        mock.delete("Decisions", record_id)
    second = _harvest(hub, mock)
    assert second.status is RunStatus.OK
    assert second.counts["deleted"] == 2
    assert second.withheld == []
    assert _stored_ids(hub) == {str(d["id"]) for d in decisions} - set(gone)


def test_rows_that_fail_to_map_were_listed_too(hub: Hub, decisions: list[dict[str, Any]]) -> None:
    """A stored record that comes back broken (an id and nothing else) is reported and kept as
    stored; it does not keep the two records the provider deleted in the store."""
    mock = ListProvider({"Decisions": list(decisions)})
    _harvest(hub, mock)
    broken = str(decisions[3]["id"])
    mock.sets["Decisions"][3] = {"id": broken}
    mock.delete("Decisions", str(decisions[8]["id"]))
    mock.delete("Decisions", str(decisions[9]["id"]))
    report = _harvest(hub, mock)
    assert [f.record_id for f in report.failures] == [broken]
    assert report.counts["deleted"] == 2 and report.withheld == []
    assert broken in _stored_ids(hub)
    assert len(_stored_ids(hub)) == 10


def test_a_row_repeated_by_unstable_paging_withholds_and_says_how_many(
    hub: Hub, decisions: list[dict[str, Any]]
) -> None:
    mock = ListProvider({"Decisions": list(decisions)})
    _harvest(hub, mock)
    mock.unstable = True  # pages 2 and 3 repeat the first row; rows 10 and 12 never come
    report = _harvest(hub, mock)
    assert report.counts["deleted"] == 0
    assert any("2 row(s) repeated an id already listed" in note for note in report.notes)
    [withheld] = report.withheld
    assert (withheld.reason, withheld.entity, withheld.count) == (
        "incomplete-listing",
        "Decisions",
        2,
    )
    assert "10 distinct records of the 12" in withheld.message
    assert len(_stored_ids(hub)) == 12


def test_an_id_less_row_repeated_by_unstable_paging_counts_once(
    hub: Hub, decisions: list[dict[str, Any]]
) -> None:
    """Rows without an id are told apart by their content: the same row sent three times is
    one row, so the row that never came is missed (counted per row, the listing would look
    whole and that record would be deleted)."""
    rows: list[Any] = [_without_id(decisions[0]), *decisions[1:]]
    mock = ListProvider({"Decisions": rows})
    _harvest(hub, mock)
    mock.unstable = True  # the id-less first row comes again on pages 2 and 3; 10, 12 never
    report = _harvest(hub, mock)
    assert report.counts["deleted"] == 0
    assert [(w.reason, w.count) for w in report.withheld] == [("incomplete-listing", 2)]
    assert {str(decisions[9]["id"]), str(decisions[11]["id"])} <= _stored_ids(hub)


def test_a_count_that_lies_low_is_noted_and_deletes(
    hub: Hub, decisions: list[dict[str, Any]]
) -> None:
    """Past a too-low count the listing goes on while pages come full: every record is seen,
    and only the one the provider deleted is deleted."""
    mock = ListProvider({"Decisions": list(decisions)})
    _harvest(hub, mock)
    mock.count_bias = -3
    mock.delete("Decisions", str(decisions[0]["id"]))
    report = _harvest(hub, mock)
    assert report.counts["deleted"] == 1 and report.withheld == []
    assert any("counts 8 records but listed 11" in note for note in report.notes)


def test_a_full_page_repeated_without_a_count_is_uncertain(
    hub: Hub, decisions: list[dict[str, Any]]
) -> None:
    """A provider that ignores ``$skip`` and sends no count repeats its first page: it may have
    more, so nothing is deleted, and the report says how many records that keeps."""
    mock = ListProvider({"Decisions": list(decisions)})
    _harvest(hub, mock)
    mock.ignore_skip, mock.send_count = True, False
    report = _harvest(hub, mock)
    assert report.counts["deleted"] == 0
    assert [(w.reason, w.count) for w in report.withheld] == [("uncertain-listing", 7)]
    assert len(_stored_ids(hub)) == 12


def test_a_provider_answering_everything_at_once_deletes(
    hub: Hub, decisions: list[dict[str, Any]]
) -> None:
    """Its repeated page is longer than asked: it was the whole set, so the listing is whole."""
    mock = ListProvider({"Decisions": list(decisions)})
    mock.ignore_paging, mock.send_count = True, False
    _harvest(hub, mock)
    mock.delete("Decisions", str(decisions[2]["id"]))
    report = _harvest(hub, mock)
    assert report.counts["deleted"] == 1 and report.withheld == []


def test_the_mass_deletion_guard_is_a_withholding(
    hub: Hub, decisions: list[dict[str, Any]]
) -> None:
    mock = ListProvider({"Decisions": list(decisions)})
    _harvest(hub, mock)
    for row in decisions[:6]:
        mock.delete("Decisions", str(row["id"]))
    report = _harvest(hub, mock)
    assert report.counts["deleted"] == 0
    [withheld] = report.withheld
    assert (withheld.reason, withheld.entity, withheld.count) == ("mass-deletion-guard", None, 6)
    allowed = hub.harvest(mock.handle, hub.source(page_size=5, entities=["Decisions"]), full=True)
    assert allowed.counts["deleted"] == 6 and allowed.withheld == []


def test_an_entity_set_no_longer_served_says_what_it_keeps(
    hub: Hub, decisions: list[dict[str, Any]]
) -> None:
    sites = toolkit_rows("Sites")
    mock = ListProvider({"Decisions": list(decisions), "Sites": sites})
    config = hub.source(page_size=5, entities=["Decisions", "Sites"])
    hub.harvest(mock.handle, config)
    del mock.sets["Sites"]  # 404 from now on
    config = hub.source(page_size=5)  # all entity sets, so an unserved one is a note
    report = hub.harvest(mock.handle, config)
    assert report.status is RunStatus.OK
    [withheld] = report.withheld
    assert (withheld.reason, withheld.entity, withheld.count) == ("not-served", "Sites", len(sites))


def test_incremental_lookups_that_cannot_tell_are_withheld(
    hub: Hub, decisions: list[dict[str, Any]]
) -> None:
    mock = ListProvider({"Decisions": list(decisions)})
    config = hub.source(page_size=5, entities=["Decisions"], mode="incremental")
    hub.harvest(mock.handle, config)
    mock.changed_only, mock.key_status = True, 403
    report = hub.harvest(mock.handle, config)
    assert report.counts["deleted"] == 0
    [withheld] = report.withheld
    assert (withheld.reason, withheld.count) == ("unconfirmed-probes", None)
    assert "12 stored record(s)" in withheld.message


# -- item 1: withheld deletions are seen, and flagged after N runs in a row --------------------


def _withholding_run(hub: Hub, mock: ListProvider) -> SourceReport:
    """A run whose listing is short by one of the provider's (lying) count, with one stored
    record deleted at the provider: withheld, count 1."""
    mock.count_bias = 1
    return hub.harvest(mock.handle, hub.runtime.settings.source("prov"))


def test_withheld_runs_are_counted_and_flagged(
    status_hub: Hub, decisions: list[dict[str, Any]]
) -> None:
    hub = status_hub
    mock = ListProvider({"Decisions": list(decisions)})
    config = hub.runtime.settings.source("prov")
    assert hub.harvest(mock.handle, config).withheld == []
    mock.delete("Decisions", str(decisions[5]["id"]))
    first = _withholding_run(hub, mock)
    assert (first.withheld_runs, first.withheld_flagged) == (1, False)
    status = status_snapshot(hub.runtime)["sources"]["prov"]
    assert status["consecutive_withheld_runs"] == 1 and status["flagged"] is False
    assert status["deletions_withheld_count"] == 1

    down = hub.harvest(lambda r: httpx.Response(503), config)  # a failed run: streak carries
    assert down.status is RunStatus.FAILED and down.withheld_runs == 1

    second = _withholding_run(hub, mock)
    assert (second.withheld_runs, second.withheld_flagged) == (2, True)  # per-source: 2
    assert any("flagged" in note for note in second.notes)
    status = status_snapshot(hub.runtime)["sources"]["prov"]
    assert status["consecutive_withheld_runs"] == 2
    assert status["withheld_flagged"] is True and status["flagged"] is True
    assert status["failing_flagged"] is False
    assert any("deletions withheld in 2 runs in a row" in r for r in status["flag_reasons"])
    assert status["deletions_withheld"][0]["reason"] == "incomplete-listing"

    served = TestClient(build_app(hub.runtime, None))  # GET /status and /metrics say the same
    assert served.get("/status").json()["sources"]["prov"]["withheld_flagged"] is True
    metrics = served.get("/metrics").text
    assert 'meahub_harvest_deletions_withheld{source="prov"} 1' in metrics
    assert (
        'meahub_harvest_deletions_withheld_reason{source="prov",reason="incomplete-listing"} 1'
        in metrics
    )
    assert 'meahub_harvest_consecutive_withheld_runs{source="prov"} 2' in metrics
    assert 'meahub_harvest_withheld_flagged{source="prov"} 1' in metrics
    assert 'meahub_harvest_flagged{source="prov"} 1' in metrics

    mock.count_bias = 0  # the provider's count is right again: the deletion goes through
    clean = hub.harvest(mock.handle, config)
    assert clean.counts["deleted"] == 1 and clean.withheld == []
    assert (clean.withheld_runs, clean.withheld_flagged) == (0, False)
    status = status_snapshot(hub.runtime)["sources"]["prov"]
    assert status["consecutive_withheld_runs"] == 0 and status["flagged"] is False
    metrics = Metrics().render(None, status_snapshot(hub.runtime))
    assert 'meahub_harvest_consecutive_withheld_runs{source="prov"} 0' in metrics


def test_unknown_counts_are_nan_in_metrics(status_hub: Hub) -> None:
    status = {
        "sources": {
            "prov": {
                "consecutive_withheld_runs": 1,
                "deletions_withheld": [{"reason": "unconfirmed-probes", "count": None}],
                "deletions_withheld_count": 0,
            }
        }
    }
    text = Metrics().render(None, status)
    assert (
        'meahub_harvest_deletions_withheld_reason{source="prov",reason="unconfirmed-probes"} NaN'
        in text
    )


def test_the_run_history_keeps_what_was_withheld(
    status_hub: Hub, decisions: list[dict[str, Any]]
) -> None:
    hub = status_hub
    mock = ListProvider({"Decisions": list(decisions)})
    hub.harvest(mock.handle, hub.runtime.settings.source("prov"))
    mock.delete("Decisions", str(decisions[0]["id"]))
    report = _withholding_run(hub, mock)
    [latest, *_] = recent_runs(hub.runtime.store, HUB, "prov")
    assert latest["run_id"] == report.run_id
    assert latest["withheld"] == 1 and latest["withheld_runs"] == 1
    rows = hub.runtime.store.query(
        f"SELECT ?id ?reason ?entity ?count WHERE {{ ?run <{DCT}identifier> ?id ; "
        f"<{MEA}withheldDeletions> ?w . ?w a <{MEA}WithheldDeletions> ; "
        f"<{MEA}withheldReason> ?reason ; <{MEA}withheldEntitySet> ?entity ; "
        f"<{MEA}withheldCount> ?count }}",
        substitutions={"id": ox.Literal(report.run_id)},
    )
    assert isinstance(rows, ox.QuerySolutions)
    assert [(r["reason"].value, r["entity"].value, r["count"].value) for r in rows] == [
        ("incomplete-listing", "Decisions", "1")
    ]


def _config_file(tmp_path: Path, sources: list[dict[str, Any]], **tables: Any) -> Path:
    lines = [f'[store]\npath = "{tmp_path / "store"}"\n', f'[server]\nbase_iri = "{HUB}"\n']
    for name, table in tables.items():
        lines.append(f"[{name}]\n")
        lines.extend(f"{key} = {json.dumps(value)}\n" for key, value in table.items())
    for source in sources:
        lines.append("[[sources]]\n")
        lines.extend(f"{key} = {json.dumps(value)}\n" for key, value in source.items())
    path = tmp_path / "meahub.toml"
    path.write_text("".join(lines))
    return path


def test_meahub_status_shows_withheld_deletions_and_the_flag(
    tmp_path: Path,
    decisions: list[dict[str, Any]],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("COLUMNS", "400")  # what is shown, not how a narrow console cuts it
    mock = ListProvider({"Decisions": list(decisions)}, base="http://127.0.0.1/informea.svc")
    with serve_app(mock) as base:
        source = {
            "name": "lying",
            "kind": "informea-odata",
            "url": f"{base}informea.svc",
            "entities": ["Decisions"],
            "page_size": 5,
            "retries": 0,
        }
        config = _config_file(tmp_path, [source], harvest={"flag_after_withheld_runs": 1})
        assert main(["harvest", "--config", str(config)]) == 0
        mock.delete("Decisions", str(decisions[0]["id"]))
        mock.count_bias = 1
        capsys.readouterr()
        assert main(["harvest", "--config", str(config)]) == 0
    harvest_out = _squeezed(capsys.readouterr().out)
    assert "deletionswithheld(1records)" in harvest_out
    assert "FLAGGED" in harvest_out
    assert main(["status", "--config", str(config), "--json"]) == 0
    entry = json.loads(capsys.readouterr().out)["sources"]["lying"]
    assert entry["withheld_flagged"] is True and entry["consecutive_withheld_runs"] == 1
    assert entry["deletions_withheld"][0]["count"] == 1
    assert main(["status", "--config", str(config)]) == 0
    table = _squeezed(capsys.readouterr().out)
    assert "withheld" in table and "1(1run)FLAGGED" in table


# -- item 2: cbd-decisions URLs ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "expected", "form"),
    [
        ("https://h.test", "https://h.test/api/v2021/decisions", "API root"),
        ("https://h.test/", "https://h.test/api/v2021/decisions", "API root"),
        ("https://h.test/dtt/", "https://h.test/dtt/api/v2021/decisions", "API root"),
        ("https://h.test/api/v2021", "https://h.test/api/v2021/decisions", "v2021 API root"),
        ("https://h.test/api/v2021/decisions", "https://h.test/api/v2021/decisions", "list"),
        ("https://h.test/api/v2021/decisions/", "https://h.test/api/v2021/decisions", "list"),
        (
            "https://h.test/api/v2021/decisions?limit=10&skip=0",
            "https://h.test/api/v2021/decisions",
            "query string 'limit=10&skip=0' is ignored",
        ),
        (
            "https://h.test/api/v2021/decisions/CBD%2FCOP%2F15%2F04/tree",
            "https://h.test/api/v2021/decisions",
            "below the decision list",
        ),
    ],
)
def test_decision_list_url_accepts_the_forms_users_give(url: str, expected: str, form: str) -> None:
    listed, said = decision_list_url(url)
    assert listed == expected
    assert form in said


def _decision_graphs(hub: Hub) -> set[str]:
    rows = hub.runtime.store.query(
        f"SELECT ?d ?p ?o WHERE {{ ?d a <{MEA}Decision> ; ?p ?o . "
        "FILTER(?p != <http://www.w3.org/ns/prov#wasGeneratedBy>) }"
    )
    assert isinstance(rows, ox.QuerySolutions)
    return {f"{r['d']} {r['p']} {r['o']}" for r in rows}


def test_both_cbd_url_forms_harvest_the_same_decisions(caplog: pytest.LogCaptureFixture) -> None:
    data = small_dataset(seed=11)
    graphs, paths = [], []
    forms = ["http://cbd.test", "http://cbd.test/api/v2021/decisions/?limit=3"]
    for url in forms:
        mock = CbdDecisionsProvider(data, base_url="http://cbd.test", page_limit=4)
        seen: list[str] = []

        def handler(request: httpx.Request, mock: Any = mock, seen: list[str] = seen) -> Any:
            seen.append(request.url.path)
            return mock.handle(request)

        settings = settings_from_mapping({"server": {"base_iri": HUB}})
        with Runtime.open(settings, in_memory=True) as runtime, caplog.at_level(logging.INFO):
            hub = Hub(runtime)
            config = hub.source(name="dtt", kind="cbd-decisions", url=url, page_size=4)
            report = hub.harvest(handler, config)
            assert report.status is RunStatus.OK and report.counts["added"] > 3
            graphs.append(_decision_graphs(hub))
        paths.append(seen)
    assert graphs[0] == graphs[1] and graphs[0]
    for seen in paths:
        assert all(p.count("/api/v2021/decisions") == 1 for p in seen)
    assert "is the API root" in caplog.text
    assert "is the decision list" in caplog.text
    assert "listing decisions from http://cbd.test/api/v2021/decisions" in caplog.text


def test_a_wrong_cbd_url_fails_the_run_naming_the_url(hub: Hub) -> None:
    mock = CbdDecisionsProvider(small_dataset(seed=11), base_url="http://cbd.test")
    config = hub.source(name="dtt", kind="cbd-decisions", url="http://cbd.test/v2013/index")
    report = hub.harvest(mock.handle, config)
    assert report.status is RunStatus.FAILED
    assert "nothing could be listed" in (report.error or "")
    assert "http://cbd.test/v2013/index/api/v2021/decisions" in (report.error or "")


def test_an_unreadable_decision_tree_is_a_failed_record_not_a_failed_run(hub: Hub) -> None:
    data = small_dataset(seed=11)
    mock = CbdDecisionsProvider(data, base_url="http://cbd.test")
    config = hub.source(name="dtt", kind="cbd-decisions", url="http://cbd.test")
    first = hub.harvest(mock.handle, config)
    for record in data["Decisions"].values():  # changed at the source: every tree is read
        record["updated"] = "2026-12-01T10:00:00Z"
    broken: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/tree") and not broken:
            broken.append(request.url.path)
        if broken and request.url.path == broken[0]:
            return httpx.Response(404, json={"error": "tree not found"})
        return mock.handle(request)

    report = hub.harvest(handler, config)
    assert report.status is RunStatus.OK
    assert [f.message.startswith("tree refused (HTTP 404)") for f in report.failures] == [True]
    assert report.counts["deleted"] == 0  # it was listed: its stored version stays
    assert hub.count("Decision") == first.counts["added"]


# -- item 2: a source of which nothing could be listed fails ------------------------------------


def test_an_odata_source_whose_every_set_404s_fails(hub: Hub) -> None:
    mock = ListProvider({})
    report = hub.harvest(mock.handle, hub.source())
    assert report.status is RunStatus.FAILED
    error = report.error or ""
    assert "nothing could be listed" in error
    for entity in ("Decisions", "Meetings", "Contacts", "Sites"):
        assert f"{entity}: HTTP 404 at {BASE}/{entity}" in error


def test_a_source_serving_one_empty_set_is_ok(hub: Hub) -> None:
    mock = ListProvider({"Decisions": []})
    report = hub.harvest(mock.handle, hub.source())
    assert report.status is RunStatus.OK and report.error is None
    assert sum(report.counts.values()) == 0
    assert any("Meetings: not served by this source (404)" in n for n in report.notes)


def test_meahub_harvest_exits_non_zero_for_a_wrong_cbd_url(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    mock = CbdDecisionsProvider(small_dataset(seed=11), base_url="http://127.0.0.1")
    with serve_app(AsAsgi(mock)) as base:
        good = {"name": "dtt", "kind": "cbd-decisions", "url": f"{base}api/v2021/decisions/"}
        wrong = {"name": "dtt", "kind": "cbd-decisions", "url": f"{base}decisions", "retries": 0}
        assert main(["harvest", "--config", str(_config_file(tmp_path, [good]))]) == 0
        assert " ok " in capsys.readouterr().out
        assert main(["harvest", "--config", str(_config_file(tmp_path, [wrong]))]) == 1
    out = _squeezed(capsys.readouterr().out)
    assert "failed" in out and "nothingcouldbelisted" in out
    assert f"{base}decisions/api/v2021/decisions" in out


def _squeezed(text: str) -> str:
    """Output without any whitespace (however a console wrapped it)."""
    return re.sub(r"\s+", "", text)


class AsAsgi:
    """A mock transport's provider as an ASGI app (for the loopback server)."""

    def __init__(self, mock: CbdDecisionsProvider) -> None:
        self.mock = mock

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        query = scope.get("query_string", b"").decode()
        path = (scope.get("raw_path") or scope["path"].encode()).decode()
        url = f"http://127.0.0.1{path}" + (f"?{query}" if query else "")
        response = self.mock.handle(httpx.Request("GET", url))
        headers = [(b"content-type", b"application/json")]
        start = {"type": "http.response.start", "status": response.status_code}
        await send({**start, "headers": headers})
        await send({"type": "http.response.body", "body": response.content})


def test_the_meahub_command_fails_a_source_whose_every_set_404s(tmp_path: Path) -> None:
    """The real console script, in a process of its own, through a pipe."""
    mock = ListProvider({}, base="http://127.0.0.1/informea.svc")
    with serve_app(mock) as base:
        source = {"name": "nowhere", "kind": "informea-odata", "url": f"{base}informea.svc"}
        config = _config_file(tmp_path, [source])
        done = subprocess.run(
            [sys.executable, "-m", "harvester.service.cli", "harvest", "--config", str(config)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert done.returncode == 1, done.stdout + done.stderr
    out = _squeezed(done.stdout)
    assert "nowhere" in out and "failed" in out
    assert "nothingcouldbelisted" in out
    assert f"Decisions:HTTP404at{base}informea.svc/Decisions" in out
