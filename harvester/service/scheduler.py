"""Scheduled harvests inside ``meahub serve``: APScheduler 3.x, a persistent job store, retries.

- One job per source with a ``cron`` (5 fields, in the source's ``timezone``, UTC by default) or
  an ``interval``, with optional ``jitter``; sources without either run only on demand. Jobs
  have ``max_instances=1`` and ``coalesce=True``: a run never overlaps itself and runs missed
  while the server was down (or busy) come back as one.
- Jobs live in a SQLAlchemy job store (``[scheduler] jobstore_url``; by default SQLite at
  ``<state_dir>/jobs.sqlite``), so the schedule survives a restart. A stored job references the
  module-level :func:`run_job` and the source *name* only (picklable); the function finds the
  running :class:`HarvestService` through a module-level registry set by :meth:`start`. On
  start the stored jobs are reconciled with the configuration: new sources are added, changed
  schedules replaced, removed sources dropped, unchanged jobs keep their next run time.
- Runs go one at a time (one executor thread): the store has one writer, and two runs staging
  generations side by side would lose one another's changes. A run waits in the queue instead.
- A failed run is retried once at ``min(retry_base * 2**(failures-1), half the time to the next
  regular run)``, a one-off job in the job store; the next failure schedules the next retry
  (doubling), a success removes it. A source failing ``flag_after_failures`` runs in a row is
  flagged in ``/status`` and ``/metrics``; so is one whose runs withheld deletions
  ``flag_after_withheld_runs`` times in a row (``[harvest]``, or per source; see
  :meth:`harvester.state.HarvestState.withheld_streak`).
- Every run has a :class:`~harvester.control.RunControl`: past ``max_run_seconds`` it is
  cancelled at the next record or page boundary; :meth:`stop` (the server shutting down)
  interrupts it there. Either way nothing of it is committed and its run is recorded.
"""

from __future__ import annotations

import contextlib
import logging
import re
import threading
from collections import OrderedDict
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.base import BaseJobStore
from apscheduler.jobstores.memory import MemoryJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.date import DateTrigger
from apscheduler.triggers.interval import IntervalTrigger

from ..control import RunControl
from ..exceptions import HarvestBusyError, MeaHubError
from ..history import RunDescription, RunHistory
from ..mapping.engine import MappingRegistry
from ..models import RunStatus, SourceReport
from ..paths import MAPPINGS_DIR
from ..priority import nice_thread, nice_threads_named
from ..settings import Settings, SourceConfig
from ..store.dumps import BackgroundDumps, refresh_dumps
from .jobstore import JobStore
from .runtime import Runtime

__all__ = [
    "HarvestService",
    "jobstore_url",
    "next_run_times",
    "run_job",
    "run_now",
    "schedule_spec",
    "trigger_for",
]

log = logging.getLogger(__name__)

JOB_PREFIX = "harvest:"
RETRY_PREFIX = "retry:"
_FAILED = frozenset({RunStatus.FAILED.value, RunStatus.CANCELLED.value, "error"})
_TICKETS_KEPT = 200
_DOW_NAMES = ("sun", "mon", "tue", "wed", "thu", "fri", "sat", "sun")

#: The service of this process, for the job functions (set by start, cleared by stop).
_ACTIVE: HarvestService | None = None


def run_job(source: str) -> None:
    """The function every stored job calls: a scheduled (or retry) run of ``source``."""
    service = _ACTIVE
    if service is None:
        log.warning("scheduled run of %s skipped: no harvest service is running", source)
        return
    service.run_scheduled(source)


def run_now(source: str, run_id: str, full: bool, allow_mass_delete: bool) -> None:
    """The function of a one-off run asked for through the admin API."""
    service = _ACTIVE
    if service is not None:
        service.run_claimed(source, run_id, full=full, allow_mass_delete=allow_mass_delete)


# -- schedules --------------------------------------------------------------------------------


