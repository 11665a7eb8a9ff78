"""``meahub search TEXT`` and ``meahub reindex`` (registered by :mod:`harvester.service.cli`).

``meahub search`` reads the index read-only, on the store's live generation, without opening
the store: it also works while ``meahub serve`` holds the store.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING, TypeAlias

from harvester.exceptions import ConfigError, SearchSyntaxError
from harvester.service.runtime import Runtime
from harvester.settings import Settings
from harvester.store.embedded import live_generation_dir

from .index import SearchIndex, generation_number
from .searcher import SearchRequest, SearchResults, search
from .sync import reader_generation, reindex

__all__ = ["add_commands", "cmd_reindex", "cmd_search"]

if TYPE_CHECKING:
    _Subparsers: TypeAlias = argparse._SubParsersAction[argparse.ArgumentParser]

_SEARCH = """\
Full-text search of the harvested records (titles, summaries, decision content and
paragraphs, in every language). Words are ANDed; "double quotes" make a phrase; OR;
-word excludes. Prints the IRI of each hit, best first (--json: the /search answer)."""

_REINDEX = """\
Rebuild the full-text index from the store's live generation: needed once for a store
harvested before the index existed, after an upgrade that changed the index format, or
when the index is reported behind the store. Stop `meahub serve` first (the store is
opened for writing)."""


def add_commands(sub: _Subparsers) -> None:
    """Add ``search`` and ``reindex`` to the ``meahub`` subcommands."""
    p = _parser(sub, "search", "search the records' text", _SEARCH, 'meahub search "zones humides"')
    p.add_argument("text", metavar="TEXT", help="the search text")
    p.add_argument("--lang", help="search texts in this language (and untagged ones)")
    p.add_argument("--type", help="only records of this class (Decision, NationalReport...)")
    p.add_argument("--treaty", help="only records of this treaty (short name: cms, aewa...)")
    p.add_argument("--year", type=int, help="only records issued in this year")
    p.add_argument("--limit", type=int, default=20, help="hits to print (default 20)")
    p.add_argument("--json", action="store_true", help="print the hits as JSON")
    p.set_defaults(command=cmd_search)
    p = _parser(sub, "reindex", "rebuild the full-text index", _REINDEX, "meahub reindex")
    p.set_defaults(command=cmd_reindex)


def _parser(
    sub: _Subparsers, name: str, summary: str, description: str, example: str
) -> argparse.ArgumentParser:
    p = sub.add_parser(
        name,
        help=summary,
        description=f"{summary[0].upper()}{summary[1:]}.\n\n{description}",
        epilog=f"example:\n  {example}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--config",
        metavar="FILE",
        help="configuration file (default: $MEAHUB_CONFIG, else meahub.toml here)",
    )
    return p


def cmd_search(args: argparse.Namespace, settings: Settings) -> int:
    """Print the IRIs (or, with ``--json``, the hits) of a search."""
    path = settings.store.path
    if settings.store.is_remote or path is None:
        raise ConfigError("full-text search needs the embedded store ([store] path)")
    if not settings.search.enabled:
        raise ConfigError("full-text search is turned off ([search] enabled = false)")
    request = SearchRequest(
        args.text,
        language=args.lang,
        type=args.type,
        treaty=args.treaty,
        year=args.year,
        limit=max(1, min(args.limit, 10_000)),
        snippets=bool(args.json),
    )
    generation = generation_number(live_generation_dir(path).name)
    try:
        results = search(SearchIndex(path), generation, request)
    except SearchSyntaxError as exc:
        raise SearchSyntaxError(
            f"{exc.message} (at character {exc.position})", exc.position
        ) from exc
    _print(results, as_json=args.json)
    return 0


def _print(results: SearchResults, *, as_json: bool) -> None:
    if as_json:
        hits = [vars(hit) for hit in results.hits]
        sys.stdout.write(json.dumps({"total": results.total, "hits": hits}, ensure_ascii=False))
        sys.stdout.write("\n")
    else:
        sys.stdout.write("".join(hit.iri + "\n" for hit in results.hits))
    sys.stdout.flush()


def cmd_reindex(args: argparse.Namespace, settings: Settings) -> int:
    """Rebuild the index of the configured store."""
    with Runtime.open(settings) as runtime:
        count = reindex(runtime.store)
        generation = reader_generation(runtime.store)
    sys.stderr.write(f"indexed {count} records (store generation {generation})\n")
    return 0
