"""How a run's changes reach the store: one transaction when small, a staged generation when
large, so memory stays bounded and readers still see a source before or after a run, never
half-way (see :mod:`harvester.store.embedded`).

Batches are written by a background thread (:class:`_BackgroundWriter`): pyoxigraph's bulk
loader releases the GIL, so the harvester goes on fetching, hashing and dispatching records on
the other core while a batch is loaded (or, for a remote store, sent). The next batch is handed
over once the one before is written, so memory stays bounded, and batches are written in the order
they were made.

A remote store has no staged generations (``write_batch_quads`` is set): there a large run is
written in place, one SPARQL Update per batch, each atomic; readers may see the run half-way,
and :meth:`ChangeWriter.abort` cannot take back the batches already written (see
:mod:`harvester.store.remote`)."""

from __future__ import annotations

import itertools
import logging
import queue
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Protocol

import pyoxigraph as ox

from ..exceptions import StoreError
from .api import StoreBackend
from .commits import Commit, CommitChain
from .embedded import ChangeSet, MeaStore, StagedStore

__all__ = ["DEFAULT_BATCH_QUADS", "ChangeWriter"]

log = logging.getLogger(__name__)

#: Quads a run may hold before it switches to a staged generation (see STAGED_BATCH_FACTOR).
#: pyoxigraph buffers a transaction in memory at ~1.8 KB a quad: 50,000 quads, ~90 MB.
DEFAULT_BATCH_QUADS = 50_000
#: Batches written to a staged generation are this many times ``batch_quads``: every bulk load
#: adds files that RocksDB compacts against all the data staged so far, so a large run costs
#: less in fewer, larger batches. Measured (``bench.harvest_bench`` mixes, same machine): default
#: ``make bench`` mix (281,000 records, 11.1M quads) 1,543 records/s with 50,000-quad batches,
#: 1,834 with 200,000; 20,000 decisions 670 and 741 records/s; peak RSS 313 and 623 MB there
#: (5,000 decisions: 572 MB, so still flat with the source's size). Since the pipelined commits
#: (issue 14), ``meahub harvest`` at the e2e bench's full scale (26,619 records, 2.93M quads,
#: ``python -m bench.harvest_e2e --no-serve``, same machine, back to back): factor 4, 90.1 s and
#: peak RSS 1,028 MB; factor 2, 87.6 s and 905 MB (the bulk loader holds a whole batch, about
#: 1 KB a quad). Once the search index's capture went to disk (harvester.store.capture), the
#: same command (``meahub harvest`` alone, alternated, the mock's process aside): factor 2,
#: 64.7-68.2 s, process peak RSS 444-497 MB; factor 4, 61.3-63.2 s, 656-736 MB; factor 6,
#: 58.0-59.1 s, 896-912 MB (with the workers, past 1 GB). With two sources at a time (the
#: default ``[harvest] parallel_sources``), the e2e bench: factor 2, 65.8 s, tree peak RSS
#: 667 MB, 1.16x its quarter scale; factor 4, 64.6 s, 974 MB, 1.46x. Factor 2 it is: memory
#: that stays flat with the run's size was worth more than the second.
STAGED_BATCH_FACTOR = 2


class _Recorder(Protocol):
    """What a store's ``change_hook`` makes for each writer (:mod:`harvester.feed`): it sees
    each batch before it is written and may add to it; it returns what to carry over to the
    next batch."""

    def batch(self, changes: ChangeSet, *, final: bool) -> ChangeSet | None: ...


class _BackgroundWriter:
    """A thread that applies change sets with ``apply`` (to a staged generation, or a remote
    store), in order, one at a time.

    :meth:`put` blocks until the batch before is written (back-pressure: at most two batches,
    one written and one being collected, are held). A failed write is raised, as it was, by the next
    :meth:`put` or by :meth:`finish`; batches after a failure are dropped unwritten.
    """

    def __init__(self, apply: Callable[[ChangeSet], None], staged: StagedStore | None) -> None:
        self.apply = apply
        self.staged = staged
        self._queue: queue.Queue[ChangeSet | None] = queue.Queue(maxsize=1)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._loop, name="meahub-stage-writer", daemon=True)
        self._thread.start()

    def put(self, changes: ChangeSet) -> None:
        """Hand ``changes`` over once the batch before is written: the one being written and
        the one being collected are all a run holds."""
        self._queue.join()
        self._raise()
        self._queue.put(changes)

    def finish(self) -> None:
        """Wait until every batch is written; raise the first write error, if any."""
        if self._thread.is_alive():
            self._queue.put(None)
            self._thread.join()
        self._raise()

    def _raise(self) -> None:
        if self._error is not None:
            raise self._error

    def _loop(self) -> None:
        while (changes := self._queue.get()) is not None:
            try:
                if self._error is None:  # else drain: the run is failing, nothing more is written
                    self.apply(changes)
            except BaseException as exc:  # raised again in the harvesting thread
                self._error = exc if isinstance(exc, StoreError) else StoreError(str(exc))
            finally:
                self._queue.task_done()


