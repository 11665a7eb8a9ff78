"""A command run to its exit and watched from ``/proc`` (for ``bench.harvest_e2e``): the summed
resident memory of its process tree, and the CPU of each thread of its main process and of each
process of the tree, sampled every ``interval`` seconds (a thread or process that ended keeps
its last reading)."""

from __future__ import annotations

import os
import subprocess
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.harvest_bench import descendants, rss_kb

__all__ = [
    "Detached",
    "Finished",
    "TreeSample",
    "TreeWatch",
    "cpu_summary",
    "parse_stat",
    "processes_with",
    "run_watched",
    "wait_detached",
]

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def parse_stat(text: str) -> tuple[str, int, int]:
    """``(name, parent pid, CPU clock ticks user + system)`` from a ``/proc/.../stat`` line
    (the name is in parentheses and may hold spaces or parentheses)."""
    head, _, tail = text.rpartition(")")
    fields = tail.split()
    return head.partition("(")[2], int(fields[1]), int(fields[11]) + int(fields[12])


def _read_stat(path: str) -> tuple[str, int, int] | None:
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return parse_stat(f.read())
    except (OSError, ValueError, IndexError):
        return None


def process_cpu_seconds(pid: int) -> float | None:
    """CPU seconds (user + system) process ``pid`` has used so far; None when it is gone."""
    stat = _read_stat(f"/proc/{pid}/stat")
    return None if stat is None else stat[2] / CLOCK_TICKS


def _cmdline(pid: int) -> str:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return ""
    return " ".join(part.decode(errors="replace") for part in raw.split(b"\0") if part)


@dataclass
class TreeSample:
    """What :class:`TreeWatch` saw: peaks and the last CPU reading per thread and process."""

    peak_rss_kb: int = 0
    peak_processes: int = 0
    #: pid -> the largest RSS seen of that process alone
    process_peak_kb: dict[int, int] = field(default_factory=dict)
    threads: dict[int, tuple[str, int]] = field(default_factory=dict)  # tid -> (name, ticks)
    processes: dict[int, tuple[str, int]] = field(default_factory=dict)  # pid -> (what, ticks)


class TreeWatch:
    """Samples a process and its descendants every ``interval`` seconds: their summed RSS, the
    CPU of each thread of the main process (``/proc/<pid>/task``) and of each descendant.

    :param main: the process whose threads are read (None: none yet, e.g. until a profiler's
        child is known).
    """

    def __init__(self, root: int, main: int | None, interval: float = 0.2) -> None:
        self.root, self.main, self.interval = root, main, interval
        self.seen = TreeSample()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="tree-watch", daemon=True)

    def __enter__(self) -> TreeWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _loop(self) -> None:
        while True:
            self.sample()
            if self._stop.wait(self.interval):
                return

    def sample(self) -> None:
        pids = [self.root, *descendants(self.root)]
        sizes = {pid: rss_kb(pid) for pid in pids}
        self.seen.peak_rss_kb = max(self.seen.peak_rss_kb, sum(sizes.values()))
        for pid, size in sizes.items():
            peak = self.seen.process_peak_kb
            peak[pid] = max(peak.get(pid, 0), size)
        self.seen.peak_processes = max(self.seen.peak_processes, len(pids))
        for pid in pids:
            stat = _read_stat(f"/proc/{pid}/stat")
            if stat is not None:
                previous = self.seen.processes.get(pid)
                what = previous[0] if previous else f"{stat[0]}: {_cmdline(pid)[:160]}"
                self.seen.processes[pid] = (what, stat[2])
        if self.main is not None:
            self._threads(self.main)

    def _threads(self, pid: int) -> None:
        try:
            tids = os.listdir(f"/proc/{pid}/task")
        except OSError:
            return
        for tid in tids:
            stat = _read_stat(f"/proc/{pid}/task/{tid}/stat")
            if stat is not None:
                self.seen.threads[int(tid)] = (stat[0], stat[2])


