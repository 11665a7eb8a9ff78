"""Source adapters by kind; :func:`open_source` wires one with its polite HTTP fetcher."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from typing import Protocol

import httpx

from ..exceptions import ConfigError
from ..http import Fetcher, RateLimiter, RetryPolicy, client_for_source
from ..settings import SourceConfig
from .cbd_decisions import CbdDecisionsSource
from .informea_odata import Listing, ODataSource, RawRecord, RowCheck
from .ldes import LdesSource

__all__ = [
    "ADAPTERS",
    "CbdDecisionsSource",
    "LdesSource",
    "Listing",
    "ODataSource",
    "RawRecord",
    "RowCheck",
    "Source",
    "open_source",
]


class Source(Protocol):
    """What the pipeline needs of a source adapter."""

    config: SourceConfig
    fetcher: Fetcher

    def records(
        self,
        entity: str,
        listing: Listing,
        *,
        navigations: Sequence[str] = (),
        since: datetime | None = None,
        unchanged: RowCheck | None = None,
    ) -> Iterator[RawRecord]: ...

    def exists(self, entity: str, record_id: str) -> bool | None: ...


ADAPTERS: dict[str, Callable[[SourceConfig, Fetcher], Source]] = {
    "informea-odata": ODataSource,
    "cbd-decisions": CbdDecisionsSource,
    # issue 15: another hub's change feed, followed by harvester.feed.follow (not listed)
    "ldes": LdesSource,
}


def open_source(
    config: SourceConfig, *, user_agent: str, transport: httpx.BaseTransport | None = None
) -> Source:
    """The adapter for ``config.kind`` with its own client, retry policy and rate limit.

    :param transport: for tests and the demo (``httpx.MockTransport``); None means the network.
    :raises ConfigError: for a kind without an adapter.
    """
    if config.kind not in ADAPTERS:
        raise ConfigError(f"source {config.name}: no adapter for kind {config.kind!r}")
    client = client_for_source(config, user_agent, transport=transport)
    fetcher = Fetcher(
        client,
        source=config.name,
        policy=RetryPolicy.from_source(config),
        limiter=RateLimiter(config.rate, burst=max(1, config.concurrency)),
    )
    return ADAPTERS[config.kind](config, fetcher)
