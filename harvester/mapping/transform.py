"""The CPU-heavy part of a harvest — hash the payload and encode it for the raw archive, map,
check shapes, split paragraphs, link targets, and write N-Quads text — as a pure function of
one raw record, so it can run in a worker process
on another core while the harvester fetches and the store writes (:class:`TransformPool`)."""

from __future__ import annotations

import dataclasses
import logging
import os
import threading
from collections.abc import Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from typing import Any

import pyoxigraph as ox

from ..exceptions import RecordError, ValidationError
from ..linking import Linker
from ..paths import MAPPINGS_DIR
from ..priority import BACKGROUND_NICENESS
from ..raw import Archived, archive_form, payload_hash
from ..store.embedded import nquads_text
from ..store.heap import keep_heap_compact
from .engine import MappingContext, MappingRegistry
from .enrich import Enricher, inferred_graph
from .validate import ShapeChecker

__all__ = ["Job", "TransformPool", "Transformed", "Transformer", "shutdown_workers"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Job:
    """One record to transform (everything picklable)."""

    entity: str
    record_id: str
    payload: Any
    url: str
    #: the change hash's salt (mappings, base IRI, enrichment version)
    salt: str = ""
    #: the change hash the store has for this record: the same hash means unchanged
    previous: str | None = None
    #: also return the payload in the raw archive's form
    keep_raw: bool = False
    #: the fingerprint of the record's listing row (harvester.pipeline: kept in the ledger)
    row_hash: str | None = None


@dataclass(frozen=True)
class Transformed:
    """A record's graphs as N-Quads text (``ChangeSet`` form), or why it failed."""

    graph: str = ""
    text: str = ""
    count: int = 0
    inferred: str | None = None
    inferred_count: int = 0
    warnings: tuple[str, ...] = ()
    error: tuple[str, str] | None = None  # (stage, message)
    digest: str = ""  # the change hash
    unchanged: bool = False  # same hash as ``Job.previous``: nothing else was done
    archived: Archived | None = None  # for the raw archive, when ``Job.keep_raw``

    @property
    def inferred_graph(self) -> str:
        return inferred_graph(self.graph)


class Transformer:
    """Map, check, enrich and serialise one record; never raises for a bad record."""

    def __init__(
        self, registry: MappingRegistry, checker: ShapeChecker, enricher: Enricher
    ) -> None:
        self.registry = registry
        self.checker = checker
        self.enricher = enricher

    def __call__(self, job: Job, ctx: MappingContext) -> Transformed:
        """Hash (and archive-encode) the payload; map and enrich it unless it is unchanged."""
        archived = archive_form(job.payload) if job.keep_raw else None
        digest = payload_hash(job.payload, salt=job.salt)
        if digest == job.previous:
            return Transformed(digest=digest, unchanged=True, archived=archived)
        done = self._transform(job, ctx)
        return dataclasses.replace(done, digest=digest, archived=archived)

    def _transform(self, job: Job, ctx: MappingContext) -> Transformed:
        mapping = self.registry.get(job.entity)
        assert mapping is not None
        try:
            mapped = mapping.map(job.payload, ctx, url=job.url)
            problems = self.checker.check(mapped.quads)
            if problems:
                raise ValidationError("; ".join(problems), record_id=job.record_id, url=job.url)
        except RecordError as exc:
            return Transformed(error=(exc.stage, str(exc)))
        text, count = nquads_text(mapped.quads, mapped.graph), len(mapped.quads)
        if job.entity != "Decisions":
            return Transformed(graph=mapped.graph, text=text, count=count, warnings=mapped.warnings)
        added = self.enricher.enrich_lines(mapped, ctx.run_iri)  # N-Triples lines, no dots
        tail = f" {ox.NamedNode(mapped.graph)} .\n"
        inferred_tail = f" {ox.NamedNode(inferred_graph(mapped.graph))} .\n"
        return Transformed(
            graph=mapped.graph,
            text=text + "".join(line + tail for line in added.paragraphs),
            count=count + len(added.paragraphs),
            inferred="".join(line + inferred_tail for line in added.links),
            inferred_count=len(added.links),
            warnings=mapped.warnings,
        )

    def batch(self, jobs: Sequence[Job], ctx: MappingContext) -> list[Transformed]:
        return [self(job, ctx) for job in jobs]


# -- worker processes ---------------------------------------------------------------------------

#: a worker's transformers, built at the first batch of each (kind, mappings, linking) it gets
_TRANSFORMERS: dict[tuple[str, str, bool, float], Transformer] = {}


#: transform workers run at this niceness: in ``meahub serve`` the query workers (and the
#: server) go first, so a scheduled harvest slows the queries answered meanwhile less
WORKER_NICENESS = BACKGROUND_NICENESS


def _init_worker() -> None:
    keep_heap_compact()
    try:
        os.nice(WORKER_NICENESS)
    except OSError as exc:  # not permitted here: run at the parent's priority
        log.debug("transform worker keeps its priority: %s", exc)


def _transformer(key: tuple[str, str, bool, float]) -> Transformer:
    transformer = _TRANSFORMERS.get(key)
    if transformer is None:
        kind, _, linking, threshold = key
        linker = Linker.from_ontology() if linking else None
        registry = MappingRegistry.load(MAPPINGS_DIR, kind)
        transformer = Transformer(registry, ShapeChecker.from_file(), Enricher(linker, threshold))
        _TRANSFORMERS[key] = transformer
    return transformer


def _run_batch(
    key: tuple[str, str, bool, float], jobs: Sequence[Job], ctx: MappingContext
) -> list[Transformed]:
    return _transformer(key).batch(jobs, ctx)


class _Workers:
    """The process's one set of worker processes (``forkserver``: never fork a process holding
    RocksDB handles), started at the first batch and shared by every run of the process (a
    command harvesting several sources, or a server's scheduled runs): starting them costs
    about 0.3 CPU-s each, and each then builds a source kind's transformer once."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._executor: ProcessPoolExecutor | None = None
        self._size = 0

    def get(self, size: int) -> ProcessPoolExecutor:
        with self._lock:
            broken = self._executor is not None and getattr(self._executor, "_broken", False)
            if self._executor is None or self._size != size or broken:
                self._shutdown()
                self._executor, self._size = self._start(size), size
            return self._executor

    def shutdown(self) -> None:
        with self._lock:
            self._shutdown()

    def _shutdown(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
            self._executor = None

    @staticmethod
    def _start(size: int) -> ProcessPoolExecutor:
        import multiprocessing

        context = multiprocessing.get_context("forkserver")
        # The fork server imports the transform once; each worker forked from it has it loaded.
        context.set_forkserver_preload(["__main__", __name__])
        return ProcessPoolExecutor(size, mp_context=context, initializer=_init_worker)


_WORKERS = _Workers()


def shutdown_workers() -> None:
    """Stop the process's transform workers (they start again at the next batch)."""
    _WORKERS.shutdown()


class TransformPool:
    """One run's handle on the process's transform workers: batches of records are transformed
    there while the harvester goes on fetching and writing.

    :param workers: worker processes (started at the first batch, kept for later runs).
    """

    def __init__(self, kind: str, *, linking: bool, threshold: float, workers: int) -> None:
        digest = MappingRegistry.load(MAPPINGS_DIR, kind).digest
        self._key = (kind, digest, linking, threshold)
        self._workers = workers
        self._submitted: list[Future[list[Transformed]]] = []

    def submit(self, jobs: Sequence[Job], ctx: MappingContext) -> Future[list[Transformed]]:
        """One batch (pickled once, as one task)."""
        executor = _WORKERS.get(self._workers)
        future = executor.submit(_run_batch, self._key, list(jobs), ctx)
        self._submitted = [f for f in self._submitted if not f.done()]
        self._submitted.append(future)
        return future

    def close(self) -> None:
        """Cancel this run's batches not yet started (the workers stay for the next run)."""
        for future in self._submitted:
            future.cancel()
        self._submitted = []


def default_workers() -> int:
    """One transform process per core, at most four. The harvester's own process mostly waits
    (for the provider, and for the bulk loader, which runs on a thread of its own and releases
    the GIL). Measured over 20,000 decisions on 2 cores: with the transform at ~0.95 ms a
    decision, two workers gave 610 records/s against 462 for one; at ~0.48 ms both give ~685
    (the store writer bounds the run), and two keep headroom for heavier records."""
    return max(1, min(4, os.cpu_count() or 2))
