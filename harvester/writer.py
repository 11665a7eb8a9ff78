"""How a run's changes reach the store: one transaction when small, a staged generation when
large, so memory stays bounded and readers still see a source before or after a run, never
half-way (see :mod:`harvester.store`).

A remote store has no staged generations (``write_batch_quads`` is set): there a large run is
written in place, one SPARQL Update per batch, each atomic; readers may see the run half-way,
and :meth:`ChangeWriter.abort` cannot take back the batches already written (see
:mod:`harvester.remote_store`)."""

from __future__ import annotations

import logging
from collections.abc import Iterable

import pyoxigraph as ox

from .store import ChangeSet, StagedStore
from .store_api import StoreBackend

__all__ = ["DEFAULT_BATCH_QUADS", "ChangeWriter"]

log = logging.getLogger(__name__)

#: Quads a run may hold before it switches to a staged generation (and per staged batch).
#: pyoxigraph buffers a transaction in memory at ~1.8 KB a quad: 50,000 quads, ~90 MB.
DEFAULT_BATCH_QUADS = 50_000


class ChangeWriter:
    """Collects a run's graph replacements and drops, and commits them all or nothing.

    :param batch_quads: above this many pending quads, changes go to a staged copy of the store
        in transactions of about this size; :meth:`commit` then publishes the copy atomically.
    """

    def __init__(self, store: StoreBackend, *, batch_quads: int = DEFAULT_BATCH_QUADS) -> None:
        self.store = store
        self.batch_quads = min(batch_quads, store.write_batch_quads or batch_quads)
        self.pending = ChangeSet()
        self.staged: StagedStore | None = None
        self.changed = False

    def put_graph(self, graph: str, quads: Iterable[ox.Quad]) -> None:
        self.pending.put_graph(graph, quads)
        self.changed = True
        self._maybe_flush()

    def put_text(self, graph: str, triples: str, count: int) -> None:
        """Like :meth:`put_graph`, for triples already serialised (see ``ChangeSet.put_text``)."""
        self.pending.put_text(graph, triples, count)
        self.changed = True
        self._maybe_flush()

    def drop_graph(self, graph: str) -> None:
        self.pending.drop_graph(graph)
        self.changed = True
        self._maybe_flush()

    def _maybe_flush(self) -> None:
        if self.pending.quad_count + len(self.pending.drop) < self.batch_quads:
            return
        if self.store.write_batch_quads is not None:  # a remote store: write in place
            self.store.apply(self.pending)
            self.pending = ChangeSet()
            return
        if self.staged is None:
            self.staged = self.store.stage()
            if self.staged is None:  # an in-memory store: one transaction at the end
                self.batch_quads = 2**62
                return
            log.info("large change: writing to staged generation %s", self.staged.name)
        self.staged.apply(self.pending)
        self.pending = ChangeSet()

    def commit(self) -> None:
        """Make every change visible at once (nothing is written when nothing changed)."""
        if self.staged is None:
            self.store.apply(self.pending)
        else:
            self.staged.apply(self.pending)
            self.store.publish(self.staged, optimize=True)
            self.staged = None
        self.pending = ChangeSet()

    def abort(self) -> None:
        """Forget every change; the store stays as it was (on a remote store: as the batches
        already written left it)."""
        if self.staged is not None:
            self.store.discard(self.staged)
            self.staged = None
        self.pending = ChangeSet()