@dataclass(frozen=True)
class _End:
    """The end of a run's batches: its last batch, to publish; or nothing (given up)."""

    last: ChangeSet | None


class _ChainedWriter:
    """A run's batches, in a command's chain of commits (:mod:`harvester.store.commits`): a
    thread that, in the commit's turn, stages a copy of the commit before it, writes the
    batches, then seals and publishes the stage without the harvest waiting for it.

    The change feed's recorder sees each batch here, in the commit's turn, so commits of runs
    harvested at the same time number their members one after the other.

    :meth:`put` has the same back-pressure as :class:`_BackgroundWriter`; :meth:`close` hands
    over the end (publish, or give up) and returns at once.
    """

    staged: StagedStore | None = None  # batches grow (STAGED_BATCH_FACTOR), as on a stage

    def __init__(self, store: MeaStore, commit: Commit, feed: _Recorder | None) -> None:
        self.store = store
        self.commit = commit
        self.feed = feed
        self._queue: queue.Queue[ChangeSet | _End] = queue.Queue(maxsize=1)
        self._ended = False  # the end was taken from the queue
        self._thread = threading.Thread(target=self._run, name="meahub-commit", daemon=True)
        self._thread.start()

    def put(self, changes: ChangeSet) -> None:
        self._queue.join()
        self._raise()
        self._queue.put(changes)

    def close(self, last: ChangeSet | None) -> None:
        """The end of the run's batches: publish them with ``last`` (in turn), or (None)
        give them up."""
        self._queue.put(_End(last))

    def _raise(self) -> None:
        if self.commit.error is not None:
            raise StoreError(f"{self.commit.error}")

    def _run(self) -> None:
        staged: StagedStore | None = None
        try:
            self.commit.after_previous_sealed()
            staged = self.store.stage()
            assert staged is not None
            if not self._write(staged):
                self.store.discard(staged)
                self.commit.skip()
                return
            sealed = self.store.seal(staged, optimize=self.store.needs_compaction(staged))
            staged = None
            self.commit.sealed()
            self.commit.after_previous_landed()
            self.store.publish_sealed(sealed)
        except BaseException as exc:  # told to the harvesting thread, and to later commits
            if staged is not None:
                self.store.discard(staged)
            error = exc if isinstance(exc, StoreError) else StoreError(str(exc))
            log.error("commit failed: %s", error)
            self.commit.fail(error)
            self._drain()
            return
        self.commit.land()

    def _write(self, staged: StagedStore) -> bool:
        """Write the batches until the end; :returns: whether to publish."""
        carry: ChangeSet | None = None
        while True:
            item = self._queue.get()
            try:
                if isinstance(item, _End):
                    self._ended = True
                    if item.last is None:
                        return False
                    last = _after(carry, item.last)
                    if self.feed is not None:
                        self.feed.batch(last, final=True)
                    staged.apply(last)
                    return True
                batch = _after(carry, item)
                carry = self.feed.batch(batch, final=False) if self.feed is not None else None
                staged.apply(batch)
            finally:
                self._queue.task_done()

    def _drain(self) -> None:
        """After a failure: take what the harvest still hands over, up to its end."""
        while not self._ended:
            self._ended = isinstance(self._queue.get(), _End)
            self._queue.task_done()


def _after(carry: ChangeSet | None, batch: ChangeSet) -> ChangeSet:
    """``batch`` with what the batch before carried over (:meth:`_Recorder.batch`) first."""
    if carry is None:
        return batch
    joined = ChangeSet()
    for graph, text in itertools.chain(carry.replace.items(), batch.replace.items()):
        joined.put_nquads(graph, text, text.count("\n"))
    for graph in itertools.chain(carry.drop, batch.drop):
        joined.drop_graph(graph)
    return joined