def schedule_spec(config: SourceConfig) -> str | None:
    """A text naming the source's schedule (stored as the job's name: a changed text means a
    changed schedule); None for an on-demand source."""
    jitter = f", jitter {config.jitter:g}s" if config.jitter else ""
    if config.cron:
        return f"{config.name}: cron '{config.cron}' {config.timezone}{jitter}"
    if config.interval:
        return f"{config.name}: every {config.interval:g}s{jitter}"
    return None


def trigger_for(config: SourceConfig) -> CronTrigger | IntervalTrigger | None:
    """The APScheduler trigger of a source's schedule (None: on demand only)."""
    if config.cron:
        trigger = CronTrigger.from_crontab(_cron_names(config.cron), timezone=config.timezone)
        trigger.jitter = config.jitter
        return trigger
    if config.interval:
        return IntervalTrigger(seconds=config.interval, jitter=config.jitter, timezone=UTC)
    return None


def _cron_names(cron: str) -> str:
    """Cron numbers days of the week from Sunday = 0, APScheduler 3.x from Monday = 0: write
    the day-of-week field with names, so ``0 3 * * 0`` means Sunday as in crontab."""
    fields = cron.split()
    fields[4] = re.sub(r"(?<![/\d])([0-7])(?!\d)", lambda m: _DOW_NAMES[int(m[1])], fields[4])
    return " ".join(fields)


def jobstore_url(settings: Settings) -> str:
    """The configured SQLAlchemy URL, or SQLite in the state directory."""
    if settings.scheduler.jobstore_url:
        return settings.scheduler.jobstore_url
    settings.store.state_dir.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{settings.store.state_dir / 'jobs.sqlite'}"


def next_run_times(settings: Settings) -> dict[str, datetime | None]:
    """Next run per source without a running scheduler: from the job store when it has the
    job, else computed from the trigger (what a start would schedule)."""
    store = JobStore(url=jobstore_url(settings))
    store.start(None, "default")
    try:
        stored = {job.id: job.next_run_time for job in store.get_all_jobs()}
    finally:
        store.shutdown()
    return {c.name: _next_of(c, stored) for c in settings.sources}


def _next_of(config: SourceConfig, stored: dict[str, datetime | None]) -> datetime | None:
    times = [stored.get(JOB_PREFIX + config.name), stored.get(RETRY_PREFIX + config.name)]
    trigger = trigger_for(config)
    if JOB_PREFIX + config.name not in stored and trigger is not None:
        times.append(trigger.get_next_fire_time(None, datetime.now(UTC)))
    return min((t for t in times if t is not None), default=None)


def retry_delay(failures: int, base: float, until_next: float | None) -> float | None:
    """Seconds to the retry after the ``failures``-th failure in a row: doubling from ``base``,
    at most half the time to the next regular run; None when that leaves no room."""
    delay = base * 2 ** max(failures - 1, 0)
    if until_next is not None:
        delay = min(delay, until_next / 2)
    return delay if delay >= 1 else None


# -- the service ------------------------------------------------------------------------------


#: how long a shutdown waits for dumps being written (they read an immutable generation, so one
#: cut short leaves only its temporary files; the next refresh writes them again)
_DUMPS_SHUTDOWN_SECONDS = 10.0


