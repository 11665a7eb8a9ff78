"""What the rest of MEA Hub uses of a store: :class:`StoreBackend`.

Two backends implement it: the embedded Oxigraph store (:class:`harvester.store.embedded.MeaStore`,
the default) and a remote SPARQL 1.1 store (:class:`harvester.store.remote.RemoteStore`). Callers
are typed against this protocol, never against one backend.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import IO, Protocol

import pyoxigraph as ox

from .commits import CommitChain
from .embedded import ChangeSet, QueryResult, StagedStore

__all__ = ["StoreBackend"]


class StoreBackend(Protocol):
    """A quad store that MEA Hub harvests into, links, queries and exports.

    ``path`` is the embedded store's directory (None for an in-memory or a remote store);
    ``store_id`` names the store's identity (a new store gets a new id); ``generation`` and
    ``version`` change whenever its content does (they make ETags).
    """

    @property
    def path(self) -> Path | None: ...

    @property
    def store_id(self) -> str: ...

    @property
    def generation(self) -> str: ...

    @property
    def version(self) -> int: ...

    @property
    def write_batch_quads(self) -> int | None:
        """Quads a large run applies per in-place batch (a remote store), or None: a large run
        writes to a staged copy published at once (:meth:`stage`)."""
        ...

    def query(
        self,
        sparql: str,
        *,
        default_graph: Sequence[str] | None = None,
        named_graphs: Sequence[str] | None = None,
        substitutions: dict[str, ox.NamedNode | ox.Literal] | None = None,
        timeout: float | None = None,
    ) -> QueryResult: ...

    def graph_quads(self, graph: str) -> list[ox.Quad]: ...

    def has_graph(self, graph: str) -> bool: ...

    def __len__(self) -> int: ...

    def apply(self, changes: ChangeSet) -> None: ...

    def replace_graph(self, graph: str, quads: Iterable[ox.Quad]) -> None: ...

    def close(self) -> None: ...

    def dump(self, output: IO[bytes], fmt: ox.RdfFormat, *, graph: str | None = None) -> None: ...

    def quads(self) -> Iterator[ox.Quad]: ...

    def stage(self) -> StagedStore | None: ...

    def publish(self, staged: StagedStore, *, optimize: bool = False) -> None: ...

    def discard(self, staged: StagedStore) -> None: ...

    def compaction_deferred(self) -> contextlib.AbstractContextManager[None]:
        """Writes within publish without compacting; compacted once at the end if needed."""
        ...

    def pipelined(self) -> contextlib.AbstractContextManager[CommitChain | None]:
        """Commits within land in the background, in order (:mod:`harvester.store.commits`);
        the chain, or None where every commit waits."""
        ...

    def writer_lease(self) -> contextlib.AbstractContextManager[None]:
        """Held around a harvest or linking run: exactly one writer at a time.

        :raises LeaseHeldError: when another writer holds it.
        """
        ...
