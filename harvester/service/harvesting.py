"""Harvest configured sources one after another from the command line, with a progress line
per source and the summary (``meahub harvest`` and ``meahub demo``)."""

from __future__ import annotations

from collections.abc import Sequence

from ..models import SourceReport
from ..store.dumps import refresh_dumps, spawn_refresh
from .report import output_console, print_reports, progress_for
from .runtime import Runtime

__all__ = ["harvest_all"]


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

    Each source's commit lands in the background while the next source is fetched
    (:meth:`MeaStore.pipelined <harvester.store.embedded.MeaStore.pipelined>`): its reports
    are final when this returns.

    :raises StoreError: when the store fails (after every source's commit has landed).
    """
    console = output_console(stderr=True)
    reports = []
    store = runtime.store
    # one compaction for all the sources; each source's commit lands while the next fetches
    with store.compaction_deferred(), store.pipelined() as chain:
        harvested: set[str] = set()
        for config in runtime.selected(names):
            if chain is not None:
                if config.name in harvested:  # a run reads what its source's last run left
                    chain.wait_all()
                chain.run_landed()
            harvested.add(config.name)
            with progress_for(console, config.name) as progress:
                reports.append(
                    runtime.harvest(
                        config, full=full, allow_mass_delete=allow_mass_delete, progress=progress
                    )
                )
    _dumps_after(runtime)
    if summary:
        print_reports(output_console(), reports)
    return reports


def _dumps_after(runtime: Runtime) -> None:
    """The dumps of what the command harvested, written by a detached process so the command
    does not wait for them (inline for a remote store, which another process cannot open)."""
    settings = runtime.settings
    log_file = settings.store.state_dir / "dumps.log"
    if not spawn_refresh(runtime.store, settings.server, log_file):
        refresh_dumps(runtime.store, settings.server)