class ChangeWriter:
    """Collects a run's graph replacements and drops, and commits them all or nothing.

    :param batch_quads: above this many pending quads, changes go to a staged copy of the store
        in batches of :data:`STAGED_BATCH_FACTOR` times this size (written in the background);
        :meth:`commit` then publishes the copy atomically. A remote store is written in batches
        of its own ``write_batch_quads``.
    """

    def __init__(self, store: StoreBackend, *, batch_quads: int = DEFAULT_BATCH_QUADS) -> None:
        self.store = store
        self.batch_quads = min(batch_quads, store.write_batch_quads or batch_quads)
        self.pending = ChangeSet()
        self.staged: _BackgroundWriter | _ChainedWriter | None = None
        self.changed = False
        self.batch_limit = self.batch_quads  # larger once a staged generation is written
        # issue 15: the change feed (harvester.feed) adds its members to each batch
        hook = getattr(store, "change_hook", None)
        self.feed: _Recorder | None = hook(store) if hook is not None else None

    def put_graph(self, graph: str, quads: Iterable[ox.Quad]) -> None:
        self.pending.put_graph(graph, quads)
        self.changed = True
        self._maybe_flush()

    def put_nquads(self, graph: str, text: str, count: int) -> None:
        """Like :meth:`put_graph`, for quads already serialised (``store.nquads_text``)."""
        self.pending.put_nquads(graph, text, count)
        self.changed = True
        self._maybe_flush()

    def drop_graph(self, graph: str) -> None:
        self.pending.drop_graph(graph)
        self.changed = True
        self._maybe_flush()

    def _maybe_flush(self) -> None:
        if self.pending.quad_count + len(self.pending.drop) < self.batch_limit:
            return
        if self.staged is None:
            self.staged = self._background()
            if self.staged is None:  # an in-memory store: one transaction at the end
                self.batch_limit = 2**62
                return
        chained = isinstance(self.staged, _ChainedWriter)  # its thread tells the feed, in turn
        carry = self.feed.batch(self.pending, final=False) if self.feed and not chained else None
        self.staged.put(self.pending)
        self.pending = carry or ChangeSet()
        if not isinstance(self.staged, _BackgroundWriter) or self.staged.staged is not None:
            self.batch_limit = STAGED_BATCH_FACTOR * self.batch_quads

    def _background(self) -> _BackgroundWriter | _ChainedWriter | None:
        """Where batches go: a remote store, written in place; a command's chain of commits
        (:meth:`MeaStore.pipelined`); or a staged generation."""
        if self.store.write_batch_quads is not None:  # a remote store: write in place
            return _BackgroundWriter(self.store.apply, None)
        chain = self._chain()
        if chain is not None:
            assert isinstance(self.store, MeaStore)
            return _ChainedWriter(self.store, chain.begin(), self.feed)
        staged = self.store.stage()
        if staged is None:
            return None
        log.info("large change: writing to staged generation %s", staged.name)
        return _BackgroundWriter(staged.apply, staged)

    def commit(self, *, wait: bool = True) -> Commit | None:
        """Make every change visible at once (nothing is written when nothing changed).

        In a command's chain of commits (:meth:`MeaStore.pipelined`), ``wait=False`` returns
        the :class:`~harvester.store.commits.Commit` at once, its batches still being written,
        sealed and published in the background; else the commit has landed on return.

        :raises StoreError: when the write fails (with ``wait=False``: see ``Commit.wait``).
        """
        if self._chain() is not None and (self.staged is not None or self.pending):
            return self._commit_chained(wait)
        if self.feed is not None:
            self.feed.batch(self.pending, final=True)
        if self.staged is None:
            self.store.apply(self.pending)
        else:
            writer, self.staged = self.staged, None
            assert isinstance(writer, _BackgroundWriter)
            try:
                writer.put(self.pending)
                writer.finish()
            except BaseException:
                self._discard(writer)
                raise
            if writer.staged is not None:
                store = self.store
                optimize = not isinstance(store, MeaStore) or store.needs_compaction(writer.staged)
                store.publish(writer.staged, optimize=optimize)
        self.pending = ChangeSet()
        return None

    def _commit_chained(self, wait: bool) -> Commit:
        writer = self.staged or self._background()
        assert isinstance(writer, _ChainedWriter)
        self.staged = None
        writer.close(self.pending)
        self.pending = ChangeSet()
        if wait:
            writer.commit.wait()
        return writer.commit

    def _chain(self) -> CommitChain | None:
        return getattr(self.store, "chain", None)

    def abort(self) -> None:
        """Forget every change; the store stays as it was (on a remote store: as the batches
        already written left it)."""
        if isinstance(self.staged, _ChainedWriter):
            self.staged.close(None)  # its place in the chain passes on
        elif self.staged is not None:
            writer = self.staged
            try:
                writer.finish()
            except BaseException as exc:  # the run is being given up anyway
                log.debug("background write failed while aborting: %s", exc)
            self._discard(writer)
        self.staged = None
        self.pending = ChangeSet()

    def _discard(self, writer: _BackgroundWriter) -> None:
        if writer.staged is not None:
            self.store.discard(writer.staged)
