"""The ``meahub`` console script: harvest, serve, query, export, status, remap, demo.

It reads the configuration once, wires the runtime, and prints; nothing else lives here.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import IO

from rich.console import Console
from rich.logging import RichHandler

from . import __version__
from .dumps import refresh_dumps
from .exceptions import ConfigError, MeaHubError, QueryError, StoreLockedError
from .models import RunStatus, SourceReport
from .report import print_reports, progress_for, status_table
from .runtime import Runtime
from .settings import Settings, load_settings

__all__ = ["main"]

log = logging.getLogger("harvester")

QUERY_FORMATS = ("json", "xml", "csv", "tsv", "ttl", "nt", "jsonld")
EXPORT_FORMATS = ("nquads", "trig", "turtle", "jsonld")


def main(argv: Sequence[str] | None = None) -> int:
    """Run one ``meahub`` command; returns the process exit status."""
    args = _parser().parse_args(argv)
    _configure_logging(args.verbose)
    err = Console(stderr=True)
    try:
        settings = load_settings(args.config)
        command: Callable[[argparse.Namespace, Settings], int] = args.command
        return command(args, settings)
    except MeaHubError as exc:
        err.print(f"[bold red]error:[/] {exc}", highlight=False, markup=True)
        return 2
    except KeyboardInterrupt:
        err.print("interrupted")
        return 130


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="meahub", description=__doc__)
    parser.add_argument("--version", action="version", version=f"meahub {__version__}")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more log output")
    sub = parser.add_subparsers(required=True, metavar="COMMAND")
    _add_harvest(sub)
    _add_serve(sub)
    _add_query(sub)
    _add_export(sub)
    _add_status(sub)
    _add_remap(sub)
    _add_link(sub)
    _add_demo(sub)
    from .search.cli import add_commands as add_search_commands  # issue 17: search, reindex

    add_search_commands(sub)
    return parser


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--config",
        metavar="FILE",
        help="configuration file (default: $MEAHUB_CONFIG or meahub.toml)",
    )


def _add_harvest(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("harvest", help="harvest the configured sources once")
    _common(p)
    p.add_argument("--source", action="append", default=[], metavar="NAME", help="only this source")
    p.add_argument("--full", action="store_true", help="full listing; lifts the mass-delete guard")
    p.add_argument("--allow-mass-delete", action="store_true", help="lift the mass-delete guard")
    p.set_defaults(command=cmd_harvest)


def _add_serve(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("serve", help="serve the SPARQL endpoint")
    _common(p)
    p.add_argument("--host", help="interface to listen on (default from [server])")
    p.add_argument("--port", type=int, help="port (default from [server])")
    p.add_argument("--no-scheduler", action="store_true", help="do not run scheduled harvests")
    p.set_defaults(command=cmd_serve)


def _add_query(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("query", help="run a SPARQL query against the store")
    _common(p)
    p.add_argument("query", metavar="QUERY_OR_FILE", help="query text, or a file holding it")
    p.add_argument("--format", choices=QUERY_FORMATS, default=None, help="result format")
    p.set_defaults(command=cmd_query)


def _add_export(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("export", help="dump the whole store")
    _common(p)
    p.add_argument("--format", choices=EXPORT_FORMATS, required=True)
    p.add_argument("--output", metavar="FILE", help="file to write (default: standard output)")
    p.set_defaults(command=cmd_export)


def _add_status(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("status", help="last harvest runs per source")
    _common(p)
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.set_defaults(command=cmd_status)


def _add_remap(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("remap", help="re-map kept raw payloads with the current mappings")
    _common(p)
    p.add_argument("--source", action="append", default=[], metavar="NAME", help="only this source")
    p.set_defaults(command=cmd_remap)


def _add_link(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("link", help="re-run Aichi target linking over the store (no harvest)")
    _common(p)
    p.add_argument("--threshold", type=float, help="score a link must pass (default [linking])")
    p.set_defaults(command=cmd_link)


def _add_demo(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("demo", help="harvest the bundled demo providers, then serve SPARQL")
    p.add_argument("--data-dir", default="demo-data", help="where the demo store goes")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--no-serve", action="store_true", help="harvest only, do not serve")
    p.add_argument("--config", help=argparse.SUPPRESS)
    p.set_defaults(command=cmd_demo)


def _configure_logging(verbosity: int) -> None:
    level = logging.WARNING if verbosity == 0 else logging.INFO if verbosity == 1 else logging.DEBUG
    handler = RichHandler(console=Console(stderr=True), show_path=False, markup=False)
    logging.basicConfig(level=level, format="%(message)s", handlers=[handler], force=True)


# -- commands ---------------------------------------------------------------------------------


def cmd_harvest(args: argparse.Namespace, settings: Settings) -> int:
    try:
        runtime = Runtime.open(settings)
    except StoreLockedError:
        reports = _harvest_on_server(args, settings)
    else:
        with runtime:
            reports = harvest_all(runtime, args.source, args.full, args.allow_mass_delete)
    return 1 if any(r.status is not RunStatus.OK for r in reports) else 0


def _harvest_on_server(args: argparse.Namespace, settings: Settings) -> list[SourceReport]:
    """The store is held by a running server: ask it (admin API) and wait for the runs."""
    from .remote import remote_harvest, server_url

    Console(stderr=True).print(
        f"the store is in use; asking the server at {server_url(settings)} to harvest ..."
    )
    options = {"full": args.full, "allow_mass_delete": args.allow_mass_delete}
    reports = remote_harvest(settings, args.source, **options)
    print_reports(Console(), reports)
    return reports


def harvest_all(
    runtime: Runtime, names: Sequence[str], full: bool, allow_mass_delete: bool
) -> list[SourceReport]:
    """Harvest the named sources (all when none) with progress, then print the summary."""
    console = Console(stderr=True)
    reports = []
    for config in runtime.selected(names):
        with progress_for(console, config.name) as progress:
            reports.append(
                runtime.harvest(
                    config, full=full, allow_mass_delete=allow_mass_delete, progress=progress
                )
            )
    refresh_dumps(runtime.store, runtime.settings.server)
    print_reports(Console(), reports)
    return reports


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    from .serve import serve

    host = args.host or settings.server.host
    port = args.port or settings.server.port
    with Runtime.open(settings) as runtime:
        serve(runtime, host=host, port=port, scheduler=not args.no_scheduler)
    return 0


def cmd_query(args: argparse.Namespace, settings: Settings) -> int:
    from .querying import run_query

    text = _query_text(args.query)
    with Runtime.open(settings) as runtime:
        data = run_query(runtime.store, text, args.format)
    sys.stdout.buffer.write(data)
    if not data.endswith(b"\n"):
        sys.stdout.buffer.write(b"\n")
    return 0


def _query_text(value: str) -> str:
    path = Path(value)
    if len(value) < 1024 and "\n" not in value and path.is_file():
        return path.read_text(encoding="utf-8")
    if not value.strip():
        raise QueryError("empty query")
    return value


def cmd_export(args: argparse.Namespace, settings: Settings) -> int:
    from .querying import export

    with Runtime.open(settings) as runtime:
        if args.output:
            with open(args.output, "wb") as out:
                export(runtime.store, out, args.format)
        else:
            export(runtime.store, _stdout(), args.format)
    return 0


def _stdout() -> IO[bytes]:
    return sys.stdout.buffer


def cmd_status(args: argparse.Namespace, settings: Settings) -> int:
    """The status document of ``GET /status``: from the store when this process can open it,
    else from the running server."""
    import json

    from .remote import remote_status
    from .status import status_snapshot

    try:
        runtime = Runtime.open(settings)
    except StoreLockedError:
        data = remote_status(settings)
    else:
        with runtime:
            data = status_snapshot(runtime)
    if args.json:
        sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")
    else:
        Console().print(status_table(data))
    return 0


def cmd_remap(args: argparse.Namespace, settings: Settings) -> int:
    with Runtime.open(settings) as runtime:
        reports = [runtime.remap(config) for config in runtime.selected(args.source)]
    print_reports(Console(), reports)
    return 1 if any(r.status is not RunStatus.OK for r in reports) else 0


def cmd_link(args: argparse.Namespace, settings: Settings) -> int:
    from .relink import relink

    if args.threshold is not None:
        if not 0 <= args.threshold <= 1:
            raise ConfigError("--threshold must be from 0 to 1")
        linking = dataclasses.replace(settings.linking, threshold=args.threshold, enabled=True)
        settings = dataclasses.replace(settings, linking=linking)
    with Runtime.open(settings) as runtime:
        report = relink(runtime.store, runtime.enricher(), settings.server.base_iri)
    Console().print(
        f"linked {report.decisions} decisions: {report.links} inferred target links "
        f"(threshold {settings.linking.threshold}, run {report.run_id})"
    )
    return 0


def cmd_demo(args: argparse.Namespace, settings: Settings) -> int:
    from .demo_run import run_demo

    if args.config:
        raise ConfigError("demo takes no --config; it writes its own under --data-dir")
    return run_demo(
        Path(args.data_dir), host=args.host, port=args.port, serve_after=not args.no_serve
    )


if __name__ == "__main__":
    sys.exit(main())
