"""``harvester.priority``: a server's background threads run niced (Linux)."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from harvester.priority import nice_thread, nice_threads_named

pytestmark = pytest.mark.skipif(
    not hasattr(os, "setpriority") or not os.path.isdir("/proc/self/task"),
    reason="per-thread niceness is a Linux feature",
)


def _niceness() -> int:
    return os.getpriority(os.PRIO_PROCESS, threading.get_native_id())


def _in_thread(action: object, name: str = "probe") -> list[int]:
    seen: list[int] = []

    def run() -> None:
        assert callable(action)
        action()
        seen.append(_niceness())
        child = threading.Thread(target=lambda: seen.append(_niceness()))
        child.start()
        child.join()

    thread = threading.Thread(target=run, name=name)
    thread.start()
    thread.join()
    return seen


def test_a_niced_thread_and_the_threads_it_starts_run_niced() -> None:
    base = _niceness()
    assert _in_thread(lambda: nice_thread(5)) == [max(base, 5)] * 2
    # at least, not more: a second call at the same level changes nothing
    assert _in_thread(lambda: (nice_thread(5), nice_thread(5))) == [max(base, 5)] * 2
    assert _in_thread(lambda: nice_thread(3, added=True)) == [min(base + 3, 19)] * 2
    assert _niceness() == base  # the caller's own thread is untouched


def test_threads_are_found_by_name() -> None:
    base = _niceness()
    started, release = threading.Event(), threading.Event()
    seen: list[int] = []

    def idle() -> None:
        # an OS-level name, as RocksDB gives its threads (Python 3.11 sets none)
        tid = threading.get_native_id()
        Path(f"/proc/self/task/{tid}/comm").write_text("probe-named", encoding="utf-8")
        started.set()
        release.wait(10)
        seen.append(_niceness())

    thread = threading.Thread(target=idle, name="probe-named")
    thread.start()
    started.wait(10)
    assert nice_threads_named("probe-named", 6) == 1
    assert nice_threads_named("no-such-thread", 6) == 0
    release.set()
    thread.join()
    assert seen == [max(base, 6)]
    assert _niceness() == base
