"""Admin-triggered harvests in ``meahub serve --no-scheduler``: no schedule, no retries, but
``POST /admin/harvest/{source}`` still works (issue 15).

Runs asked for go to one background thread of the server, in order, one at a time (the store has
one writer, as under the scheduler); a source with a run queued or going answers 409. A run is
the scheduler's own (:class:`~harvester.service.scheduler.HarvestService`: the same tickets, run
history, state and dumps refresh), so ``GET /admin/runs/{id}`` and ``/status`` show it as they
show a scheduled run; only the scheduling (APScheduler, its job store) and the retries are left
out.
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any

from apscheduler.jobstores.memory import MemoryJobStore

from ..settings import SourceConfig
from .runtime import Runtime
from .scheduler import HarvestService
from .status import status_snapshot

__all__ = ["OnDemandService", "on_demand_status"]

log = logging.getLogger(__name__)


class OnDemandService(HarvestService):
    """The runs of a server without a scheduler: only those the admin API asks for.

    :param runtime: the open runtime (store, state) the runs write to.
    """

    def __init__(self, runtime: Runtime) -> None:
        # a job store in memory: nothing is scheduled, so nothing is stored (no jobs.sqlite)
        super().__init__(runtime, jobstore=MemoryJobStore())
        self._runs = ThreadPoolExecutor(max_workers=1, thread_name_prefix="meahub-admin-run")

    def start(self) -> None:
        """Record the runs a crash left open (as the scheduler does); schedule nothing."""
        self._close_stale_runs()

    def stop(self, reason: str = "interrupted") -> None:
        """Interrupt the running run at its next boundary, drop queued ones, and wait (nothing
        writes to the store after this returns). Idempotent."""
        self._stopping = True
        with self._lock:
            for control in self._active.values():
                control.cancel(reason)
        self._runs.shutdown(wait=True)
        with self._lock:
            self._idle.wait_for(lambda: self._working == 0)
        self._dumps.close(timeout=10.0)

    def trigger(self, source: str, *, full: bool = False, allow_mass_delete: bool = False) -> str:
        """Queue a run of ``source`` on the server's run thread; returns its run id.

        :raises ConfigError: for an unknown source.
        :raises HarvestBusyError: when a run of that source is queued or running.
        """
        self.runtime.settings.source(source)
        control = self._claim(source)
        assert control.run_id is not None
        options = {"full": full, "allow_mass_delete": allow_mass_delete}
        self._runs.submit(self._run_logged, source, control.run_id, options)
        return control.run_id

    def _run_logged(self, source: str, run_id: str, options: dict[str, bool]) -> None:
        try:
            self.run_claimed(source, run_id, **options)
        except Exception:  # a thread of its own: nobody else would see it
            log.exception("run %s of %s failed", run_id, source)

    def next_runs(self) -> dict[str, datetime | None]:
        """Nothing is scheduled."""
        return {c.name: None for c in self.runtime.settings.sources}

    def _schedule_retry(self, config: SourceConfig) -> None:
        """No scheduler: a failed run is retried when asked for again."""

    def _remove_retry(self, source: str) -> None:
        """No scheduler: no retry to remove."""


def on_demand_status(runtime: Runtime, service: OnDemandService) -> dict[str, Any]:
    """The status document of a server without a scheduler: as without one (``"scheduler":
    false``, next runs from the job store), with the admin-asked run going now per source."""
    snapshot = status_snapshot(runtime, None)
    running = service.running()
    for name, source in snapshot["sources"].items():
        source["running"] = running.get(name)
    return snapshot
