"""``meahub serve``: the SPARQL endpoint and, unless disabled, scheduled harvests, in one process.

The embedded store allows one writing process, so scheduled harvests run in this process (on a
background thread, one run per source at a time) rather than in a second one.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

import uvicorn
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from sparql import create_app

from .dumps import refresh_dumps
from .runtime import Runtime
from .settings import SourceConfig

__all__ = ["build_scheduler", "serve", "status_snapshot"]

log = logging.getLogger(__name__)


def status_snapshot(runtime: Runtime) -> dict[str, Any]:
    """The ``/status`` document: the last run of every source, newest first."""
    latest: dict[str, Any] = {}
    for run in runtime.state.runs(limit=500):
        latest.setdefault(run.source, {**run.report, "status": run.status, "ended": run.ended})
    sources = {s.name: latest.get(s.name) for s in runtime.settings.sources}
    return {"sources": sources, "quads": len(runtime.store)}


def build_scheduler(runtime: Runtime) -> BackgroundScheduler:
    """One job per source with a ``cron`` or ``interval``; runs never overlap, missed ones
    coalesce into one."""
    scheduler = BackgroundScheduler(timezone="UTC")
    for config in runtime.settings.sources:
        trigger = _trigger(config)
        if trigger is None:
            continue
        scheduler.add_job(
            _scheduled_harvest,
            trigger,
            args=[runtime, config],
            id=f"harvest:{config.name}",
            max_instances=1,
            coalesce=True,
            misfire_grace_time=None,
        )
    return scheduler


def _trigger(config: SourceConfig) -> CronTrigger | IntervalTrigger | None:
    if config.cron:
        return CronTrigger.from_crontab(config.cron, timezone="UTC")
    if config.interval:
        return IntervalTrigger(seconds=config.interval)
    return None


def _scheduled_harvest(runtime: Runtime, config: SourceConfig) -> None:
    report = runtime.harvest(config)
    refresh_dumps(runtime.store, runtime.settings.server)
    log.info(
        "scheduled harvest of %s: %s %s", config.name, report.status.value, dict(report.counts)
    )


def serve(runtime: Runtime, *, host: str, port: int, scheduler: bool = True) -> None:
    """Serve until interrupted."""
    app = create_app(
        runtime.store, runtime.settings.server, status=lambda: status_snapshot(runtime)
    )
    jobs = build_scheduler(runtime) if scheduler else None
    if jobs is not None:
        jobs.start()
    _access_logging()
    try:
        uvicorn.run(app, host=host, port=port, log_level="info", access_log=False)
    finally:
        if jobs is not None:
            jobs.shutdown(wait=False)


def _access_logging() -> None:
    """One JSON line per request on stderr (``meahub.access``), instead of uvicorn's own
    access log: plain, so a log shipper can read it, and cheap on the hot path."""
    access = logging.getLogger("meahub.access")
    if not access.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(message)s"))
        access.addHandler(handler)
    access.setLevel(logging.INFO)
    access.propagate = False
