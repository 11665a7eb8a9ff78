"""``harvester.mapping.transform``: one set of transform workers per process, shared by its runs."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from harvester.mapping.engine import MappingContext
from harvester.mapping.transform import (
    _WORKERS,
    WORKER_NICENESS,
    Job,
    Transformer,
    TransformPool,
    shutdown_workers,
)

CTX = MappingContext(base_iri="http://hub.test/", source="s", run_iri="http://hub.test/run/1")
TREATY = {"id": "cbd", "title": [{"language": "en", "value": "Convention on Biological Diversity"}]}


@pytest.fixture(autouse=True)
def _fresh_workers() -> Iterator[None]:
    shutdown_workers()
    yield
    shutdown_workers()


def _pids() -> set[int]:
    executor = _WORKERS.get(2)
    return set(getattr(executor, "_processes", {}) or {})


def _run(pool: TransformPool) -> str:
    result = pool.submit([Job("Treaties", "cbd", TREATY, "http://src.test/Treaties('cbd')")], CTX)
    return result.result(timeout=60)[0].text


def test_runs_of_one_process_share_the_worker_processes() -> None:
    first = TransformPool("informea-odata", linking=False, threshold=0.5, workers=2)
    text = _run(first)
    started = _pids()
    first.close()
    second = TransformPool("cbd-decisions", linking=False, threshold=0.5, workers=2)
    second.close()
    third = TransformPool("informea-odata", linking=False, threshold=0.5, workers=2)
    assert _run(third) == text  # same transform as before the first run's close
    assert started and _pids() == started  # and no new worker process was started for it


def test_worker_transforms_equal_the_in_process_transform() -> None:
    from harvester.mapping.engine import MappingRegistry
    from harvester.mapping.enrich import Enricher
    from harvester.mapping.validate import ShapeChecker
    from harvester.paths import MAPPINGS_DIR

    local = Transformer(
        MappingRegistry.load(MAPPINGS_DIR, "informea-odata"),
        ShapeChecker.from_file(),
        Enricher(None, 0.5),
    )
    job = Job("Treaties", "cbd", TREATY, "http://src.test/Treaties('cbd')")
    pool = TransformPool("informea-odata", linking=False, threshold=0.5, workers=2)
    assert _run(pool) == local(job, CTX).text != ""


def test_shutdown_stops_the_workers_and_the_next_batch_starts_them_again() -> None:
    pool = TransformPool("informea-odata", linking=False, threshold=0.5, workers=2)
    _run(pool)
    before = _pids()
    shutdown_workers()
    assert _run(pool)
    assert _pids().isdisjoint(before)


def _niceness() -> int:
    import os

    return os.nice(0)


def test_workers_run_below_the_servers_priority() -> None:
    import os

    pool = TransformPool("informea-odata", linking=False, threshold=0.5, workers=2)
    _run(pool)
    executor = _WORKERS.get(2)
    assert executor.submit(_niceness).result(timeout=60) == os.nice(0) + WORKER_NICENESS
