"""The ``meahub`` console script: harvest, serve, query, export, status, remap, link, demo.

It reads the configuration once, wires the runtime, and prints; nothing else lives here. What an
operator reads (help, messages, tables, JSON) is in :data:`DESCRIPTION`, :data:`EPILOG`, the
per-command texts below and :mod:`harvester.service.report`.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, TypeAlias

from rich.logging import RichHandler
from rich.text import Text

from .. import __version__
from ..exceptions import ConfigError, MeaHubError, QueryError, StoreLockedError
from ..models import RunStatus, SourceReport
from ..settings import Settings, load_settings, no_sources_message
from .harvesting import harvest_all
from .report import output_console, print_reports, print_status, reports_document
from .runtime import Runtime

__all__ = ["main"]

log = logging.getLogger("harvester")

QUERY_FORMATS = ("json", "xml", "csv", "tsv", "ttl", "nt", "jsonld")
EXPORT_FORMATS = ("nquads", "trig", "turtle", "jsonld")

DESCRIPTION = """\
MEA Hub: harvest InforMEA-style sources (OData toolkits, the CBD
decision-tracking API) into one RDF store, link decisions to the Aichi targets,
and serve it all as SPARQL and linked data.
"""

EPILOG = """\
configuration:
  Every command but demo reads one TOML file: --config FILE, else
  $MEAHUB_CONFIG, else meahub.toml in the working directory. README.md
  ("Harvesting your own sources") has an example; "meahub demo" needs none.

examples:
  meahub demo                      harvest the demo providers, then serve SPARQL
  meahub harvest --source ramsar   harvest one configured source
  meahub harvest --json            every source; the report as JSON on stdout
  meahub status                    last run, next run and failures per source
  meahub query 'ASK { ?s ?p ?o }'  run a SPARQL query against the store
  meahub export --format nquads --output dump.nq
  meahub remap                     re-map kept raw payloads (current mappings)
  meahub link --threshold 0.6      re-run Aichi target linking over the store
  meahub serve                     SPARQL, linked data and scheduled harvests

exit status:
  0 done; 1 a source could not be harvested (harvest, remap); 2 bad
  configuration, usage or query; 130 interrupted.
  "meahub COMMAND --help" describes each command, with an example.
