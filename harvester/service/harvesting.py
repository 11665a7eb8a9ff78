"""Harvest configured sources from the command line, several at a time, with a progress line
per source and the summary (``meahub harvest`` and ``meahub demo``)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait

from ..control import RunControl
from ..models import SourceReport
from ..pipeline import ProgressCallback
from ..settings import SourceConfig
from ..store.commits import CommitChain
from ..store.dumps import refresh_dumps, spawn_refresh
from .report import output_console, print_reports, progress_board
from .runtime import Runtime

__all__ = ["harvest_all"]

log = logging.getLogger(__name__)

#: How often the command looks for commits that landed while sources are being fetched.
_POLL_SECONDS = 0.5


def harvest_all(
    runtime: Runtime,
    names: Sequence[str],
    full: bool,
    allow_mass_delete: bool,
    *,
    summary: bool = True,
) -> list[SourceReport]:
    """Harvest the named sources (all when none) with progress on standard error, then print
    the summary on standard output (unless ``summary`` is off).

    Up to ``[harvest] parallel_sources`` sources are fetched at once, and each source's commit
    lands in the background, in turn, while the others go on (:meth:`MeaStore.pipelined
    <harvester.store.embedded.MeaStore.pipelined>`); every report is final when this returns,
    in the order the sources were named. An interrupt (Ctrl-C) stops every run at its next
    record boundary: each commits nothing and is reported interrupted.

    :raises StoreError: when the store fails (after every source's commit has landed).
    """
    console = output_console(stderr=True)
    configs = _unique(runtime.selected(names))
    store = runtime.store
    # one compaction for all the sources; each source's commit lands while the others fetch
    with store.compaction_deferred(), store.pipelined() as chain, progress_board(console) as line:
        at_once = runtime.settings.harvest.parallel_sources if chain is not None else 1

        def run(
            config: SourceConfig, control: RunControl, progress: ProgressCallback
        ) -> SourceReport:
            return runtime.harvest(
                config,
                full=full,
                allow_mass_delete=allow_mass_delete,
                progress=progress,
                control=control,
            )

        reports = _run_all(configs, run, line, chain, at_once)
    _dumps_after(runtime)
    if summary:
        print_reports(output_console(), reports)
    return reports


_Run = Callable[[SourceConfig, RunControl, ProgressCallback], SourceReport]


def _run_all(
    configs: list[SourceConfig],
    run: _Run,
    line: Callable[[str], ProgressCallback],
    chain: CommitChain | None,
    at_once: int,
) -> list[SourceReport]:
    """Each source's run on a thread of its own, ``at_once`` at a time; what waits on the
    commits that landed runs here, in this thread, as they land."""
    controls = {config.name: RunControl() for config in configs}
    with ThreadPoolExecutor(
        max_workers=max(1, at_once), thread_name_prefix="meahub-source"
    ) as pool:
        futures = [
            pool.submit(run, config, controls[config.name], line(config.name)) for config in configs
        ]
        try:
            _wait(futures, chain)
        except BaseException:  # Ctrl-C: every run stops at its next boundary, commits nothing
            for control in controls.values():
                control.cancel("interrupted")
            wait(futures)
            raise
    return [future.result() for future in futures]


def _wait(futures: list[Future[SourceReport]], chain: CommitChain | None) -> None:
    pending = set(futures)
    while pending:
        _, pending = wait(pending, timeout=_POLL_SECONDS, return_when=FIRST_COMPLETED)
        if chain is not None:
            chain.run_landed()


def _unique(configs: list[SourceConfig]) -> list[SourceConfig]:
    """Each source once (a source named twice is harvested once, with a warning)."""
    seen: dict[str, SourceConfig] = {}
    for config in configs:
        if config.name in seen:
            log.warning("source %s named more than once: harvested once", config.name)
        seen.setdefault(config.name, config)
    return list(seen.values())


def _dumps_after(runtime: Runtime) -> None:
    """The dumps of what the command harvested, written by a detached process so the command
    does not wait for them (inline for a remote store, which another process cannot open)."""
    settings = runtime.settings
    log_file = settings.store.state_dir / "dumps.log"
    if not spawn_refresh(runtime.store, settings.server, log_file):
        refresh_dumps(runtime.store, settings.server)