class HarvestService:
    """The scheduler of one ``meahub serve`` process and the runs it makes.

    :param runtime: the open runtime (store, state) the runs write to.
    :param jobstore: the persistent job store (default: from ``[scheduler]``; tests pass one).
    """

    def __init__(self, runtime: Runtime, *, jobstore: BaseJobStore | None = None) -> None:
        self.runtime = runtime
        self.config = runtime.settings.scheduler
        self.scheduler = BackgroundScheduler(
            jobstores={
                "default": jobstore or JobStore(url=jobstore_url(runtime.settings)),
                "volatile": MemoryJobStore(),
            },
            executors={"default": ThreadPoolExecutor(max_workers=1)},
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
            timezone=UTC,
        )
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._working = 0
        self._active: dict[str, RunControl] = {}
        self._tickets: OrderedDict[str, dict[str, Any]] = OrderedDict()
        self._stopping = False
        self._dumps = BackgroundDumps(lambda: refresh_dumps(runtime.store, runtime.settings.server))

    # -- life cycle ---------------------------------------------------------------------------

    def start(self) -> None:
        """Record runs a crash left open, reconcile the stored jobs, and start scheduling."""
        global _ACTIVE
        _ACTIVE = self
        self._close_stale_runs()
        self.scheduler.start(paused=True)
        self.reconcile()
        self.scheduler.resume()

    def stop(self, reason: str = "interrupted") -> None:
        """Interrupt running runs at their next boundary, drop queued ones, and wait for the
        executor (so nothing writes to the store after this returns)."""
        global _ACTIVE
        self._stopping = True
        with self._lock:
            for control in self._active.values():
                control.cancel(reason)
            # APScheduler's shutdown holds its job store lock while it waits for the executor:
            # a run still calling the scheduler then would deadlock, so wait for runs first.
            self._idle.wait_for(lambda: self._working == 0)
        if self.scheduler.running:
            self.scheduler.shutdown(wait=True)
        self._dumps.close(timeout=_DUMPS_SHUTDOWN_SECONDS)
        if _ACTIVE is self:
            _ACTIVE = None

    def reconcile(self) -> None:
        """Make the stored jobs match the configuration; unchanged jobs keep their next run."""
        wanted = {c.name: c for c in self.runtime.settings.sources if schedule_spec(c)}
        for job in self.scheduler.get_jobs(jobstore="default"):
            prefix, _, name = job.id.partition(":")
            if name not in wanted or f"{prefix}:" not in (JOB_PREFIX, RETRY_PREFIX):
                log.info("removing the job %s: its source is no longer scheduled", job.id)
                job.remove()
        for config in wanted.values():
            self._reconcile_one(config)

    def _reconcile_one(self, config: SourceConfig) -> None:
        job_id, spec, trigger = JOB_PREFIX + config.name, schedule_spec(config), trigger_for(config)
        existing = self.scheduler.get_job(job_id, jobstore="default")
        if existing is None:
            self.scheduler.add_job(
                run_job, trigger, args=[config.name], id=job_id, name=spec, jobstore="default"
            )
            log.info("scheduled %s", spec)
        elif existing.name != spec:
            self.scheduler.reschedule_job(job_id, jobstore="default", trigger=trigger)
            self.scheduler.modify_job(job_id, jobstore="default", name=spec)
            log.info("rescheduled %s (was %s)", spec, existing.name)

    # -- runs ---------------------------------------------------------------------------------

    def trigger(self, source: str, *, full: bool = False, allow_mass_delete: bool = False) -> str:
        """Queue a run of ``source`` now; returns its run id.

        :raises ConfigError: for an unknown source.
        :raises HarvestBusyError: when a run of that source is queued or running.
        """
        self.runtime.settings.source(source)
        control = self._claim(source)
        assert control.run_id is not None
        self.scheduler.add_job(
            run_now,
            args=[source, control.run_id, full, allow_mass_delete],
            id=f"now:{control.run_id}",
            jobstore="volatile",
        )
        return control.run_id

    def run_scheduled(self, source: str) -> None:
        """A scheduled run: skipped (logged) when one of that source is already going."""
        try:
            control = self._claim(source)
        except HarvestBusyError:
            log.warning("scheduled run of %s skipped: a run of it is still going", source)
            return
        assert control.run_id is not None
        self.run_claimed(source, control.run_id)

    @contextlib.contextmanager
    def _work(self) -> Iterator[None]:
        """Counts the job threads at work, for :meth:`stop`."""
        with self._lock:
            self._working += 1
        try:
            yield
        finally:
            with self._lock:
                self._working -= 1
                self._idle.notify_all()

    def run_claimed(
        self, source: str, run_id: str, *, full: bool = False, allow_mass_delete: bool = False
    ) -> SourceReport | None:
        """Run a claimed source (unless the service is stopping), then release it."""
        with self._work():
            return self._run_claimed(source, run_id, full, allow_mass_delete)

    def _run_claimed(
        self, source: str, run_id: str, full: bool, allow_mass_delete: bool
    ) -> SourceReport | None:
        control = self._active[source]
        try:
            if self._stopping:
                self._ticket(run_id, status="dropped", ended=_now())
                return None
            done = self._execute(source, control, full, allow_mass_delete)
        finally:
            with self._lock:
                self._active.pop(source, None)
        if done is None:
            return None
        self._after(*done)  # released first: whoever sees the outcome may start the next run
        return done[1]

    def _execute(
        self, source: str, control: RunControl, full: bool, allow_mass_delete: bool
    ) -> tuple[SourceConfig, SourceReport] | None:
        try:
            config = self.runtime.settings.source(source)
        except MeaHubError as exc:
            log.warning("run of %s skipped: %s", source, exc)
            return None
        assert control.run_id is not None
        control.arm(config.max_run_seconds)
        self._ticket(control.run_id, status="running", started=_now())
        _nice_harvest()
        try:
            report = self.runtime.harvest(
                config, full=full, allow_mass_delete=allow_mass_delete, control=control
            )
        except Exception as exc:
            log.exception("run %s of %s failed in the store", control.run_id, source)
            self._ticket(control.run_id, status="error", ended=_now(), error=str(exc))
            return None
        return config, report

    def _after(self, config: SourceConfig, report: SourceReport) -> None:
        self._ticket(report.run_id, status=report.status.value, ended=_now(), report=report)
        if report.status is RunStatus.OK and report.changed:
            self._dumps.request()  # written on a thread of its own: the next run need not wait
        withheld_flag = (
            config.flag_after_withheld_runs
            or self.runtime.settings.harvest.flag_after_withheld_runs
        )
        # enough runs kept to tell either streak (failures, withheld deletions) at its flag
        flags = max(self.config.flag_after_failures, withheld_flag)
        keep = max(self.config.history_runs, flags + 1)
        self.runtime.state.prune_runs(config.name, keep)
        counts = dict(report.counts)
        log.info("run %s of %s: %s %s", report.run_id, config.name, report.status.value, counts)
        if self._stopping:
            return  # the scheduler is going down: leave its jobs alone
        if report.status is RunStatus.OK:
            self._remove_retry(config.name)
        elif report.status is not RunStatus.INTERRUPTED and not self._stopping:
            self._schedule_retry(config)

    def _schedule_retry(self, config: SourceConfig) -> None:
        if trigger_for(config) is None:
            return  # an on-demand source is retried on demand
        job = self.scheduler.get_job(JOB_PREFIX + config.name, jobstore="default")
        until_next = None
        if job is not None and job.next_run_time is not None:
            until_next = (job.next_run_time - _now()).total_seconds()
        failures = self.consecutive_failures(config.name)
        delay = retry_delay(failures, self.config.retry_base, until_next)
        if delay is None:
            return
        self.scheduler.add_job(
            run_job,
            DateTrigger(_now() + timedelta(seconds=delay)),
            args=[config.name],
            id=RETRY_PREFIX + config.name,
            name=f"{config.name}: retry after {failures} failure(s)",
            jobstore="default",
            replace_existing=True,
        )
        log.warning("%s failed %d time(s) in a row; retry in %.0f s", config.name, failures, delay)

    def _remove_retry(self, source: str) -> None:
        if self.scheduler.get_job(RETRY_PREFIX + source, jobstore="default") is not None:
            self.scheduler.remove_job(RETRY_PREFIX + source, jobstore="default")

    def _claim(self, source: str) -> RunControl:
        with self._lock:
            if source in self._active:
                busy = self._active[source].run_id
                raise HarvestBusyError(f"run {busy} of {source} is still going", run_id=busy)
            stamp = _now().strftime("%Y%m%dT%H%M%S%fZ")
            control = RunControl(run_id=f"{source}-{stamp}")
            self._active[source] = control
        self._ticket(control.run_id or "", source=source, status="queued", queued=_now())
        return control

    def _ticket(self, run_id: str, **values: Any) -> None:
        with self._lock:
            ticket = self._tickets.setdefault(run_id, {"run_id": run_id})
            report = values.pop("report", None)
            ticket.update(values)
            if report is not None:
                ticket["report"] = report.to_dict()
            self._tickets.move_to_end(run_id)
            while len(self._tickets) > _TICKETS_KEPT:
                self._tickets.popitem(last=False)

    # -- what operators see -------------------------------------------------------------------

    def run_status(self, run_id: str) -> dict[str, Any] | None:
        """A run asked for (or made) by this process, else one from the run history."""
        with self._lock:
            ticket = self._tickets.get(run_id)
            if ticket is not None:
                return dict(ticket)
        row = self.runtime.state.run(run_id)
        if row is None:
            return None
        return {
            "run_id": row.run_id,
            "source": row.source,
            "status": row.status,
            "started": row.started,
            "ended": row.ended,
            "report": row.report,
        }

    def running(self) -> dict[str, str]:
        """Source name to the id of its queued or running run."""
        with self._lock:
            return {name: c.run_id or "" for name, c in self._active.items()}

    def next_runs(self) -> dict[str, datetime | None]:
        """Next run (regular or retry) per configured source, from the live scheduler."""
        stored = {job.id: job.next_run_time for job in self.scheduler.get_jobs()}
        return {c.name: _next_of(c, stored) for c in self.runtime.settings.sources}

    def consecutive_failures(self, source: str) -> int:
        """Failed or cancelled runs since the last good one (interrupted runs do not count)."""
        return consecutive_failures(self.runtime, source)

    def _close_stale_runs(self) -> None:
        close_stale_runs(self.runtime)


