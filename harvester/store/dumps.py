"""Downloadable dumps of the whole store: ``latest.nq.gz`` (N-Quads) and ``latest.trig.gz``
(TriG), both gzip, both keeping every graph name.

The dumps are proportional to what changed. Each is the concatenation of one file per *part*
(``parts/<part>.nq.gz``): the graphs of one source, the run history, the ontology...
(:func:`harvester.store.embedded.graph_part`). A gzip file may hold several members, and N-Quads
lines and TriG graph blocks do not depend on each other (blank-node labels are the store's own,
unique store-wide), so the concatenation is one valid file. Every publish of the store records a
marker per part it touched (:class:`harvester.store.embedded.Snapshot`); a part whose marker is the
one its file was written from is not serialised again, so a harvest of one source rewrites that
source's part and the run history, and copies the rest.

A part is written by several threads (:func:`harvester.store.parallel_dump.dump_blocks`): each block
of graphs is dumped by pyoxigraph and compressed by zlib, both without the GIL, into a gzip
member of its own. Files are written beside their final names and renamed into place, so a
download never sees a half-written dump; a manifest (``latest.json``) records the generation
the files describe. Writers of one directory take a lock (``.lock``) in turn.

After ``meahub harvest`` the dumps are written by a detached process (:func:`spawn_refresh`),
so the command does not wait for them; ``meahub serve`` writes them on a thread of its own
(:class:`BackgroundDumps`). Both read a published generation, which never changes.
"""

from __future__ import annotations

import argparse
import fcntl
import json
import logging
import os
import re
import shutil
import subprocess
import sys
import threading
import zlib
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any
from urllib.parse import quote

import pyoxigraph as ox

from ..exceptions import StoreError
from ..priority import nice_thread
from ..settings import ServerSettings
from ..vocab import MEA
from .api import StoreBackend
from .embedded import MeaStore, Snapshot, graph_part, map_store_errors, open_snapshot
from .parallel_dump import Graph, as_nquads, default_threads, dump_blocks

__all__ = [
    "DUMP_FILES",
    "GZIP_LEVEL",
    "MANIFEST",
    "NQUADS_DUMP",
    "TRIG_DUMP",
    "BackgroundDumps",
    "dumps_directory",
    "feed_position",
    "read_manifest",
    "refresh_dumps",
    "spawn_refresh",
    "write_dumps",
]

log = logging.getLogger(__name__)

NQUADS_DUMP = "latest.nq.gz"
TRIG_DUMP = "latest.trig.gz"
MANIFEST = "latest.json"
#: file name -> media type (of the uncompressed content), for the files a client may download.
DUMP_FILES: dict[str, str] = {
    NQUADS_DUMP: "application/n-quads",
    TRIG_DUMP: "application/trig",
}
#: zlib level of every gzip member. Measured on 2,000 graphs of the bench store (profile of
#: issue 14): level 1 took 0.10 CPU-s for a ratio of 12.7, level 6 0.29 CPU-s for 17.3; zlib is
#: 2.5% of the dump writer's time at level 1.
GZIP_LEVEL = 1
_PARTS = "parts"
#: the part of the default graph's triples (none in a harvested store, but a dump keeps them)
_DEFAULT_PART = ""
_EXTENSIONS = {NQUADS_DUMP: ".nq.gz", TRIG_DUMP: ".trig.gz"}


def dumps_directory(server: ServerSettings, store: StoreBackend) -> Path | None:
    """``[server] dumps_dir``, else ``dumps`` beside the store; None for an in-memory store
    with no ``dumps_dir`` (nothing to write to)."""
    if server.dumps_dir is not None:
        return server.dumps_dir
    return None if store.path is None else store.path.parent / "dumps"


def write_dumps(store: StoreBackend, directory: Path, *, force: bool = False) -> bool:
    """Write both dumps of the store's current state into ``directory``, serialising only the
    parts that changed since the files there were written.

    :param force: write even when the manifest says the files describe this state already.
    :returns: whether the files were written.
    :raises StoreError: when the store cannot be read.
    :raises OSError: when the directory cannot be written.
    """
    snapshot = _snapshot(store)
    with _locked(directory):
        return _write(snapshot, directory, force=force)


