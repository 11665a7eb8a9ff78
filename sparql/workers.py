"""Query worker processes: the query timeout that really stops the work.

pyoxigraph cannot cancel a query, and a thread cannot be killed, so queries of an on-disk store
are evaluated in a pool of worker *processes* (``[server].query_workers``, default 2). Each
worker opens the live store generation read-only (``Store.read_only``; the writer only ever
publishes new generations, see :mod:`harvester.store.embedded`), reopens it when ``GENERATION``
changes, and answers :class:`~sparql.evaluate.Job`\\ s with serialised bytes
(:func:`sparql.evaluate.run`). The endpoint waits for the answer on the event loop (the pipe's file
descriptor, no thread hop) for at most ``[server].query_timeout`` seconds; then it SIGKILLs the
worker, starts a new one, and answers **503 Service Unavailable** (as Fuseki does: the service gave
up on the request; a 504 would blame an upstream gateway). The other workers go on answering
meanwhile; a request that finds every worker busy waits for one (the time waiting counts against
nothing).

Workers are started with the ``forkserver`` method (a clean server process with pyoxigraph
preloaded forks them), never by forking the endpoint, which holds RocksDB handles. The pool is
asyncio-only (uvicorn and Starlette's TestClient both run asyncio).

An in-memory store (tests, ``meahub demo`` without a path) cannot be shared with another
process: there, queries run in-process on a thread and the timeout cannot be enforced.

The hop is kept small: a job and its answer cross the worker's socket as one length-prefixed
:mod:`marshal` frame each (plain tuples of str, bytes and ints: no pickling, no
``multiprocessing`` connection protocol), and the endpoint waits for the answer with
``loop.add_reader`` and a ``call_later`` timer rather than a thread or an anyio cancel scope.
Measured on the 2-core bench machine (1.5M quads on disk; a one-row provenance SELECT answered as
JSON, median of one call awaited from a uvloop event loop): the call cost 294 microseconds with
pickled ``Connection`` messages, anyio's ``fail_after`` and ``wait_readable``, 250 now, for 69 of
evaluation in-process. What remains is mostly waking the other process twice (a socket write
that wakes a sleeping process costs 30-80 microseconds on this virtual machine), the price of a
timeout that really stops the work.

That price is paid once per query and generation: a job a worker answered within
``[server].inline_query_ms`` (default 5 ms) is answered in the endpoint process the next times
while the live generation is the same (:class:`ProvenCheap`; an immutable generation and a
deterministic evaluation make the same job cost the same again). ``make bench`` reports both
paths (the "first-time" columns are queries never seen before).
"""

from __future__ import annotations

import asyncio
import collections
import dataclasses
import hashlib
import logging
import marshal
import multiprocessing
import os
import select
import signal
import struct
import threading
import time
from collections.abc import Sequence
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any

import anyio
import pyoxigraph as ox

from harvester.exceptions import StoreError
from harvester.search import jobs as search_jobs
from harvester.search.service import expand_for_folder
from harvester.store.embedded import QueryResult, live_generation_dir, query_store

from .evaluate import Answer, Failure, Job, run
from .guard import service_targets

__all__ = ["SEARCH_JOB", "ProvenCheap", "WorkerPool", "timeout_message"]

log = logging.getLogger(__name__)

_CONTEXT = multiprocessing.get_context("forkserver")
_CONTEXT.set_forkserver_preload(["pyoxigraph", "sparql.evaluate"])
_STOP_SECONDS = 2.0
_POINTER = "GENERATION"  # the live generation's name, see harvester.store.embedded
#: ``Job.results`` of a full-text search (``/search``; no SPARQL job has it): ``Job.query`` is
#: :func:`harvester.search.jobs.encode` of the request, the answer its JSON
SEARCH_JOB = ("search", "application/json")


def timeout_message(seconds: float) -> str:
    """What a client is told when its query ran out of time."""
    return (
        f"The query was stopped after {seconds:g} s (this endpoint's query_timeout). "
        "Narrow it down (LIMIT, more specific patterns) or run it on a copy of the data."
    )


# -- the wire format ------------------------------------------------------------------------

_FRAME = struct.Struct("!Q")  # the length of the marshalled message that follows
_READ_SIZE = 1 << 20
_JOB_FIELDS = tuple(f.name for f in dataclasses.fields(Job))
_ANSWER_FIELDS = tuple(f.name for f in dataclasses.fields(Answer))
_FAILURE_FIELDS = tuple(f.name for f in dataclasses.fields(Failure))


def _frame(value: Any) -> bytes:
    data = marshal.dumps(value)
    return _FRAME.pack(len(data)) + data


def _encode_job(job: Job) -> bytes:
    return _frame(tuple(getattr(job, name) for name in _JOB_FIELDS))


def _decode_job(data: bytes) -> Job:
    return Job(**dict(zip(_JOB_FIELDS, marshal.loads(data), strict=True)))


def _encode_outcome(outcome: Answer | Failure) -> bytes:
    if isinstance(outcome, Answer):
        return _frame((True, *(getattr(outcome, name) for name in _ANSWER_FIELDS)))
    return _frame((False, *(getattr(outcome, name) for name in _FAILURE_FIELDS)))


