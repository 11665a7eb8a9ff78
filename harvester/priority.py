"""CPU priority of background work (Linux: each thread has a niceness of its own, and a thread
starts with its creator's). Inside ``meahub serve`` the requests and the query workers go first;
a scheduled harvest, the dumps it asks for and the page warmer run niced, so the queries
answered meanwhile slow down less. Elsewhere (no ``os.setpriority``) nothing changes.

Raising a niceness needs no privilege; lowering it again does, so a thread niced here stays so.
"""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path

__all__ = ["BACKGROUND_NICENESS", "nice_thread", "nice_threads_named"]

log = logging.getLogger(__name__)

#: the niceness background work of a server runs at (the transform workers' too)
BACKGROUND_NICENESS = 10


def nice_thread(niceness: int = BACKGROUND_NICENESS, *, added: bool = False) -> None:
    """Give the calling thread ``niceness`` (at least: a thread already nicer stays so), or,
    with ``added``, add ``niceness`` to what it has. The threads it starts afterwards inherit it."""
    _renice(threading.get_native_id(), niceness, added=added)


def nice_threads_named(prefix: str, niceness: int = BACKGROUND_NICENESS) -> int:
    """Give every thread of this process whose name starts with ``prefix`` ``niceness`` (at
    least): threads a library started, such as RocksDB's compaction pool (``rocksdb:``), which
    would otherwise keep the priority of the thread that first opened a store. :returns: how
    many threads were found."""
    found = 0
    for task in _tasks():
        try:
            name = (task / "comm").read_text(encoding="utf-8", errors="replace").strip()
        except OSError:  # the thread ended meanwhile
            continue
        if name.startswith(prefix):
            found += 1
            _renice(int(task.name), niceness)
    return found


def _tasks() -> list[Path]:
    folder = Path("/proc/self/task")
    try:
        return list(folder.iterdir())
    except OSError:  # not Linux
        return []


def _renice(tid: int, niceness: int, *, added: bool = False) -> None:
    setpriority = getattr(os, "setpriority", None)
    if setpriority is None or niceness <= 0:
        return
    try:
        current = os.getpriority(os.PRIO_PROCESS, tid)
        wanted = current + niceness if added else max(current, niceness)
        if wanted != current:
            setpriority(os.PRIO_PROCESS, tid, min(wanted, 19))
    except OSError as exc:
        log.debug("cannot lower the priority of thread %d: %s", tid, exc)
