"""Wires the long-lived parts (store, state, raw archive, mappings, checker) from Settings."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from types import TracebackType

import httpx

from ..control import RunControl
from ..exceptions import ConfigError
from ..feed import attach_feed
from ..feed.follow import Follower
from ..linking import Linker
from ..mapping.engine import MappingRegistry
from ..mapping.enrich import Enricher
from ..mapping.ontology import load_reference
from ..mapping.transform import default_workers, shutdown_workers
from ..mapping.validate import ShapeChecker
from ..models import SourceReport
from ..paths import MAPPINGS_DIR
from ..pipeline import Harvester, ProgressCallback
from ..raw import RawArchive
from ..search import attach as attach_search_index
from ..settings import Settings, SourceConfig
from ..sources import LdesSource, open_source
from ..state import HarvestState
from ..store.api import StoreBackend
from ..store.embedded import MeaStore
from ..store.heap import keep_heap_compact
from ..store.remote import RemoteStore

__all__ = ["Runtime", "open_store"]

log = logging.getLogger(__name__)


@functools.cache
def _linker() -> Linker:
    """Built once per process (reading the cues takes a moment); thread-safe after that."""
    return Linker.from_ontology()


def open_store(settings: Settings, *, in_memory: bool = False) -> StoreBackend:
    """The configured store: a remote SPARQL store when ``[store] query_url`` is set, else the
    embedded one at ``[store] path`` (in memory when ``in_memory``).

    :raises StoreLockedError: when another process holds the embedded store.
    :raises StoreError: when the store cannot be opened or reached.
    """
    if in_memory or not settings.store.is_remote:
        return MeaStore(None if in_memory else settings.store.path)
    prefixes = (settings.server.base_iri, "https://w3id.org/mea/")
    return RemoteStore(settings.store, graph_prefixes=prefixes)


TransportFactory = Callable[[SourceConfig], httpx.BaseTransport | None]


@dataclass
class Runtime:
    """Everything a command needs, opened once; close it (or use ``with``) when done."""

    settings: Settings
    store: StoreBackend
    state: HarvestState
    raw: RawArchive

    @classmethod
    def open(cls, settings: Settings, *, in_memory: bool = False) -> Runtime:
        """Open the store (loading the ontology when it changed), the state and the archive.

        :raises StoreLockedError: when another process holds the store.
        """
        # a harvest's memory must not grow with the source (harvester.store.heap)
        keep_heap_compact()
        state_dir = None if in_memory else settings.store.state_dir
        store = open_store(settings, in_memory=in_memory)
        attach_search_index(store, enabled=settings.search.enabled)  # issue 17: before any write
        attach_feed(store, settings)  # issue 15: every write's members in the same commit
        if load_reference(store):
            log.info("loaded the ontology and target schemes into the store")
        state = HarvestState(state_dir)
        if state.bind(store.store_id):
            log.warning("the store was made anew: its harvest state was reset")
        return cls(settings, store, state, RawArchive(state_dir))

    def __enter__(self) -> Runtime:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        shutdown_workers()  # the transform workers serve every run of this runtime, then go
        self.raw.close()
        self.state.close()
        self.store.close()

    def harvester(self, kind: str, progress: ProgressCallback | None = None) -> Harvester:
        return Harvester(
            store=self.store,
            state=self.state,
            raw=self.raw,
            registry=MappingRegistry.load(MAPPINGS_DIR, kind),
            checker=ShapeChecker.from_file(),
            base_iri=self.settings.server.base_iri,
            max_delete_share=self.settings.harvest.max_delete_share,
            progress=progress,
            enricher=self.enricher(),
            history_runs=self.settings.scheduler.history_runs,
            transform_workers=self._transform_workers(),
            flag_after_withheld_runs=self.settings.harvest.flag_after_withheld_runs,
        )

    def _transform_workers(self) -> int:
        configured = self.settings.harvest.workers
        if configured is not None:
            return configured
        return default_workers() if getattr(self.store, "path", None) is not None else 0

    def enricher(self) -> Enricher:
        """Paragraph splitting, and the linker unless ``[linking] enabled = false``."""
        linking = self.settings.linking
        return Enricher(_linker() if linking.enabled else None, linking.threshold)

    def selected(self, names: Sequence[str]) -> list[SourceConfig]:
        """The configured sources named (all when ``names`` is empty).

        :raises ConfigError: for an unknown name, or when no source is configured.
        """
        if not self.settings.sources:
            raise ConfigError("no [[sources]] configured; see README.md for an example")
        return [self.settings.source(n) for n in names] if names else list(self.settings.sources)

    def harvest(
        self,
        config: SourceConfig,
        *,
        full: bool = False,
        allow_mass_delete: bool = False,
        progress: ProgressCallback | None = None,
        transport: httpx.BaseTransport | None = None,
        control: RunControl | None = None,
    ) -> SourceReport:
        """Harvest one source once (see :meth:`Harvester.harvest`), holding the store's writer
        lease (a remote store; see :mod:`harvester.store.lease`).

        :raises LeaseHeldError: when another process is writing to the remote store.
        """
        source = open_source(
            config, user_agent=self.settings.harvest.user_agent, transport=transport
        )
        try:
            if isinstance(source, LdesSource):  # issue 15: follow another hub's change feed
                follower = Follower(self.store, self.state, self.settings.server.base_iri)
                with self.store.writer_lease():
                    return follower.follow(config, source, control)
            harvester = self.harvester(config.kind, progress)
            with self.store.writer_lease():
                return harvester.harvest(
                    config, source, full=full, allow_mass_delete=allow_mass_delete, control=control
                )
        finally:
            source.fetcher.client.close()

    def remap(self, config: SourceConfig) -> SourceReport:
        with self.store.writer_lease():
            return self.harvester(config.kind).remap(config)