def _decode_outcome(data: bytes) -> Answer | Failure:
    answered, *values = marshal.loads(data)
    if answered:
        return Answer(**dict(zip(_ANSWER_FIELDS, values, strict=True)))
    return Failure(**dict(zip(_FAILURE_FIELDS, values, strict=True)))


def _complete(buffer: bytearray) -> bool:
    """True when ``buffer`` holds a whole frame (one message is in flight at a time)."""
    return len(buffer) >= _FRAME.size and len(buffer) >= _FRAME.size + _FRAME.unpack_from(buffer)[0]


def _write_all(fd: int, data: bytes) -> None:
    """Write ``data`` whole, also to a non-blocking descriptor (waiting until it drains)."""
    view = memoryview(data)
    while view:
        try:
            view = view[os.write(fd, view) :]
        except BlockingIOError:
            select.select([], [fd], [])


# -- in the worker process ------------------------------------------------------------------


class _GenerationReader:
    """The live generation of the store at ``path``, opened read-only, reopened on change.

    The ``GENERATION`` pointer is re-read only when its ``stat`` changes (it is replaced by a
    rename on publish): one ``stat`` call a query instead of opening and reading the file.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.pointer = path / _POINTER
        self.stamp: tuple[int, int] | None = None
        self.folder: Path | None = None
        self.store: ox.Store | None = None

    def current(self) -> ox.Store:
        stamp = self._stamp()
        if stamp is not None and stamp == self.stamp and self.store is not None:
            return self.store
        folder = live_generation_dir(self.path)
        if folder != self.folder or self.store is None:
            self.store = None  # release the old generation first
            self.store = ox.Store.read_only(str(folder))
            self.folder = folder
        self.stamp = stamp
        return self.store

    def _stamp(self) -> tuple[int, int] | None:
        try:
            status = os.stat(self.pointer)
        except OSError:
            return None
        return status.st_ino, status.st_mtime_ns

    def query(self, text: str, default: Sequence[str], named: Sequence[str]) -> QueryResult:
        store = self.current()
        # SERVICE <urn:meahub:search>: searched on the generation ``store`` is (harvester.search)
        text = expand_for_folder(text, self.path, self.folder)
        return query_store(store, text, default_graph=default, named_graphs=named)


def _worker_main(path: str, conn: Connection) -> None:
    """Answer jobs until the endpoint closes its end (or kills this process)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the endpoint's to handle
    reader = _GenerationReader(Path(path))
    try:
        reader.current()  # warm up: the first query does not pay for opening the store
    except Exception as exc:  # the store may not exist yet; every job will say so
        log.warning("query worker cannot open %s yet: %s", path, exc)
    fd = conn.fileno()
    os.set_blocking(fd, True)
    while True:
        try:
            data = _receive(fd)
        except OSError:
            return
        if data is None:
            return
        _write_all(fd, _encode_outcome(_answer(reader, _decode_job(data))))


def _receive(fd: int) -> bytes | None:
    """The next message on the blocking descriptor ``fd``; None when the endpoint is gone."""
    buffer = bytearray()
    while not _complete(buffer):
        chunk = os.read(fd, _READ_SIZE)
        if not chunk:
            return None
        buffer += chunk
    return bytes(buffer[_FRAME.size :])


def _answer(reader: _GenerationReader, job: Job) -> Answer | Failure:
    try:
        if job.results == SEARCH_JOB:  # /search (issue 17): a search, under the same timeout
            return _search(reader, job)
        return run(reader.query, job)
    except Exception as exc:  # a bug must cost this query, not the worker
        log.exception("query worker failed on %.200r", job.query)
        return Failure(500, f"The query could not be answered: {exc}")


def _search(reader: _GenerationReader, job: Job) -> Answer | Failure:
    reader.current()  # the generation /sparql reads
    status, body = search_jobs.answer(job.query, reader.path, reader.folder)
    if status != 200:
        return Failure(status, body.decode("utf-8"))
    return Answer(body, search_jobs.MEDIA_TYPE, 0, False)


# -- in the endpoint process ----------------------------------------------------------------


class _Worker:
    """One worker process and the parent's end of its socket."""

    def __init__(self, path: Path, number: int) -> None:
        self.conn, child = _CONTEXT.Pipe(duplex=True)
        self.fd = self.conn.fileno()
        self.process: BaseProcess = _CONTEXT.Process(
            target=_worker_main,
            args=(str(path), child),
            name=f"meahub-query-{number}",
            daemon=True,
        )
        self.process.start()
        child.close()

    async def call(self, job: Job, seconds: float) -> Answer | Failure:
        """Send ``job`` and wait for the answer.

        :raises TimeoutError: after ``seconds`` without a whole answer (the limit is kept by
            a loop timer: cheaper than a cancel scope, and it needs no cancellation).
        :raises EOFError: when the worker is gone.
        """
        _write_all(self.fd, _encode_job(job))
        loop = asyncio.get_running_loop()
        future: asyncio.Future[bytes] = loop.create_future()
        buffer = bytearray()
        loop.add_reader(self.fd, self._readable, future, buffer)
        timer = loop.call_later(seconds, _expire, future)
        try:
            return _decode_outcome(await future)
        finally:
            timer.cancel()
            loop.remove_reader(self.fd)

    def _readable(self, future: asyncio.Future[bytes], buffer: bytearray) -> None:
        if future.done():
            return
        try:
            chunk = os.read(self.fd, _READ_SIZE)
        except BlockingIOError:
            return
        except OSError as exc:
            future.set_exception(exc)
            return
        if not chunk:
            future.set_exception(EOFError("the query worker closed its socket"))
            return
        buffer += chunk
        if _complete(buffer):
            future.set_result(bytes(buffer[_FRAME.size :]))

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


