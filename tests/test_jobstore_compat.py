"""A job store written before ``harvester/`` was grouped into subpackages (issue 13) still loads
and runs its jobs: ``tests/data/jobstore-before-relayout.sqlite`` was written by the code of
before the move (see ``tests/data/jobstore-before-relayout.md``); its jobs name the function by
the old import path."""

from __future__ import annotations

import pickle
import shutil
import sqlite3
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from apscheduler.util import ref_to_obj

from harvester.demo import ODataProvider
from harvester.demo.paced import Paced, serve_providers
from harvester.service.jobstore import MOVED_MODULES
from harvester.service.runtime import Runtime
from harvester.service.scheduler import HarvestService, next_run_times, run_job
from harvester.settings import Settings, settings_from_mapping

from .conftest import HUB, small_dataset

OLD_STORE = Path(__file__).parent / "data" / "jobstore-before-relayout.sqlite"
OLD_FUNCTION = "harvester.scheduler:run_job"  # relayout: keep
FAR = datetime(2100, 1, 1, tzinfo=UTC)


def stored_functions(path: Path) -> dict[str, str]:
    """Job id to the function path in each stored job's state, read from the file itself."""
    with sqlite3.connect(path) as db:
        rows = db.execute("SELECT id, job_state FROM apscheduler_jobs").fetchall()
    return {job_id: pickle.loads(state)["func"] for job_id, state in rows}


def old_settings(tmp_path: Path, base: str) -> Settings:
    """The configuration the old job store was written for, over a copy of it."""
    jobs = tmp_path / "jobs.sqlite"
    shutil.copyfile(OLD_STORE, jobs)
    common = {"kind": "informea-odata", "url": f"{base}/prov/informea.svc", "rate": 0,
              "entities": ["Decisions"], "page_size": 10, "retries": 0}  # fmt: skip
    return settings_from_mapping(
        {
            "store": {"path": str(tmp_path / "store"), "state_dir": str(tmp_path / "state")},
            "server": {"base_iri": HUB},
            "scheduler": {"jobstore_url": f"sqlite:///{jobs}"},
            "sources": [
                {"name": "prov", "interval": "3600s", **common},
                {"name": "cronsrc", "cron": "0 3 * * 0", "timezone": "Europe/Paris", **common},
            ],
        }
    )


@pytest.fixture
def base() -> Iterator[str]:
    def build(url: str) -> dict[str, Paced]:
        inner = ODataProvider(small_dataset(), base_url=f"{url}/prov/informea.svc")
        return {"prov": Paced(inner, 0.0)}

    with serve_providers(build) as url:
        yield url


def wait_for(predicate: Callable[[], Any], timeout: float = 20.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError("condition not met in time")


def test_the_old_job_store_names_the_old_function_path() -> None:
    assert stored_functions(OLD_STORE) == {
        "harvest:prov": OLD_FUNCTION,
        "harvest:cronsrc": OLD_FUNCTION,
        "retry:prov": OLD_FUNCTION,
    }


def test_every_moved_module_leads_to_the_job_function() -> None:
    old_module, _, name = OLD_FUNCTION.partition(":")
    assert ref_to_obj(f"{MOVED_MODULES[old_module]}:{name}") is run_job


def test_status_reads_the_old_jobs_and_keeps_them(tmp_path: Path) -> None:
    settings = old_settings(tmp_path, "http://127.0.0.1:9")
    times = next_run_times(settings)
    assert times["cronsrc"] == FAR  # the stored time, not one computed from the cron
    retry = times["prov"]  # the retry, due before the stored regular run
    assert retry is not None and retry < datetime.now(UTC)
    jobs = tmp_path / "jobs.sqlite"
    assert stored_functions(jobs) == dict.fromkeys(
        ["harvest:prov", "harvest:cronsrc", "retry:prov"], f"{run_job.__module__}:run_job"
    )


def test_a_server_over_the_old_job_store_keeps_and_runs_its_jobs(tmp_path: Path, base: str) -> None:
    settings = old_settings(tmp_path, base)
    runtime = Runtime.open(settings)
    service = HarvestService(runtime)
    try:
        service.start()
        # the retry stored before the move was due: it runs at once, and goes once it succeeded
        runs = wait_for(lambda: [r for r in runtime.state.runs("prov", limit=10) if r.ended])
        assert [r.status for r in runs] == ["ok"]
        assert runs[0].report["counts"]["added"] == 30
        wait_for(lambda: service.scheduler.get_job("retry:prov", jobstore="default") is None)
        for name in ("prov", "cronsrc"):  # kept as stored (same schedule), not scheduled anew
            job = service.scheduler.get_job(f"harvest:{name}", jobstore="default")
            assert job is not None and job.func is run_job and job.next_run_time == FAR
        assert not runtime.state.runs("cronsrc", limit=10)
    finally:
        service.stop()
        runtime.close()
