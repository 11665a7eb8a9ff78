"""The admin API of ``meahub serve --no-scheduler`` (issue 15): ``POST /admin/harvest/{source}``
runs the harvest on a background thread of the server, one run per source at a time (409 as
under the scheduler), and ``/status`` shows it like a scheduled run."""

from __future__ import annotations

import functools
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from harvester.service.ondemand import OnDemandService
from harvester.service.runtime import Runtime
from harvester.service.serve import build_app
from harvester.settings import Settings

from .test_scheduler import TOKEN, Mock, make_settings, wait_for

AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
def mock() -> Mock:
    return Mock()


@pytest.fixture
def base(mock: Mock) -> Iterator[str]:
    from harvester.demo.paced import serve_providers

    with serve_providers(mock.build) as url:
        yield url


@pytest.fixture
def settings(tmp_path: Path, base: str) -> Settings:
    return make_settings(tmp_path, base, interval="1h", server={"admin_token": TOKEN})


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    """The app as ``serve(..., scheduler=False)`` builds it, its lifespan run."""
    runtime = Runtime.open(settings)
    try:
        with TestClient(build_app(runtime, OnDemandService(runtime))) as client:
            yield client
    finally:
        runtime.close()


def _done(client: TestClient, run_id: str) -> dict[str, Any] | None:
    data: dict[str, Any] = client.get(f"/admin/runs/{run_id}", headers=AUTH).json()
    return data if data["status"] not in ("queued", "running") else None


def test_admin_harvest_runs_without_a_scheduler(client: TestClient, mock: Mock) -> None:
    mock.paced.delay = 0.2  # type: ignore[union-attr]
    response = client.post("/admin/harvest/prov", headers=AUTH)
    assert response.status_code == 202
    run_id = response.json()["run_id"]
    assert response.headers["location"] == f"/admin/runs/{run_id}"
    busy = client.post("/admin/harvest/prov", headers=AUTH)
    assert busy.status_code == 409
    assert busy.json() == {"error": f"run {run_id} of prov is still going", "run_id": run_id}
    assert client.post("/admin/harvest/nope", headers=AUTH).status_code == 404
    status = client.get("/status").json()
    assert status["scheduler"] is False and status["sources"]["prov"]["running"] == run_id

    data = wait_for(lambda: _done(client, run_id))
    assert data["status"] == "ok" and data["report"]["counts"]["added"] == 30
    source = client.get("/status").json()["sources"]["prov"]
    assert source["running"] is None and source["status"] == "ok"
    assert source["counts"]["added"] == 30
    assert [run["run_id"] for run in source["history"]] == [run_id]
    assert source["next_run"] is not None  # what a scheduler would run next, as before


def test_runs_of_two_sources_go_one_after_the_other(tmp_path: Path, base: str, mock: Mock) -> None:
    settings = make_settings(tmp_path, base, server={"admin_token": TOKEN}, concurrency=1)
    (first,) = settings.sources
    settings = replace(settings, sources=(first, replace(first, name="prov2")))
    mock.paced.delay = 0.05  # type: ignore[union-attr]
    runtime = Runtime.open(settings)
    try:
        with TestClient(build_app(runtime, OnDemandService(runtime))) as client:
            asked = [client.post(f"/admin/harvest/{n}", headers=AUTH) for n in ("prov", "prov2")]
            ids = [response.json()["run_id"] for response in asked]
            runs = [wait_for(functools.partial(_done, client, i)) for i in ids]
    finally:
        runtime.close()
    assert [r["status"] for r in runs] == ["ok", "ok"]
    assert runs[0]["ended"] <= runs[1]["started"]
    assert mock.paced.max_busy == 1  # type: ignore[union-attr]


def test_a_run_going_at_shutdown_is_interrupted(settings: Settings, mock: Mock) -> None:
    mock.paced.delay = 0.3  # type: ignore[union-attr]
    runtime = Runtime.open(settings)
    try:
        with TestClient(build_app(runtime, OnDemandService(runtime))) as client:
            run_id = client.post("/admin/harvest/prov", headers=AUTH).json()["run_id"]
            asked = f"/admin/runs/{run_id}"
            wait_for(lambda: client.get(asked, headers=AUTH).json()["status"] == "running")
        # the lifespan is over: the run was stopped at a boundary, and recorded
        (row,) = runtime.state.runs("prov")
        assert (row.run_id, row.status) == (run_id, "interrupted")
    finally:
        runtime.close()


def test_an_ldes_run_left_open_by_a_crash_is_closed_at_start(tmp_path: Path) -> None:
    """``kind = "ldes"`` has no mappings: closing its stale run must not look for them."""
    from datetime import UTC, datetime

    from harvester.settings import settings_from_mapping

    table = {"name": "hub-a", "kind": "ldes", "url": "http://hub-a.test/ldes"}
    settings = settings_from_mapping(
        {
            "store": {"path": str(tmp_path / "store"), "state_dir": str(tmp_path / "state")},
            "sources": [table],
        }
    )
    runtime = Runtime.open(settings)
    try:
        runtime.state.start_run("hub-a-1", "hub-a", datetime.now(UTC))  # then kill -9
        OnDemandService(runtime).start()
        (row,) = runtime.state.runs("hub-a")
        assert (row.run_id, row.status) == ("hub-a-1", "interrupted")
    finally:
        runtime.close()