def write_snapshot_dumps(snapshot: Snapshot, directory: Path, *, force: bool = False) -> bool:
    """:func:`write_dumps` of a generation opened by
    :func:`harvester.store.embedded.open_snapshot`."""
    with _locked(directory):
        return _write(snapshot, directory, force=force)


def read_manifest(directory: Path) -> dict[str, Any]:
    """What :func:`write_dumps` recorded (``generation``, ``quads``, ``written``), or ``{}``."""
    try:
        data = json.loads((directory / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


# -- writing ------------------------------------------------------------------------------------


def _snapshot(store: StoreBackend) -> Snapshot:
    """The store's live generation, or (in memory, or remote) a one-part view of all of it."""
    snapshot = store.snapshot() if isinstance(store, MeaStore) else None
    if snapshot is not None:
        return snapshot
    with map_store_errors("cannot dump the store"):
        copy = ox.Store()
        copy.bulk_extend(store.quads())
    state = f"{store.store_id}:{store.generation}:{store.version}"
    return Snapshot(copy, state, store.generation, None)


def _write(snapshot: Snapshot, directory: Path, *, force: bool) -> bool:
    manifest = read_manifest(directory)
    if not force and manifest.get("state") == snapshot.state and _complete(directory):
        return False
    (directory / _PARTS).mkdir(parents=True, exist_ok=True)
    kept = manifest.get("parts", {}) if not force else {}
    parts: dict[str, dict[str, Any]] = {}
    with map_store_errors("cannot dump the store"):
        for part, graphs in sorted(_graphs_by_part(snapshot.store).items()):
            parts[part] = _part(snapshot, directory, part, graphs, kept.get(part))
    for name in DUMP_FILES:
        _write_atomically(directory / name, _concatenation(directory, sorted(parts), name))
    _remove_stale_parts(directory, parts)
    quads = sum(p["quads"] for p in parts.values())
    rewritten = [p or "(default graph)" for p, info in parts.items() if info.get("rewritten")]
    record = {
        "state": snapshot.state,
        "generation": snapshot.generation,
        "quads": quads,
        "written": datetime.now(UTC).isoformat(),
        "parts": {p: {k: v for k, v in i.items() if k != "rewritten"} for p, i in parts.items()},
    }
    record.update(feed_position(snapshot.store))
    _write_atomically(directory / MANIFEST, lambda out: _write_json(record, out))
    log.info(
        "wrote dumps of %d quads to %s (parts serialised: %s)",
        quads,
        directory,
        ", ".join(rewritten) or "none",
    )
    return True


#: the change feed's own graphs (harvester.feed.terms: ``{base}feed/member/<n>``,
#: ``{base}feed/commit/<n>``, ``{base}feed/state``), never dumped
_FEED_GRAPH = re.compile(r"/feed/(?:(?:member|commit)/[0-9]+|state)$")
#: the feed state's predicates (harvester.feed.terms FEED_COUNT, FEED_TIME, FEED_PAGE_SIZE)
_FEED_COUNT, _FEED_TIME, _FEED_PAGE_SIZE = (
    MEA + p for p in ("feedCount", "feedTime", "feedPageSize")
)


def feed_position(store: ox.Store) -> dict[str, Any]:
    """Where in the change feed a dump of ``store`` stands (issue 15): ``feed_members``, the
    last member it reflects (every member up to it, none after); ``feed_time``, that member's
    time (the dump holds every member up to it); ``feed_page``, the page to follow the feed
    from (its members up to ``feed_members`` are in the dump already). ``{}`` without a feed."""
    found: dict[str, str] = {}
    stream = ""
    for predicate in (_FEED_COUNT, _FEED_TIME, _FEED_PAGE_SIZE):
        for quad in store.quads_for_pattern(None, ox.NamedNode(predicate), None, None):
            if isinstance(quad.subject, ox.NamedNode) and isinstance(quad.object, ox.Literal):
                stream, found[predicate] = quad.subject.value, quad.object.value
    if _FEED_COUNT not in found:
        return {}
    count, size = int(found[_FEED_COUNT]), int(found.get(_FEED_PAGE_SIZE, "250"))
    return {
        "feed_members": count,
        "feed_time": found.get(_FEED_TIME),
        "feed_page": f"{stream}/page/{count // size + 1}",
    }


def _graphs_by_part(store: ox.Store) -> dict[str, list[Graph]]:
    parts: dict[str, list[Graph]] = {_DEFAULT_PART: []}
    for graph in store.named_graphs():
        name = graph.value if isinstance(graph, ox.NamedNode) else "other"
        if _FEED_GRAPH.search(name):
            continue  # issue 15: the feed is served at /ldes; a dump states its position
        parts.setdefault(graph_part(name), []).append(graph)  # "other" for a blank node
    return parts


def _part(
    snapshot: Snapshot,
    directory: Path,
    part: str,
    graphs: list[Graph],
    previous: dict[str, Any] | None,
) -> dict[str, Any]:
    """The part's files: kept when written from the part's current marker, else written anew."""
    marker = (snapshot.markers or {}).get(part)
    files = [_part_file(directory, part, name) for name in DUMP_FILES]
    if (
        marker is not None
        and part != _DEFAULT_PART
        and previous is not None
        and previous.get("marker") == marker
        and all(f.is_file() for f in files)
    ):
        return {"marker": marker, "quads": previous.get("quads", 0)}
    quads = _write_part(snapshot.store, part, graphs, files)
    return {"marker": marker, "quads": quads, "rewritten": True}


def _write_part(store: ox.Store, part: str, graphs: list[Graph], files: list[Path]) -> int:
    temporary = [f.with_name(f".{f.name}.{os.getpid()}.tmp") for f in files]
    counted = 0
    try:
        with open(temporary[0], "wb") as nquads, open(temporary[1], "wb") as trig:
            for count, nq, tg in _render(store, part, graphs):
                counted += count
                nquads.write(nq)
                trig.write(tg)
        for temp, final in zip(temporary, files, strict=True):
            os.replace(temp, final)
    finally:
        for temp in temporary:
            temp.unlink(missing_ok=True)
    return counted


def _render(store: ox.Store, part: str, graphs: list[Graph]) -> Iterator[tuple[int, bytes, bytes]]:
    if part == _DEFAULT_PART:
        yield _default_graph(store)
        return
    yield from dump_blocks(store, graphs, _render_block, threads=default_threads())


def _default_graph(store: ox.Store) -> tuple[int, bytes, bytes]:
    lines = store.dump(format=ox.RdfFormat.N_TRIPLES, from_graph=ox.DefaultGraph()) or b""
    return lines.count(b"\n"), _gzip(lines), _gzip(lines)  # N-Triples lines are TriG too


def _render_block(store: ox.Store, graphs: list[Graph]) -> tuple[int, bytes, bytes]:
    """One block of graphs as a gzip member of N-Quads and one of TriG (on a dump thread).
    Each graph is dumped once, as N-Triples: its N-Quads lines add the graph name, and its TriG
    block is ``<g> { <the same lines> }`` (N-Triples statements are TriG statements). Dumping
    Turtle as well took as long again: reading the terms, not writing them, is the cost."""
    nquads, trig = [], []
    for graph in graphs:
        lines = store.dump(format=ox.RdfFormat.N_TRIPLES, from_graph=graph) or b""
        nquads.append(as_nquads(lines, graph))
        trig.append(str(graph).encode("utf-8") + b" {\n" + lines + b"}\n")
    body = b"".join(nquads)
    return body.count(b"\n"), _gzip(body), _gzip(b"".join(trig))


def _gzip(data: bytes) -> bytes:
    """One gzip member (no file name, no time: the same bytes for the same data)."""
    return zlib.compress(data, GZIP_LEVEL, wbits=31)


def _part_file(directory: Path, part: str, dump: str) -> Path:
    return directory / _PARTS / (quote(part or "_default", safe="") + _EXTENSIONS[dump])


def _concatenation(directory: Path, parts: list[str], dump: str) -> Callable[[IO[bytes]], None]:
    """Writes the part files of ``dump`` one after the other (gzip members concatenated)."""

    def write(out: IO[bytes]) -> None:
        for part in parts:
            with open(_part_file(directory, part, dump), "rb") as member:
                shutil.copyfileobj(member, out, 1 << 20)

    return write


def _remove_stale_parts(directory: Path, parts: dict[str, Any]) -> None:
    wanted = {_part_file(directory, p, d).name for p in parts for d in DUMP_FILES}
    for path in (directory / _PARTS).iterdir():
        if path.name not in wanted and not path.name.startswith("."):
            path.unlink(missing_ok=True)


def _complete(directory: Path) -> bool:
    return all((directory / name).is_file() for name in DUMP_FILES)


def _write_atomically(path: Path, write: Callable[[IO[bytes]], Any]) -> Any:
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(temporary, "wb") as out:
            result = write(out)
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
    return result


def _write_json(data: dict[str, Any], out: IO[bytes]) -> None:
    out.write(json.dumps(data, indent=2).encode("utf-8"))


class _locked:
    """An exclusive lock on a dumps directory (``.lock``), waited for."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._handle: IO[bytes] | None = None

    def __enter__(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        self._handle = open(self.directory / ".lock", "ab")
        fcntl.flock(self._handle, fcntl.LOCK_EX)

    def __exit__(self, *exc: object) -> None:
        assert self._handle is not None
        self._handle.close()


# -- when the dumps are written -------------------------------------------------------------------


def refresh_dumps(store: StoreBackend, server: ServerSettings) -> bool:
    """:func:`write_dumps` into the configured directory (:func:`dumps_directory`). A failure
    is logged, not raised: the harvest itself succeeded.

    :returns: whether the files were written.
    """
    directory = dumps_directory(server, store)
    if directory is None:
        return False
    try:
        return write_dumps(store, directory)
    except (OSError, StoreError) as exc:
        log.error("could not write the dumps to %s: %s", directory, exc)
        return False


class BackgroundDumps:
    """Refreshes the dumps on a thread of its own after each :meth:`request` (requests made while
    a refresh runs are folded into one more), so a scheduled harvest does not wait for them."""

    def __init__(self, refresh: Callable[[], object]) -> None:
        self._refresh = refresh
        self._wanted = threading.Event()
        self._stop = False
        self._thread = threading.Thread(target=self._loop, name="meahub-dumps", daemon=True)
        self._thread.start()

    def request(self) -> None:
        self._wanted.set()

    def close(self, timeout: float | None = None) -> None:
        """Stop after the refresh under way, if any."""
        self._stop = True
        self._wanted.set()
        self._thread.join(timeout)

    def _loop(self) -> None:
        nice_thread()  # a server's requests go first (harvester.priority)
        while True:
            self._wanted.wait()
            if self._stop:
                return
            self._wanted.clear()
            try:
                self._refresh()
            except Exception:  # a refresh must never end the thread: log, and wait for the next
                log.exception("refreshing the dumps failed")


#: writers spawned by this process and maybe still running (kept, so none is reaped as garbage)
_SPAWNED: list[subprocess.Popen[bytes]] = []


def spawn_refresh(store: StoreBackend, server: ServerSettings, log_file: Path) -> bool:
    """Write the dumps of an on-disk store in a detached process that outlives this one (so
    ``meahub harvest`` exits without waiting); its log goes to ``log_file``.

    :returns: False when there is nothing to spawn for (no directory, no on-disk store).
    """
    directory = dumps_directory(server, store)
    if directory is None or store.path is None:
        return False
    command = [sys.executable, "-m", __name__, str(store.path), str(directory)]
    log_file.parent.mkdir(parents=True, exist_ok=True)
    _SPAWNED[:] = [p for p in _SPAWNED if p.poll() is None]  # reap the finished ones
    with open(log_file, "ab") as out:
        process = subprocess.Popen(  # our own interpreter and module; paths as arguments
            command,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=out,
            start_new_session=True,
            close_fds=True,
        )
    _SPAWNED.append(process)
    log.info("writing the dumps to %s in the background (log: %s)", directory, log_file)
    return True


def _main(argv: Iterable[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog=f"python -m {__name__}",
        description="Write the dumps of the live generation of an on-disk MEA Hub store.",
    )
    parser.add_argument("store", type=Path, help="the store's [store] path")
    parser.add_argument("directory", type=Path, help="the dumps directory")
    args = parser.parse_args(list(argv) if argv is not None else None)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    try:
        write_snapshot_dumps(open_snapshot(args.store), args.directory)
    except (OSError, StoreError) as exc:
        log.error("could not write the dumps to %s: %s", args.directory, exc)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(_main())
