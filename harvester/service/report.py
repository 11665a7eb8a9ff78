"""Operator output of harvest runs: a live progress line per source, summary and status tables,
and the JSON document of ``meahub harvest --json``.

Nothing printed here is read as console markup: source names, record ids, URLs and reasons come
from configuration or from providers, and a ``[bold]`` or ``[/]`` in them is printed as sent.
Through a pipe or into a log (not a terminal) nothing is cut or wrapped to a terminal width: a
table is as wide as its content, a message is one line.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime
from enum import Enum
from typing import Any

from rich.console import Console
from rich.measure import Measurement
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Column, Table
from rich.text import Text

from ..models import RecordOutcome, RunStatus, SourceReport
from ..pipeline import ProgressCallback

__all__ = [
    "output_console",
    "print_reports",
    "print_status",
    "print_table",
    "progress_for",
    "report_dict",
    "reports_document",
    "status_table",
]

_OUTCOMES = [o.value for o in RecordOutcome]

#: Width of a console that is not a terminal: wide enough that nothing is wrapped or cut.
_UNBOUNDED = 100_000


def output_console(*, stderr: bool = False) -> Console:
    """A console on standard output (or error) for operator messages and tables.

    On a terminal it is rich's usual one; elsewhere (a pipe, a file, a log) it has no width
    limit, so tables take the width of their content and messages stay on one line.
    """
    console = Console(stderr=stderr)
    if not console.is_terminal:
        console.width = _UNBOUNDED
    return console


@contextmanager
def progress_for(console: Console, source: str) -> Iterator[ProgressCallback]:
    """A progress display for one source's run; yields the callback the harvester calls.

    On a terminal it is a live line with the record counts (folded onto more lines rather
    than cut when the terminal is narrow); elsewhere it stays quiet.
    """
    with progress_board(console) as board:
        yield board(source)


@contextmanager
def progress_board(console: Console) -> Iterator[Callable[[str], ProgressCallback]]:
    """One progress display for several sources' runs at once: yields a function that gives
    each source its line (and its callback, which any thread may call)."""
    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}", markup=False, style="bold", table_column=_folded()),
        TextColumn("{task.fields[counts]}", markup=False, table_column=_folded()),
        TimeElapsedColumn(),
        console=console,
        transient=True,
        disable=not console.is_terminal,
    ) as progress:

        def line(source: str) -> ProgressCallback:
            counts: Counter[str] = Counter()
            task = progress.add_task(source, total=None, counts="starting")

            def advance(entity: str, outcome: RecordOutcome) -> None:
                counts[outcome.value] += 1
                summary = " ".join(f"{k} {counts[k]}" for k in _OUTCOMES if counts[k])
                progress.update(task, counts=f"{entity}: {summary}")

            return advance

        yield line


def _folded() -> Column:
    return Column(overflow="fold")


def print_table(console: Console, table: Table) -> None:
    """Print ``table`` without cutting a header or a cell.

    Where it fits (and always off a terminal), as the table at its natural width; on a terminal
    too narrow for it, as one wrapped line per row (``first cell: header value, ...``).
    """
    natural = Measurement.get(console, console.options.update_width(_UNBOUNDED), table).maximum
    if natural <= console.width:
        console.print(table)
    elif not console.is_terminal:
        console.print(table, width=natural)
    else:
        _print_as_lines(console, table)


def _print_as_lines(console: Console, table: Table) -> None:
    if table.title:
        console.print(Text(str(table.title), style="bold"))
    columns = table.columns
    rows = zip(*(list(column.cells) for column in columns), strict=True)
    for row in rows:
        parts: list[Text | str] = [_text(row[0]), ":"]
        for column, cell in zip(columns[1:], row[1:], strict=True):
            if _text(cell).plain:
                parts.extend([" " if len(parts) == 2 else ", ", f"{column.header} ", _text(cell)])
        console.print(Text.assemble(*parts))


def _text(cell: object) -> Text:
    return cell if isinstance(cell, Text) else Text(str(cell))


def print_reports(console: Console, reports: Sequence[SourceReport]) -> None:
    """The per-source summary table, then each source's failures and notes."""
    table = Table(title="harvest summary")
    table.add_column("source", overflow="fold")
    table.add_column("status")
    for outcome in _OUTCOMES:
        table.add_column(outcome, justify="right")
    table.add_column("requests", justify="right")
    for report in reports:
        status = Text(
            report.status.value, style="red" if report.status is not RunStatus.OK else "green"
        )
        counts = [Text(str(report.counts[o])) for o in _OUTCOMES]
        table.add_row(Text(report.source), status, *counts, Text(str(report.requests)))
    print_table(console, table)
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
        more = len(report.failures) - 20
        console.print(Text(f"{report.source}: ... and {more} more failed records"))
    for note in report.notes[:10]:
        console.print(Text(f"{report.source}: {note}", style="dim"))


