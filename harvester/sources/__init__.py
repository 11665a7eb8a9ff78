"""Source adapters by kind; :func:`open_source` wires one with its polite HTTP fetcher."""

from __future__ import annotations

import httpx

from ..exceptions import ConfigError
from ..http import Fetcher, RateLimiter, RetryPolicy, client_for_source
from ..settings import SourceConfig
from .informea_odata import Listing, ODataSource, RawRecord

__all__ = ["Listing", "ODataSource", "RawRecord", "open_source"]


def open_source(
    config: SourceConfig, *, user_agent: str, transport: httpx.BaseTransport | None = None
) -> ODataSource:
    """The adapter for ``config.kind`` with its own client, retry policy and rate limit.

    :param transport: for tests and the demo (``httpx.MockTransport``); None means the network.
    :raises ConfigError: for a kind without an adapter.
    """
    if config.kind != "informea-odata":
        raise ConfigError(f"source {config.name}: no adapter for kind {config.kind!r}")
    client = client_for_source(config, user_agent, transport=transport)
    fetcher = Fetcher(
        client,
        source=config.name,
        policy=RetryPolicy.from_source(config),
        limiter=RateLimiter(config.rate, burst=max(1, config.concurrency)),
    )
    return ODataSource(config, fetcher)
