"""Scheduled harvests with real time shortened to seconds, against mock providers over HTTP:
schedules, no overlap, coalescing, a persistent schedule, the admin API, failures and retries,
cancellation, and the run history in the store."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from harvester.control import RunControl
from harvester.demo import Fault, ODataProvider
from harvester.demo.paced import Paced, serve_providers
from harvester.history import recent_runs
from harvester.models import RunStatus
from harvester.service.runtime import Runtime
from harvester.service.scheduler import (
    JOB_PREFIX,
    RETRY_PREFIX,
    HarvestService,
    retry_delay,
    schedule_spec,
    trigger_for,
)
from harvester.service.serve import build_app
from harvester.settings import Settings, settings_from_mapping

from .conftest import HUB, small_dataset

TOKEN = "s3cret-token"


def wait_for(predicate: Callable[[], Any], timeout: float = 20.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError("condition not met in time")


class Mock:
    """One paced provider ``prov`` over HTTP."""

    def __init__(self, delay: float = 0.0, faults: tuple[Fault, ...] = ()) -> None:
        self.dataset = small_dataset()
        self.delay = delay
        self.faults = faults
        self.paced: Paced | None = None

    def build(self, base: str) -> dict[str, Paced]:
        inner = ODataProvider(
            self.dataset, base_url=f"{base}/prov/informea.svc", faults=self.faults
        )
        self.paced = Paced(inner, self.delay)
        return {"prov": self.paced}


@pytest.fixture
def mock() -> Mock:
    return Mock()


@pytest.fixture
def base(mock: Mock) -> Iterator[str]:
    with serve_providers(mock.build) as url:
        yield url


def make_settings(tmp_path: Path, base: str, *, scheduler: dict[str, Any] | None = None,
                  server: dict[str, Any] | None = None, **source: Any) -> Settings:  # fmt: skip
    table = {"name": "prov", "kind": "informea-odata", "url": f"{base}/prov/informea.svc",
             "rate": 0, "entities": ["Decisions"], "page_size": 10, "retries": 0, **source}  # fmt: skip
    return settings_from_mapping(
        {
            "store": {"path": str(tmp_path / "store"), "state_dir": str(tmp_path / "state")},
            "server": {"base_iri": HUB, **(server or {})},
            "scheduler": scheduler or {},
            "sources": [table],
        }
    )


@pytest.fixture
def started() -> Iterator[Callable[[Settings], HarvestService]]:
    """Open a runtime and start a service over it; both are closed after the test."""
    opened: list[tuple[Runtime, HarvestService]] = []

    def start(settings: Settings) -> HarvestService:
        runtime = Runtime.open(settings)
        service = HarvestService(runtime)
        service.start()
        opened.append((runtime, service))
        return service

    yield start
    for runtime, service in opened:
        service.stop()
        if hasattr(runtime.store, "_store"):  # not closed by the test (a restart)
            runtime.close()


def finished(service: HarvestService, source: str = "prov") -> list[Any]:
    return [r for r in service.runtime.state.runs(source, limit=100) if r.ended]


# -- schedules --------------------------------------------------------------------------------


def test_schedules_from_config(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, "http://x", cron="0 3 * * 0", timezone="Europe/Paris",
                             jitter="30s")  # fmt: skip
    config = settings.sources[0]
    trigger = trigger_for(config)
    assert trigger is not None and trigger.jitter == 30
    start = datetime(2026, 1, 1, tzinfo=UTC)  # a Thursday
    fire = trigger.get_next_fire_time(None, start)
    assert fire.weekday() == 6 and (fire.hour, str(fire.tzinfo)) == (3, "Europe/Paris")
    assert schedule_spec(config) == "prov: cron '0 3 * * 0' Europe/Paris, jitter 30s"
    assert trigger_for(make_settings(tmp_path, "http://x").sources[0]) is None


def test_runs_happen_on_schedule(tmp_path: Path, base: str, started: Any) -> None:
    service = started(make_settings(tmp_path, base, interval="1s"))
    wait_for(lambda: len(finished(service)) >= 3, timeout=15)
    runs = finished(service)
    assert all(r.status == "ok" for r in runs)
    assert runs[-1].report["counts"]["added"] == 30  # the first run loaded everything
    assert runs[0].report["counts"]["unchanged"] == 30


def test_a_slow_source_never_overlaps_itself(
    tmp_path: Path, mock: Mock, base: str, started: Any
) -> None:
    mock.paced.delay = 0.25  # type: ignore[union-attr]  # a run takes ~1.5 s; the interval is 0.5 s
    service = started(make_settings(tmp_path, base, interval="0.5s", concurrency=1))
    wait_for(lambda: len(finished(service)) >= 3, timeout=30)
    runs = sorted(finished(service), key=lambda r: r.started)
    for earlier, later in zip(runs, runs[1:], strict=False):
        assert earlier.ended <= later.started
    assert mock.paced.max_busy == 1  # type: ignore[union-attr]


def test_missed_runs_coalesce_into_one(tmp_path: Path, base: str, started: Any) -> None:
    settings = make_settings(tmp_path, base, interval="5s")
    first = started(settings)
    missed = datetime.now(UTC) - timedelta(seconds=50)  # ten runs missed while "down"
    first.scheduler.modify_job(JOB_PREFIX + "prov", jobstore="default", next_run_time=missed)
    first.stop()
    first.runtime.close()
    again = started(settings)
    wait_for(lambda: finished(again), timeout=10)
    time.sleep(2.5)
    assert len(again.runtime.state.runs("prov")) == 1


def test_a_restart_keeps_the_schedule(tmp_path: Path, base: str, started: Any) -> None:
    settings = make_settings(tmp_path, base, interval="1h")
    first = started(settings)
    planned = first.scheduler.get_job(JOB_PREFIX + "prov").next_run_time
    first.stop()
    first.runtime.close()
    time.sleep(1.1)  # a new trigger would now compute a later time
    again = started(settings)
    assert again.scheduler.get_job(JOB_PREFIX + "prov").next_run_time == planned
    assert again.next_runs()["prov"] == planned


def test_reconcile_follows_the_config(tmp_path: Path, base: str, started: Any) -> None:
    first = started(make_settings(tmp_path, base, interval="1h"))
    first.stop()
    first.runtime.close()
    changed = started(make_settings(tmp_path, base, interval="2h"))
    job = changed.scheduler.get_job(JOB_PREFIX + "prov")
    assert job.name == "prov: every 7200s" and job.trigger.interval == timedelta(hours=2)
    changed.stop()
    changed.runtime.close()
    dropped = started(make_settings(tmp_path, base))  # no schedule: on demand only
    assert dropped.scheduler.get_jobs() == []


# -- the admin API ----------------------------------------------------------------------------


def admin_client(service: HarvestService) -> TestClient:
    return TestClient(build_app(service.runtime, service))


def test_admin_api_is_off_without_a_token(tmp_path: Path, base: str, started: Any) -> None:
    client = admin_client(started(make_settings(tmp_path, base)))
    response = client.post("/admin/harvest/prov", headers={"Authorization": "Bearer x"})
    assert response.status_code == 403


@pytest.mark.parametrize("header", [None, "Bearer wrong", f"Basic {TOKEN}", TOKEN])
def test_admin_api_refuses_a_missing_or_wrong_token(
    tmp_path: Path, base: str, started: Any, header: str | None
) -> None:
    client = admin_client(started(make_settings(tmp_path, base, server={"admin_token": TOKEN})))
    headers = {"Authorization": header} if header else {}
    response = client.post("/admin/harvest/prov", headers=headers)
    assert response.status_code == 401 and response.headers["WWW-Authenticate"].startswith("Bearer")
    assert client.get("/admin/runs/x", headers=headers).status_code == 401


def test_admin_trigger_runs_now_and_409_when_busy(
    tmp_path: Path, mock: Mock, base: str, started: Any
) -> None:
    mock.paced.delay = 0.2  # type: ignore[union-attr]
    client = admin_client(started(make_settings(tmp_path, base, server={"admin_token": TOKEN})))
    auth = {"Authorization": f"Bearer {TOKEN}"}
    response = client.post("/admin/harvest/prov", headers=auth)
    assert response.status_code == 202
    run_id = response.json()["run_id"]
    busy = client.post("/admin/harvest/prov", headers=auth)
    assert busy.status_code == 409 and busy.json()["run_id"] == run_id
    assert client.post("/admin/harvest/nope", headers=auth).status_code == 404

    def done() -> dict[str, Any] | None:
        data: dict[str, Any] = client.get(f"/admin/runs/{run_id}", headers=auth).json()
        return data if data["status"] not in ("queued", "running") else None

    data = wait_for(done)
    assert data["status"] == "ok" and data["report"]["counts"]["added"] == 30
    assert client.post("/admin/harvest/prov", headers=auth).status_code == 202  # free again


# -- failures ---------------------------------------------------------------------------------


def test_retry_delay_doubles_and_stays_under_half_the_interval() -> None:
    assert [retry_delay(n, 30, 3600) for n in (1, 2, 3)] == [30, 60, 120]
    assert retry_delay(10, 30, 600) == 300
    assert retry_delay(1, 30, None) == 30 and retry_delay(1, 30, 1) is None


def _retry_job(service: Any) -> Any:
    return service.scheduler.get_job(RETRY_PREFIX + "prov")


def test_failing_source_is_retried_with_backoff_then_flagged(
    tmp_path: Path, base: str, started: Any
) -> None:
    settings = make_settings(
        tmp_path, base, url=f"{base}/gone/informea.svc", interval="1h",
        scheduler={"retry_base": "1s", "flag_after_failures": 3},
        server={"admin_token": TOKEN},
    )  # fmt: skip
    service = started(settings)
    service.trigger("prov")
    # The retry is stored once the failed run is recorded, and may already have fired (1 s
    # later) by the time a slow machine looks: either way, it was never sooner than asked.
    wait_for(lambda: _retry_job(service) is not None or len(finished(service)) >= 2)
    retry = _retry_job(service)
    if retry is not None:
        assert (retry.next_run_time - datetime.now(UTC)).total_seconds() <= 1.0
    wait_for(lambda: len(finished(service)) >= 3, timeout=15)  # retries after 1 s, then 2 s
    status = admin_client(service).get("/status").json()["sources"]["prov"]
    assert status["status"] == "failed" and status["consecutive_failures"] >= 3
    assert status["flagged"] is True
    assert status["history"][0]["status"] == "failed"
    metrics = admin_client(service).get("/metrics").text
    assert 'meahub_harvest_flagged{source="prov"} 1' in metrics


def test_a_run_past_max_run_seconds_is_cancelled(
    tmp_path: Path, mock: Mock, base: str, started: Any
) -> None:
    mock.paced.delay = 0.2  # type: ignore[union-attr]
    settings = make_settings(tmp_path, base, max_run_seconds=0.5)
    service = started(settings)
    run_id = service.trigger("prov")
    wait_for(lambda: finished(service))
    ticket = service.run_status(run_id)
    assert ticket is not None and ticket["status"] == "cancelled"
    assert "max_run_seconds" in ticket["report"]["error"]
    assert service.runtime.state.record_count("prov") == 0
    assert _record_graphs(service.runtime) == 0
    runs = recent_runs(service.runtime.store, HUB, "prov")
    assert [r["status"] for r in runs] == ["cancelled"]


def _record_graphs(runtime: Runtime) -> int:
    rows = runtime.store.query(
        f"SELECT (COUNT(DISTINCT ?g) AS ?n) WHERE {{ GRAPH ?g {{ ?s ?p ?o }} "
        f"FILTER(STRSTARTS(STR(?g), '{HUB}graph/prov/')) }}"
    )
    return int(next(iter(rows))[0].value)  # type: ignore[arg-type]


def test_an_interrupted_run_commits_nothing(tmp_path: Path, base: str) -> None:
    with Runtime.open(make_settings(tmp_path, base)) as runtime:
        control = RunControl()
        control.cancel("interrupted")
        report = runtime.harvest(runtime.settings.sources[0], control=control)
        assert report.status is RunStatus.INTERRUPTED
        assert _record_graphs(runtime) == 0
        assert recent_runs(runtime.store, HUB, "prov")[0]["status"] == "interrupted"


# -- the run history --------------------------------------------------------------------------


def test_every_run_is_described_and_the_history_is_bounded(tmp_path: Path, base: str) -> None:
    settings = make_settings(tmp_path, base, scheduler={"history_runs": 3})
    with Runtime.open(settings) as runtime:
        reports = [runtime.harvest(runtime.settings.sources[0]) for _ in range(6)]
        runs = recent_runs(runtime.store, HUB, "prov", limit=50)
        # the newest three, and the first: its records still name it (prov:wasGeneratedBy)
        expected = [r.run_id for r in reversed(reports[-3:])] + [reports[0].run_id]
        assert [r["run_id"] for r in runs] == expected
        assert runs[0]["counts"]["unchanged"] == 30 and runs[-1]["counts"]["added"] == 30
        described = runtime.store.query(
            "PREFIX mea: <https://w3id.org/mea/ontology#> "
            "PREFIX prov: <http://www.w3.org/ns/prov#> "
            "ASK { ?run a prov:Activity, mea:HarvestRun ; mea:harvesterVersion ?v ; "
            "mea:mappingDigest ?d ; prov:endedAtTime ?e ; mea:runStatus 'ok' }"
        )
        assert bool(described)


def test_failed_records_are_described_up_to_a_cap(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("harvester.history.MAX_FAILURES_WRITTEN", 2)
    mock = Mock()
    bad = sorted(mock.dataset["Decisions"])[:3]
    build = mock.build

    def broken(base: str) -> dict[str, Paced]:
        providers = build(base)
        providers["prov"].inner.malformed = {"Decisions": {i: "missing-id" for i in bad}}  # type: ignore[attr-defined]
        return providers

    with serve_providers(broken) as base, Runtime.open(make_settings(tmp_path, base)) as runtime:
        report = runtime.harvest(runtime.settings.sources[0])
        assert report.counts["failed"] == 3
        rows = runtime.store.query(
            "PREFIX mea: <https://w3id.org/mea/ontology#> "
            "SELECT ?n (COUNT(?f) AS ?described) WHERE { ?run mea:recordsFailed ?n ; "
            "mea:recordFailure ?f . ?f mea:failedUrl ?u ; mea:failureStage ?s } GROUP BY ?n"
        )
        assert [(r[0].value, r[1].value) for r in rows] == [("3", "2")]  # type: ignore[union-attr]