def print_status(console: Console, status: Mapping[str, Any]) -> None:
    """The status table of :func:`status_table`, never cut (see :func:`print_table`)."""
    print_table(console, status_table(status))


def status_table(status: Mapping[str, Any]) -> Table:
    """Per source: its last run, failures in a row (flagged), schedule and next run."""
    table = Table(title="harvest status")
    columns = ("source", "last run", "status", *_OUTCOMES, "failing", "withheld", "next run")
    for column in (*columns, "error"):
        table.add_column(column, overflow="fold")
    for name, entry in (status.get("sources") or {}).items():
        table.add_row(Text(str(name)), *_status_cells(entry or {}))
    return table


def _status_cells(entry: Mapping[str, Any]) -> list[Text]:
    counts = entry.get("counts") or {}
    state = str(entry.get("status") or "never")
    if entry.get("running"):
        state += f" (running {entry['running']})"
    failures = str(entry.get("consecutive_failures", 0))
    flagged = entry.get("failing_flagged", entry.get("flagged"))
    failing = Text(failures + " FLAGGED", style="bold red") if flagged else failures
    return [
        Text(_when(entry.get("started")) or "never"),
        Text(state, style="red" if state not in ("ok", "never") else ""),
        *[Text(str(counts.get(o, 0)) if entry.get("status") else "-") for o in _OUTCOMES],
        _text(failing),
        _withheld_cell(entry),
        Text(_when(entry.get("next_run")) or ("on demand" if not entry.get("schedule") else "-")),
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


def _when(value: object) -> str:
    """An ISO 8601 time to the second (``2026-03-01 06:00:00+00:00``); "" for none."""
    if not value:
        return ""
    try:
        return datetime.fromisoformat(str(value)).isoformat(sep=" ", timespec="seconds")
    except ValueError:
        return str(value)


# -- JSON -------------------------------------------------------------------------------------


def reports_document(reports: Sequence[SourceReport]) -> dict[str, Any]:
    """The document ``meahub harvest --json`` prints: ``ok`` (every source ran ``ok``) and, per
    source name, :func:`report_dict` of its run."""
    return {
        "ok": all(r.status is RunStatus.OK for r in reports),
        "sources": {r.source: report_dict(r) for r in reports},
    }


def report_dict(report: SourceReport) -> dict[str, Any]:
    """Every field of the report as plain JSON values, plus ``duration_seconds``.

    Built from the dataclass fields and :meth:`SourceReport.to_dict` (which wins where both
    have a key), so a field added to the report appears here as it is; ``counts`` always holds
    every outcome (0 when none).
    """
    data: dict[str, Any] = {**_plain(report), **_plain(report.to_dict())}
    data["counts"] = {**{o: report.counts[o] for o in _OUTCOMES}, **data["counts"]}
    ended = report.ended
    data["duration_seconds"] = (
        round((ended - report.started).total_seconds(), 3) if ended is not None else None
    )
    return data


def _plain(value: Any) -> Any:
    """``value`` as JSON-ready data: dataclasses as objects, times in ISO 8601, enums by value."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Enum):
        return _plain(value.value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (set, frozenset)):
        return [_plain(v) for v in sorted(value, key=str)]
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)
