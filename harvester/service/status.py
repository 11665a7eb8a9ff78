"""The harvest status document (``GET /status``, ``meahub status``): per source its last run, its
recent run history read back from the store (the ``mea:HarvestRun`` graphs), its schedule and
next run, the run going now, the deletions its runs withheld, and whether it is flagged for
failing, or for withholding deletions, too many runs in a row."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy.exc import SQLAlchemyError

from ..history import recent_runs
from ..settings import SourceConfig
from .runtime import Runtime
from .scheduler import consecutive_failures, next_run_times, schedule_spec

if TYPE_CHECKING:
    from .scheduler import HarvestService

__all__ = ["status_snapshot"]

log = logging.getLogger(__name__)

#: Failed records listed per source in the status (the run history in the store has more).
_FAILURES_SHOWN = 20


def status_snapshot(runtime: Runtime, service: HarvestService | None = None) -> dict[str, Any]:
    """The status document; ``service`` is the live scheduler (None: read the job store)."""
    next_runs = service.next_runs() if service is not None else _stored_next_runs(runtime)
    running = service.running() if service is not None else {}
    latest = _latest_finished(runtime)
    sources = {
        config.name: _source_status(
            runtime, config, latest.get(config.name), next_runs.get(config.name), running
        )
        for config in runtime.settings.sources
    }
    return {"sources": sources, "quads": len(runtime.store), "scheduler": service is not None}


def _source_status(
    runtime: Runtime,
    config: SourceConfig,
    last: dict[str, Any] | None,
    next_run: datetime | None,
    running: dict[str, str],
) -> dict[str, Any]:
    failures = consecutive_failures(runtime, config.name)
    base_iri = runtime.settings.server.base_iri
    return {
        **(last or {}),
        "schedule": schedule_spec(config),
        "next_run": next_run.isoformat() if next_run else None,
        "running": running.get(config.name),
        "consecutive_failures": failures,
        **_flags(runtime, config, failures),
        "history": recent_runs(runtime.store, base_iri, config.name, limit=5),
    }


def _flags(runtime: Runtime, config: SourceConfig, failures: int) -> dict[str, Any]:
    """The deletions the source's runs withheld (those of the newest run of the streak), the
    streak's length, and the flags with their reasons (``flagged``: either flag)."""
    streak, withheld = runtime.state.withheld_streak(config.name)
    limit = config.flag_after_withheld_runs or runtime.settings.harvest.flag_after_withheld_runs
    failing = failures >= runtime.settings.scheduler.flag_after_failures
    flagged = streak >= limit
    reasons = []
    if failing:
        reasons.append(
            f"failed {failures} runs in a row "
            f"(flag_after_failures = {runtime.settings.scheduler.flag_after_failures})"
        )
    if flagged:
        why = "; ".join(str(w.get("message")) for w in withheld)
        reasons.append(
            f"deletions withheld in {streak} runs in a row "
            f"(flag_after_withheld_runs = {limit}): {why}"
        )
    return {
        "consecutive_withheld_runs": streak,
        "deletions_withheld": withheld,
        "deletions_withheld_count": sum(int(w.get("count") or 0) for w in withheld),
        "deletions_withheld_unknown": any(w.get("count") is None for w in withheld),
        "failing_flagged": failing,
        "withheld_flagged": flagged,
        "flagged": failing or flagged,
        "flag_reasons": reasons,
    }


def _latest_finished(runtime: Runtime) -> dict[str, dict[str, Any]]:
    latest: dict[str, dict[str, Any]] = {}
    for run in runtime.state.runs(limit=500):
        if run.status != "running" and run.source not in latest:
            failures = run.report.get("failures") or []
            latest[run.source] = {
                **run.report,
                "failures": failures[:_FAILURES_SHOWN],
                "failures_total": len(failures),
                "status": run.status,
                "ended": run.ended,
            }
    return latest


def _stored_next_runs(runtime: Runtime) -> dict[str, datetime | None]:
    try:
        return next_run_times(runtime.settings)
    except SQLAlchemyError as exc:
        log.warning("cannot read the job store: %s", exc)
        return {}