def cpu_summary(seen: TreeSample, main: int) -> dict[str, Any]:
    """Seconds of CPU per thread name of the main process (threads of one name summed, with
    how many there were) and per process of the tree."""
    by_name: dict[str, list[float]] = {}
    for tid, (name, ticks) in seen.threads.items():
        label = "main thread" if tid == main else name
        by_name.setdefault(label, []).append(ticks / CLOCK_TICKS)
    threads: list[dict[str, Any]] = [
        {"name": name, "threads": len(secs), "cpu_seconds": round(sum(secs), 2)}
        for name, secs in by_name.items()
    ]
    threads.sort(key=lambda t: -t["cpu_seconds"])
    processes: list[dict[str, Any]] = [
        {"pid": pid, "what": what, "cpu_seconds": round(ticks / CLOCK_TICKS, 2),
         "peak_rss_mb": round(seen.process_peak_kb.get(pid, 0) / 1024, 1)}
        for pid, (what, ticks) in seen.processes.items()
    ]  # fmt: skip
    processes.sort(key=lambda p: -p["cpu_seconds"])
    return {"threads": threads, "processes": processes, "main_pid": main}


@dataclass
class Finished:
    """A command that ran to its exit."""

    returncode: int
    seconds: float
    cpu_seconds: float  # user + system of the process and every descendant it waited for
    watch: TreeSample
    main_pid: int
    stdout: str
    stderr: str


def run_watched(command: Sequence[str], workdir: Path, label: str) -> Finished:
    """Run ``command`` to its exit, watched (see :class:`TreeWatch`); output kept in files."""
    out_path, err_path = workdir / f"{label}.stdout", workdir / f"{label}.stderr"
    with out_path.open("wb") as out, err_path.open("wb") as err:
        started = time.perf_counter()
        process = subprocess.Popen(list(command), cwd=workdir, stdout=out, stderr=err)
        profiled = Path(command[0]).name == "py-spy"
        with TreeWatch(process.pid, None if profiled else process.pid) as watch:
            if profiled:
                watch.main = _first_child(process.pid)
            _, status, usage = os.wait4(process.pid, 0)
            seconds = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)
    return Finished(
        returncode=process.returncode,
        seconds=seconds,
        cpu_seconds=usage.ru_utime + usage.ru_stime,
        watch=watch.seen,
        main_pid=watch.main or process.pid,
        stdout=out_path.read_text(errors="replace"),
        stderr=err_path.read_text(errors="replace"),
    )


def _first_child(pid: int, wait: float = 10) -> int | None:
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        children = descendants(pid)
        if children:
            return min(children)
        time.sleep(0.02)
    return None


def processes_with(*needles: str) -> list[int]:
    """Process ids whose command line holds every one of ``needles``."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit() and int(entry) != os.getpid():
            line = _cmdline(int(entry))
            if line and all(needle in line for needle in needles):
                found.append(int(entry))
    return found


@dataclass
class Detached:
    """Processes a command left running after its exit, followed until they ended."""

    processes: int = 0
    seconds: float = 0.0
    cpu_seconds: float = 0.0
    peak_rss_kb: int = 0


def wait_detached(
    *needles: str, interval: float = 0.2, timeout: float = 3600, settle: float = 1.0
) -> Detached:
    """Wait until no process whose command line holds ``needles`` is left (looking for
    ``settle`` seconds for one to appear): how long that took, their CPU and peak RSS."""
    seen = Detached()
    ticks: dict[int, int] = {}
    started = time.perf_counter()
    while time.perf_counter() - started < timeout:
        pids = processes_with(*needles)
        for pid in pids:
            stat = _read_stat(f"/proc/{pid}/stat")
            if stat is not None:
                ticks[pid] = stat[2]
        seen.peak_rss_kb = max(seen.peak_rss_kb, sum(rss_kb(p) for p in pids))
        if not pids and (ticks or time.perf_counter() - started > settle):
            break
        time.sleep(interval)
    seen.processes = len(ticks)
    seen.seconds = time.perf_counter() - started if ticks else 0.0
    seen.cpu_seconds = sum(ticks.values()) / CLOCK_TICKS
    return seen
