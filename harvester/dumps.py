"""Downloadable dumps of the whole store: ``latest.nq.gz`` (N-Quads, gzip) and ``latest.ttl``.

:func:`write_dumps` is called after every harvest (``meahub harvest``, scheduled harvests); the
endpoint serves the files from disk (``/dumps/...``). Each file is written beside its final name
and renamed into place, so a download never sees a half-written dump. A small manifest
(``latest.json``) records which store state the files describe, so an unchanged store is not
dumped again.

The Turtle dump is the union of all graphs (Turtle has no graphs); the N-Quads dump keeps them.
"""

from __future__ import annotations

import gzip
import json
import logging
import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any, cast

import pyoxigraph as ox

from .exceptions import StoreError
from .settings import ServerSettings
from .store import map_store_errors
from .store_api import StoreBackend
from .vocab import PREFIXES

__all__ = [
    "DUMP_FILES",
    "MANIFEST",
    "NQUADS_DUMP",
    "TURTLE_DUMP",
    "dumps_directory",
    "read_manifest",
    "refresh_dumps",
    "write_dumps",
]

log = logging.getLogger(__name__)

NQUADS_DUMP = "latest.nq.gz"
TURTLE_DUMP = "latest.ttl"
MANIFEST = "latest.json"
#: file name -> media type, for the files a client may download.
DUMP_FILES: dict[str, str] = {
    NQUADS_DUMP: "application/n-quads",
    TURTLE_DUMP: "text/turtle",
}


def dumps_directory(server: ServerSettings, store: StoreBackend) -> Path | None:
    """``[server] dumps_dir``, else ``dumps`` beside the store; None for an in-memory store
    with no ``dumps_dir`` (nothing to write to)."""
    if server.dumps_dir is not None:
        return server.dumps_dir
    return None if store.path is None else store.path.parent / "dumps"


def write_dumps(store: StoreBackend, directory: Path, *, force: bool = False) -> bool:
    """Write both dumps of the current store state into ``directory``.

    :param force: write even when the manifest says the files describe this state already.
    :returns: whether the files were written.
    :raises StoreError: when the store cannot be read.
    :raises OSError: when the directory cannot be written.
    """
    directory.mkdir(parents=True, exist_ok=True)
    state = _state(store)
    if not force and _manifest(directory).get("state") == state and _complete(directory):
        return False
    quads = _write_atomically(directory / NQUADS_DUMP, lambda out: _write_nquads(store, out))
    _write_atomically(directory / TURTLE_DUMP, lambda out: _write_turtle(store, out))
    manifest = {"state": state, "quads": quads, "written": datetime.now(UTC).isoformat()}
    _write_atomically(directory / MANIFEST, lambda out: _write_json(manifest, out))
    log.info("wrote dumps of %d quads to %s", quads, directory)
    return True


def read_manifest(directory: Path) -> dict[str, Any]:
    """What :func:`write_dumps` recorded (``quads``, ``written``), or ``{}``."""
    return _manifest(directory)


def _state(store: StoreBackend) -> str:
    """Names the store's content: a published generation (on disk) or a version (in memory)."""
    return f"{store.store_id}:{store.generation}:{store.version}"


def _manifest(directory: Path) -> dict[str, Any]:
    try:
        data = json.loads((directory / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _complete(directory: Path) -> bool:
    return all((directory / name).is_file() for name in DUMP_FILES)


def _write_atomically(path: Path, write: Any) -> Any:
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(temporary, "wb") as out:
            result = write(out)
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
    return result


def _write_nquads(store: StoreBackend, out: IO[bytes]) -> int:
    """Gzip N-Quads (deterministic header: no file name, no time), streamed."""
    counter = _Counter()
    with gzip.GzipFile(fileobj=out, mode="wb", filename="", mtime=0) as packed:
        with map_store_errors("cannot dump the store"):
            quads = counter.count(store.quads())
            ox.serialize(quads, cast(IO[bytes], packed), format=ox.RdfFormat.N_QUADS)
    return counter.n


def _write_turtle(store: StoreBackend, out: IO[bytes]) -> None:
    triples = (ox.Triple(q.subject, q.predicate, q.object) for q in store.quads())
    with map_store_errors("cannot dump the store"):
        ox.serialize(triples, out, format=ox.RdfFormat.TURTLE, prefixes=PREFIXES)


def _write_json(data: dict[str, Any], out: IO[bytes]) -> None:
    out.write(json.dumps(data, indent=2).encode("utf-8"))


class _Counter:
    """Counts the quads that pass through, so the manifest can say how many were written."""

    def __init__(self) -> None:
        self.n = 0

    def count(self, quads: Iterator[ox.Quad]) -> Iterator[ox.Quad]:
        for quad in quads:
            self.n += 1
            yield quad


def refresh_dumps(store: StoreBackend, server: ServerSettings) -> bool:
    """:func:`write_dumps` into the configured directory (:func:`dumps_directory`), after a
    harvest. A failure is logged, not raised: the harvest itself succeeded.

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
