"""Terminal output of harvest runs: a live progress line per source and summary tables."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from .models import RecordOutcome, RunStatus, SourceReport
from .pipeline import ProgressCallback

__all__ = ["print_reports", "progress_for", "status_table"]

_OUTCOMES = [o.value for o in RecordOutcome]


@contextmanager
def progress_for(console: Console, source: str) -> Iterator[ProgressCallback]:
    """A progress display for one source's run; yields the callback the harvester calls.

    On a terminal it is a live line with the record counts; elsewhere it stays quiet.
    """
    counts: Counter[str] = Counter()
    with Progress(
        SpinnerColumn(),
        TextColumn("[bold]{task.description}"),
        TextColumn("{task.fields[counts]}"),
        TimeElapsedColumn(),
        console=console,
        transient=True,
        disable=not console.is_terminal,
    ) as progress:
        task = progress.add_task(source, total=None, counts="starting")

        def advance(entity: str, outcome: RecordOutcome) -> None:
            counts[outcome.value] += 1
            summary = " ".join(f"{k} {counts[k]}" for k in _OUTCOMES if counts[k])
            progress.update(task, counts=f"{entity}: {summary}")

        yield advance


def print_reports(console: Console, reports: Sequence[SourceReport]) -> None:
    """The per-source summary table, then each source's failures and notes."""
    table = Table(title="harvest summary")
    table.add_column("source")
    table.add_column("status")
    for outcome in _OUTCOMES:
        table.add_column(outcome, justify="right")
    table.add_column("requests", justify="right")
    for report in reports:
        status = Text(
            report.status.value, style="red" if report.status is RunStatus.FAILED else "green"
        )
        counts = [str(report.counts[o]) for o in _OUTCOMES]
        table.add_row(report.source, status, *counts, str(report.requests))
    console.print(table)
    for report in reports:
        _print_details(console, report)


def _print_details(console: Console, report: SourceReport) -> None:
    if report.error:
        console.print(Text(f"{report.source}: FAILED: {report.error}", style="bold red"))
    for withheld in report.withheld:
        how_many = "how many unknown" if withheld.count is None else f"{withheld.count} records"
        line = f"{report.source}: deletions withheld ({how_many}): {withheld.message}"
        console.print(Text(line, style="bold yellow"))
    if report.withheld_flagged:
        line = f"{report.source}: FLAGGED: deletions withheld {report.withheld_runs} runs in a row"
        console.print(Text(line, style="bold red"))
    for failure in report.failures[:20]:
        line = f"{report.source}: {failure.entity} {failure.record_id or '(no id)'} "
        console.print(
            Text(line + f"[{failure.stage}] {failure.message} <{failure.url}>", style="yellow")
        )
    if len(report.failures) > 20:
        console.print(f"{report.source}: ... and {len(report.failures) - 20} more failed records")
    for note in report.notes[:10]:
        console.print(Text(f"{report.source}: {note}", style="dim"))


def status_table(status: Mapping[str, Any]) -> Table:
    """Per source: its last run, failures in a row (flagged), schedule and next run."""
    table = Table(title="harvest status")
    columns = ("source", "last run", "status", *_OUTCOMES, "failing", "withheld", "next run")
    for column in (*columns, "error"):
        table.add_column(column)
    for name, entry in (status.get("sources") or {}).items():
        table.add_row(name, *_status_cells(entry or {}))
    return table


def _status_cells(entry: Mapping[str, Any]) -> list[str | Text]:
    counts = entry.get("counts") or {}
    state = str(entry.get("status") or "never")
    if entry.get("running"):
        state += f" (running {entry['running']})"
    failures = str(entry.get("consecutive_failures", 0))
    flagged = entry.get("failing_flagged", entry.get("flagged"))
    failing = Text(failures + " FLAGGED", style="bold red") if flagged else failures
    return [
        str(entry.get("started") or "never"),
        Text(state, style="red" if state not in ("ok", "never") else ""),
        *[str(counts.get(o, 0)) if entry.get("status") else "-" for o in _OUTCOMES],
        failing,
        _withheld_cell(entry),
        str(entry.get("next_run") or ("on demand" if not entry.get("schedule") else "-")),
        Text(str(entry.get("error") or "")),
    ]


def _withheld_cell(entry: Mapping[str, Any]) -> Text:
    """Records whose deletion the source's runs withheld ("?" when unknown), the runs in a row
    that did, and FLAGGED; "-" when the latest runs withheld none."""
    runs = int(entry.get("consecutive_withheld_runs") or 0)
    if not runs:
        return Text("-")
    count = str(entry.get("deletions_withheld_count") or 0)
    if entry.get("deletions_withheld_unknown"):
        count = "?" if count == "0" else count + "+?"
    text = f"{count} ({runs} run{'s' if runs > 1 else ''})"
    if entry.get("withheld_flagged"):
        return Text(text + " FLAGGED", style="bold red")
    return Text(text, style="yellow")