def _expire(future: asyncio.Future[bytes]) -> None:
    if not future.done():
        future.set_exception(TimeoutError())


class WorkerPool:
    """``size`` worker processes over the store at ``path``; see the module docstring.

    :param timeout: seconds a query may run before its worker is killed.
    """

    def __init__(self, path: Path, *, size: int, timeout: float, inline_ms: float = 0.0) -> None:
        self.path = path
        self.size = size
        self.timeout = timeout
        self.inline = ProvenCheap(path, inline_ms / 1000) if inline_ms > 0 else None
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
        """Answer ``job`` in a worker, within the timeout (503 after it); or here, when this
        very job was answered by a worker on the live generation in less than ``inline_ms``
        (see :class:`ProvenCheap`)."""
        if self.inline is None or job.results == SEARCH_JOB:
            return await self._in_worker(job)
        learning = self.inline.lookup(job)
        if learning is None:
            return self.inline.answer(job)
        start = time.perf_counter()
        outcome = await self._in_worker(job)
        self.inline.learn(learning, time.perf_counter() - start, outcome)
        return outcome

    async def _in_worker(self, job: Job) -> Answer | Failure:
        self.start()
        worker = await self._acquire()
        try:
            answer = await worker.call(job, self.timeout)
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


# -- queries shown to be cheap -------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Learning:
    """A job about to go to a worker: its key and the generation it will be answered on."""

    key: bytes
    generation: Path | None
    query: str


class ProvenCheap:
    """Jobs a worker answered within ``limit`` seconds on the live generation, answered again
    in this process: no hop to a worker (two process wake-ups, about 0.2 ms here).

    A generation is immutable and evaluation is deterministic, so the same job (query text,
    dataset, format, row cap) on the same generation does the same work again: the timeout is
    still kept, by the first answer's proof (a query with a ``SERVICE`` call is never proven:
    another server's time is not deterministic). Each answer is evaluated anew (``NOW()``,
    ``RAND()`` stay fresh); only the decision where to evaluate is remembered. A new
    generation forgets every proof. Keys are BLAKE2b digests of the jobs (a bounded, small
    memory whatever the queries' size). An inline answer that still takes over four times
    ``limit`` (it should not) loses its proof.
    """

    SIZE = 4096

    def __init__(self, path: Path, limit: float) -> None:
        self.limit = limit
        self.inlined = 0  # answers given here
        self._reader = _GenerationReader(path)
        self._proofs: collections.OrderedDict[bytes, None] = collections.OrderedDict()
        self._generation: Path | None = None

    def lookup(self, job: Job) -> Learning | None:
        """None when ``job`` may be answered here; otherwise what :meth:`learn` needs."""
        generation = self._live()
        key = _job_key(job)
        if generation is not None and key in self._proofs:
            self._proofs.move_to_end(key)
            return None
        return Learning(key, generation, job.query)

    def answer(self, job: Job) -> Answer | Failure:
        """Evaluate ``job`` here (it was proven cheap on the live generation)."""
        start = time.perf_counter()
        outcome = _answer(self._reader, job)
        self.inlined += 1
        if time.perf_counter() - start > 4 * self.limit:
            self._proofs.pop(_job_key(job), None)
        return outcome

    def learn(self, learning: Learning, seconds: float, outcome: Answer | Failure) -> None:
        """Remember a job a worker answered within the limit on an unchanged generation."""
        if not isinstance(outcome, Answer) or seconds > self.limit:
            return
        if service_targets(learning.query):  # another server's time is not ours to prove
            return
        if learning.generation is None or self._live() != learning.generation:
            return
        self._proofs[learning.key] = None
        if len(self._proofs) > self.SIZE:
            self._proofs.popitem(last=False)

    def _live(self) -> Path | None:
        """The live generation's folder (None when there is no store yet); proofs of another
        generation are forgotten."""
        try:
            self._reader.current()
        except (OSError, StoreError, ValueError):
            return None
        if self._reader.folder != self._generation:
            self._proofs.clear()
            self._generation = self._reader.folder
        return self._generation


def _job_key(job: Job) -> bytes:
    fields = tuple(getattr(job, name) for name in _JOB_FIELDS)
    return hashlib.blake2b(marshal.dumps(fields), digest_size=16).digest()