"""


def main(argv: Sequence[str] | None = None) -> int:
    """Run one ``meahub`` command; returns the process exit status."""
    args = _parser().parse_args(argv)
    _configure_logging(args.verbose)
    err = output_console(stderr=True)
    try:
        settings = load_settings(args.config)
        command: Callable[[argparse.Namespace, Settings], int] = args.command
        return command(args, settings)
    except MeaHubError as exc:
        err.print(Text.assemble(("error: ", "bold red"), str(exc)))
        return 2
    except KeyboardInterrupt:
        err.print(Text("interrupted"))
        return 130


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="meahub",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"meahub {__version__}")
    parser.add_argument(
        "-v", "--verbose", action="count", default=0, help="more log output (-vv: debug)"
    )
    sub = parser.add_subparsers(required=True, metavar="COMMAND", title="commands")
    _add_harvest(sub)
    _add_serve(sub)
    _add_query(sub)
    _add_export(sub)
    _add_status(sub)
    _add_remap(sub)
    _add_link(sub)
    _add_demo(sub)
    from ..search.cli import add_commands as add_search_commands  # issue 17: search, reindex

    add_search_commands(sub)
    return parser


if TYPE_CHECKING:
    _Subparsers: TypeAlias = argparse._SubParsersAction[argparse.ArgumentParser]


def _command(
    sub: _Subparsers, name: str, summary: str, description: str, example: str
) -> argparse.ArgumentParser:
    """A subcommand with its one-line summary, a description and an example."""
    return sub.add_parser(
        name,
        help=summary,
        description=f"{summary[0].upper()}{summary[1:]}.\n\n{description}",
        epilog=f"example:\n  {example}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--config",
        metavar="FILE",
        help="configuration file (default: $MEAHUB_CONFIG, else meahub.toml here)",
    )


def _add_harvest(sub: _Subparsers) -> None:
    p = _command(
        sub,
        "harvest",
        "harvest the configured sources once",
        "Lists, maps and loads every source (or those named by --source), then prints a\n"
        "summary per source and each failed record (entity set, id, URL, reason). Exits 1\n"
        "when a source could not be harvested. While 'meahub serve' holds the store, the\n"
        "server is asked to run the harvest (needs [server] admin_token).\n\n"
        "--json prints the report as JSON on standard output (keys in README.md);\n"
        "progress and logs go to standard error.",
        "meahub harvest --source ramsar --json > ramsar-run.json",
    )
    _common(p)
    p.add_argument("--source", action="append", default=[], metavar="NAME", help="only this source")
    p.add_argument("--full", action="store_true", help="full listing; lifts the mass-delete guard")
    p.add_argument("--allow-mass-delete", action="store_true", help="lift the mass-delete guard")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.set_defaults(command=cmd_harvest)


def _add_serve(sub: _Subparsers) -> None:
    p = _command(
        sub,
        "serve",
        "serve the SPARQL endpoint",
        "Serves SPARQL (/sparql), linked data, the query page, /status and /metrics,\n"
        "and runs the scheduled harvests of sources with cron or interval.",
        "meahub serve --port 8080",
    )
    _common(p)
    p.add_argument("--host", help="interface to listen on (default from [server])")
    p.add_argument("--port", type=int, help="port (default from [server])")
    p.add_argument("--no-scheduler", action="store_true", help="do not run scheduled harvests")
    p.set_defaults(command=cmd_serve)


def _add_query(sub: _Subparsers) -> None:
    p = _command(
        sub,
        "query",
        "run a SPARQL query against the store",
        "Prints the results on standard output: SPARQL JSON by default for SELECT and\n"
        "ASK, Turtle for CONSTRUCT and DESCRIBE, or the --format given.",
        "meahub query 'SELECT * WHERE { ?s ?p ?o } LIMIT 5' --format csv",
    )
    _common(p)
    p.add_argument("query", metavar="QUERY_OR_FILE", help="query text, or a file holding it")
    p.add_argument("--format", choices=QUERY_FORMATS, default=None, help="result format")
    p.set_defaults(command=cmd_query)


def _add_export(sub: _Subparsers) -> None:
    p = _command(
        sub,
        "export",
        "dump the whole store",
        "Writes every quad of the store (records, inferred links, run history): nquads,\n"
        "trig and jsonld keep the named graphs, turtle merges them into one graph.",
        "meahub export --format nquads --output dump.nq",
    )
    _common(p)
    p.add_argument("--format", choices=EXPORT_FORMATS, required=True)
    p.add_argument("--output", metavar="FILE", help="file to write (default: standard output)")
    p.set_defaults(command=cmd_export)


def _add_status(sub: _Subparsers) -> None:
    p = _command(
        sub,
        "status",
        "last harvest runs per source",
        "Per source: the last run and its counts, failed runs in a row (FLAGGED past\n"
        "[scheduler] flag_after_failures), the schedule and the next run. Read from the\n"
        "store, or from the running server when it holds the store. --json prints the\n"
        "document of GET /status (keys in README.md).",
        "meahub status --json",
    )
    _common(p)
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.set_defaults(command=cmd_status)


def _add_remap(sub: _Subparsers) -> None:
    p = _command(
        sub,
        "remap",
        "re-map kept raw payloads with the current mappings",
        "Applies changed mappings to the raw payloads kept from earlier harvests, without\n"
        "asking the providers again. Sources of kind ldes (mirrors of another hub) are\n"
        "skipped: they keep no payloads.",
        "meahub remap --source ramsar",
    )
    _common(p)
    p.add_argument("--source", action="append", default=[], metavar="NAME", help="only this source")
    p.set_defaults(command=cmd_remap)


def _add_link(sub: _Subparsers) -> None:
    p = _command(
        sub,
        "link",
        "re-run Aichi target linking over the store (no harvest)",
        "Scores every decision paragraph without target tags from its source again and\n"
        "replaces the inferred links.",
        "meahub link --threshold 0.6",
    )
    _common(p)
    p.add_argument("--threshold", type=float, help="score a link must pass (default [linking])")
    p.set_defaults(command=cmd_link)


def _add_demo(sub: _Subparsers) -> None:
    p = _command(
        sub,
        "demo",
        "harvest the bundled demo providers, then serve SPARQL",
        "Starts four local InforMEA-style demo providers, harvests them into --data-dir,\n"
        "stops them and serves the store. Needs no configuration file.",
        "meahub demo --data-dir /tmp/meahub-demo --port 8000",
    )
    p.add_argument("--data-dir", default="demo-data", help="where the demo store goes")
    p.add_argument("--host", default="127.0.0.1", help="interface to serve on (127.0.0.1)")
    p.add_argument("--port", type=int, default=8000, help="port to serve on (8000)")
    p.add_argument("--no-serve", action="store_true", help="harvest only, do not serve")
    p.add_argument("--config", help=argparse.SUPPRESS)
    p.set_defaults(command=cmd_demo)


def _configure_logging(verbosity: int) -> None:
    """Log lines on standard error: rich's on a terminal, plain one-line records elsewhere.

    Messages are never read as markup (``markup=False``), so bracketed text stays as logged.
    """
    level = logging.WARNING if verbosity == 0 else logging.INFO if verbosity == 1 else logging.DEBUG
    console = output_console(stderr=True)
    handler: logging.Handler
    if console.is_terminal:
        handler = RichHandler(console=console, show_path=False, markup=False)
        handler.setFormatter(logging.Formatter("%(message)s"))
    else:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=level, handlers=[handler], force=True)


# -- commands ---------------------------------------------------------------------------------


def cmd_harvest(args: argparse.Namespace, settings: Settings) -> int:
    _require_sources(settings)
    try:
        runtime = Runtime.open(settings)
    except StoreLockedError:
        reports = _harvest_on_server(args, settings)
    else:
        with runtime:
            reports = harvest_all(
                runtime, args.source, args.full, args.allow_mass_delete, summary=not args.json
            )
    if args.json:
        _print_json(reports_document(reports))
    return 1 if any(r.status is not RunStatus.OK for r in reports) else 0


def _require_sources(settings: Settings) -> None:
    """Before a store is opened (or created): there must be something to harvest."""
    if not settings.sources:
        raise ConfigError(no_sources_message(settings))


def _harvest_on_server(args: argparse.Namespace, settings: Settings) -> list[SourceReport]:
    """The store is held by a running server: ask it (admin API) and wait for the runs."""
    from .admin_client import remote_harvest, server_url

    output_console(stderr=True).print(
        Text(f"the store is in use; asking the server at {server_url(settings)} to harvest ...")
    )
    options = {"full": args.full, "allow_mass_delete": args.allow_mass_delete}
    reports = remote_harvest(settings, args.source, **options)
    if not args.json:
        print_reports(output_console(), reports)
    return reports


def _print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, default=str, ensure_ascii=False) + "\n")
    sys.stdout.flush()


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    from .serve import serve

    host = args.host or settings.server.host
    port = args.port or settings.server.port
    with Runtime.open(settings) as runtime:
        serve(runtime, host=host, port=port, scheduler=not args.no_scheduler)
    return 0


def cmd_query(args: argparse.Namespace, settings: Settings) -> int:
    from ..store.querying import run_query

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
    from ..store.querying import export

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
    from .admin_client import remote_status
    from .status import status_snapshot

    _require_sources(settings)
    try:
        runtime = Runtime.open(settings)
    except StoreLockedError:
        data = remote_status(settings)
    else:
        with runtime:
            data = status_snapshot(runtime)
    if args.json:
        _print_json(data)
    else:
        print_status(output_console(), data)
    return 0


#: what ``meahub remap`` says of a source it skips
MIRROR_SKIPPED = (
    "kind ldes mirrors another hub's change feed as published: no raw payloads, no mappings, "
    "nothing to remap (remap the hub it follows; its feed brings the changes here)"
)


def cmd_remap(args: argparse.Namespace, settings: Settings) -> int:
    _require_sources(settings)
    with Runtime.open(settings) as runtime:
        selected = runtime.selected(args.source)
        mirrors = [config.name for config in selected if config.kind == "ldes"]
        reports = [runtime.remap(c) for c in selected if c.name not in mirrors]
    console = output_console()
    if reports:
        print_reports(console, reports)
    if mirrors:
        console.print(
            Text(f"skipped {len(mirrors)} source(s): {', '.join(mirrors)}: {MIRROR_SKIPPED}")
        )
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
    output_console().print(
        Text(
            f"linked {report.decisions} decisions: {report.links} inferred target links "
            f"(threshold {settings.linking.threshold}, run {report.run_id})"
        )
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