def consecutive_failures(runtime: Runtime, source: str, limit: int = 100) -> int:
    """Failed or cancelled runs of ``source`` since its last good one, newest first."""
    count = 0
    for run in runtime.state.runs(source, limit=limit):
        if run.status == RunStatus.OK.value:
            break
        count += run.status in _FAILED
    return count


def close_stale_runs(runtime: Runtime) -> None:
    """Runs a crash (or ``kill -9``) left 'running' are recorded as interrupted, in the state
    and as run descriptions in the store; their changes were never published."""
    stale = [r for r in runtime.state.runs(limit=1000) if r.status == "running"]
    history = RunHistory(
        runtime.store, runtime.settings.server.base_iri, runtime.settings.scheduler.history_runs
    )
    for row in stale:
        report = SourceReport(
            source=row.source,
            run_id=row.run_id,
            started=datetime.fromisoformat(row.started),
            status=RunStatus.INTERRUPTED,
            error="the process ended during the run (crash or kill); nothing of it was committed",
        )
        history.write(_description(runtime, report))
        runtime.state.finish_run(row.run_id, report.status.value, report.to_dict())
        log.warning("run %s of %s was left open by a crash: interrupted", row.run_id, row.source)


def _description(runtime: Runtime, report: SourceReport) -> RunDescription:
    configs = {c.name: c for c in runtime.settings.sources}
    config = configs.get(report.source)
    digest = ""
    if config is not None and config.kind != "ldes":  # a followed feed has no mappings
        digest = MappingRegistry.load(MAPPINGS_DIR, config.kind).digest
    return RunDescription(
        report=report,
        base_iri=runtime.settings.server.base_iri,
        used=config.url if config else runtime.settings.server.base_iri,
        mapping_digest=digest,
        ended=_now(),
    )


def _now() -> datetime:
    return datetime.now(UTC)


def _nice_harvest() -> None:
    """A server's harvest runs niced (``harvester.priority``): its thread and the threads it
    starts (fetch, commit), and RocksDB's compaction threads, so the requests and the query
    workers answering meanwhile go first."""
    nice_thread()
    nice_threads_named("rocksdb:")
