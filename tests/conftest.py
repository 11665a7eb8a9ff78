"""Shared fixtures: a small deterministic dataset, providers over it, and a harvest helper that
wires the real pipeline to an ``httpx.MockTransport`` (no sockets, no real sleeping)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
import uvicorn

from harvester.demo import Dataset, ODataProvider, generate_dataset
from harvester.http import Fetcher, RateLimiter, RetryPolicy, build_client
from harvester.models import SourceReport
from harvester.pipeline import Harvester
from harvester.service.runtime import Runtime
from harvester.settings import SourceConfig, settings_from_mapping
from harvester.sources import ADAPTERS

BASE = "http://prov.test/informea.svc"
HUB = "http://hub.test/"


@pytest.fixture(autouse=True)
def _clean_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("MEAHUB_CONFIG", "MEAHUB_ADMIN_TOKEN"):
        monkeypatch.delenv(name, raising=False)


def small_dataset(seed: int = 7) -> Dataset:
    return generate_dataset(
        treaties=("cbd", "cms", "ramsar", "stockholm"),
        seed=seed,
        decisions=30,
        meetings=8,
        contacts=12,
        reports=10,
        plans=6,
        sites=4,
    )


@dataclass
class Hub:
    """An in-memory MEA Hub plus the sleeps its fetchers would have made."""

    runtime: Runtime
    sleeps: list[float] = field(default_factory=list)

    def source(self, **overrides: Any) -> SourceConfig:
        table = {"name": "prov", "kind": "informea-odata", "url": BASE, "rate": 0, **overrides}
        return settings_from_mapping({"sources": [table]}).sources[0]

    def harvest(
        self,
        handler: Callable[[httpx.Request], httpx.Response],
        config: SourceConfig | None = None,
        harvester: Harvester | None = None,
        **options: Any,
    ) -> SourceReport:
        config = config or self.source()
        client = build_client(
            user_agent="test", timeout=5, connect_timeout=5, transport=httpx.MockTransport(handler)
        )
        fetcher = Fetcher(
            client,
            source=config.name,
            policy=RetryPolicy.from_source(config),
            limiter=RateLimiter(0),
            sleep=self.sleeps.append,
        )
        harvester = harvester or self.runtime.harvester(config.kind)
        return harvester.harvest(config, ADAPTERS[config.kind](config, fetcher), **options)

    def count(self, cls: str) -> int:
        query = f"SELECT (COUNT(DISTINCT ?s) AS ?n) WHERE {{ ?s a <https://w3id.org/mea/ontology#{cls}> }}"
        rows = list(self.runtime.store.query(query))  # type: ignore[arg-type]
        return int(rows[0][0].value)


@pytest.fixture
def hub() -> Iterator[Hub]:
    settings = settings_from_mapping({"server": {"base_iri": HUB}})
    runtime = Runtime.open(settings, in_memory=True)
    yield Hub(runtime)
    runtime.close()


@pytest.fixture
def dataset() -> Dataset:
    return small_dataset()


@contextmanager
def serve_app(app: Any) -> Iterator[str]:
    """An ASGI app on a free loopback port (uvicorn in a thread, no lifespan); yields its base
    URL, ``http://127.0.0.1:<port>/``."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    config = uvicorn.Config(app, lifespan="off", ws="none", log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}/"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


def provider(data: Dataset, **options: Any) -> ODataProvider:
    return ODataProvider(data, base_url=BASE, **options)
