"""Query worker processes: the query timeout that really stops the work.

pyoxigraph cannot cancel a query, and a thread cannot be killed, so queries of an on-disk store
are evaluated in a pool of worker *processes* (``[server].query_workers``, default 2). Each
worker opens the live store generation read-only (``Store.read_only``; the writer only ever
publishes new generations, see :mod:`harvester.store`), reopens it when ``GENERATION`` changes,
and answers :class:`~sparql.evaluate.Job`\\ s with serialised bytes (:func:`sparql.evaluate.run`).
The endpoint waits for the answer on the event loop (the pipe's file descriptor, no thread hop)
for at most ``[server].query_timeout`` seconds; then it SIGKILLs the worker, starts a new one,
and answers **503 Service Unavailable** (as Fuseki does: the service gave up on the request; a
504 would blame an upstream gateway). The other workers go on answering meanwhile; a request
that finds every worker busy waits for one (the time waiting counts against nothing).

Workers are started with the ``forkserver`` method (a clean server process with pyoxigraph
preloaded forks them), never by forking the endpoint, which holds RocksDB handles. The pool is
asyncio-only (uvicorn and Starlette's TestClient both run asyncio).

An in-memory store (tests, ``meahub demo`` without a path) cannot be shared with another
process: there, queries run in-process on a thread and the timeout cannot be enforced.

Overhead of the process hop, measured with ``python -m bench.worker_overhead STORE`` (2-core
machine, demo store on disk, ``ASK { ?s ?p ?o }`` answered as JSON, 3000 calls, median of one
call awaited from the event loop):

- in-process on Starlette's thread pool (``run_in_threadpool``): 0.095 ms
- in a worker process over its pipe: 0.13 ms

so the hop adds about 35 microseconds a query, and the query no longer holds the GIL of the
process serving HTTP.
"""

from __future__ import annotations

import collections
import logging
import multiprocessing
import os
import signal
import threading
from collections.abc import Sequence
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from pathlib import Path

import anyio
import pyoxigraph as ox

from harvester.store import QueryResult, live_generation_dir, query_store

from .evaluate import Answer, Failure, Job, run

__all__ = ["WorkerPool", "timeout_message"]

log = logging.getLogger(__name__)

_CONTEXT = multiprocessing.get_context("forkserver")
_CONTEXT.set_forkserver_preload(["pyoxigraph", "sparql.evaluate"])
_STOP_SECONDS = 2.0


def timeout_message(seconds: float) -> str:
    """What a client is told when its query ran out of time."""
    return (
        f"The query was stopped after {seconds:g} s (this endpoint's query_timeout). "
        "Narrow it down (LIMIT, more specific patterns) or run it on a copy of the data."
    )


# -- in the worker process ------------------------------------------------------------------


class _GenerationReader:
    """The live generation of the store at ``path``, opened read-only, reopened on change."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.folder: Path | None = None
        self.store: ox.Store | None = None

    def current(self) -> ox.Store:
        folder = live_generation_dir(self.path)
        if folder != self.folder or self.store is None:
            self.store = None  # release the old generation first
            self.store = ox.Store.read_only(str(folder))
            self.folder = folder
        return self.store

    def query(self, text: str, default: Sequence[str], named: Sequence[str]) -> QueryResult:
        return query_store(self.current(), text, default_graph=default, named_graphs=named)


def _worker_main(path: str, conn: Connection) -> None:
    """Answer jobs until the endpoint closes the pipe (or kills this process)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the endpoint's to handle
    reader = _GenerationReader(Path(path))
    try:
        reader.current()  # warm up: the first query does not pay for opening the store
    except Exception as exc:  # the store may not exist yet; every job will say so
        log.warning("query worker cannot open %s yet: %s", path, exc)
    while True:
        try:
            job = conn.recv()
        except (EOFError, OSError):
            return
        conn.send(_answer(reader, job))


def _answer(reader: _GenerationReader, job: Job) -> Answer | Failure:
    try:
        return run(reader.query, job)
    except Exception as exc:  # a bug must cost this query, not the worker
        log.exception("query worker failed on %.200r", job.query)
        return Failure(500, f"The query could not be answered: {exc}")


# -- in the endpoint process ----------------------------------------------------------------


class _Worker:
    """One worker process and the parent's end of its pipe."""

    def __init__(self, path: Path, number: int) -> None:
        self.conn, child = _CONTEXT.Pipe(duplex=True)
        self.process: BaseProcess = _CONTEXT.Process(
            target=_worker_main,
            args=(str(path), child),
            name=f"meahub-query-{number}",
            daemon=True,
        )
        self.process.start()
        child.close()

    async def call(self, job: Job) -> Answer | Failure:
        """Send ``job`` and wait for the answer (the caller bounds the wait)."""
        fd = self.conn.fileno()
        os.set_blocking(fd, True)
        self.conn.send(job)
        await anyio.wait_readable(fd)
        # uvloop's add_reader leaves the descriptor non-blocking; the answer arrives in parts.
        os.set_blocking(fd, True)
        answer: Answer | Failure = self.conn.recv()
        return answer

    def kill(self) -> None:
        """SIGKILL: the only way to stop a query inside pyoxigraph."""
        self.process.kill()
        self.process.join(_STOP_SECONDS)
        self.conn.close()

    def stop(self) -> None:
        """Close the pipe (the worker exits), kill it if it does not."""
        self.conn.close()
        self.process.join(_STOP_SECONDS)
        if self.process.is_alive():
            self.kill()


class WorkerPool:
    """``size`` worker processes over the store at ``path``; see the module docstring.

    :param timeout: seconds a query may run before its worker is killed.
    """

    def __init__(self, path: Path, *, size: int, timeout: float) -> None:
        self.path = path
        self.size = size
        self.timeout = timeout
        self.timeouts = 0  # queries stopped at the timeout
        self.restarts = 0  # workers replaced (after a timeout or a crash)
        self._lock = threading.Lock()
        self._idle: collections.deque[_Worker] = collections.deque()
        self._busy: set[_Worker] = set()
        self._waiters: collections.deque[anyio.Event] = collections.deque()
        self._numbers = 0
        self._started = False

    def start(self) -> None:
        """Start the workers (idempotent; also done lazily by the first query)."""
        with self._lock:
            if self._started:
                return
            self._started = True
        for _ in range(self.size):
            self._release(self._spawn())
        log.info("started %d query workers over %s", self.size, self.path)

    def close(self) -> None:
        """Stop every worker, busy ones included."""
        with self._lock:
            workers = [*self._idle, *self._busy]
            self._idle.clear()
            self._busy.clear()
            self._started = False
        for worker in workers:
            worker.stop()

    async def run(self, job: Job) -> Answer | Failure:
        """Answer ``job`` in a worker, within the timeout (503 after it)."""
        self.start()
        worker = await self._acquire()
        try:
            with anyio.fail_after(self.timeout):
                answer = await worker.call(job)
        except TimeoutError:
            self.timeouts += 1
            log.warning("query stopped after %.1f s: %.200r", self.timeout, job.query)
            self._replace(worker)
            return Failure(503, timeout_message(self.timeout))
        except (EOFError, OSError) as exc:
            log.error("query worker %s died: %s", worker.process.name, exc)
            self._replace(worker)
            return Failure(500, "The query worker failed while evaluating this query.")
        except BaseException:  # cancelled (client gone): its answer would arrive out of turn
            self._replace(worker)
            raise
        self._release(worker)
        return answer

    def _spawn(self) -> _Worker:
        self._numbers += 1
        return _Worker(self.path, self._numbers)

    def _replace(self, worker: _Worker) -> None:
        with self._lock:
            self._busy.discard(worker)
            started = self._started
        worker.kill()
        if started:
            self.restarts += 1
            self._release(self._spawn())

    async def _acquire(self) -> _Worker:
        while True:
            with self._lock:
                if self._idle:
                    worker = self._idle.popleft()
                    self._busy.add(worker)
                    return worker
                event = anyio.Event()
                self._waiters.append(event)
            await event.wait()

    def _release(self, worker: _Worker) -> None:
        with self._lock:
            self._busy.discard(worker)
            self._idle.append(worker)
            waiters = list(self._waiters)
            self._waiters.clear()
        for event in waiters:  # each retries; those that find no idle worker wait again
            event.set()
