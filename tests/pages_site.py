"""The hand-written hub of the analyst-page tests: the reference data of an in-memory hub plus
``tests/data/pages-fixture.trig``, one graph per record (as the harvester writes them), behind
the ASGI app; a synchronous ``httpx`` client over the in-process app (``httpx.ASGITransport``)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import httpx
import pyoxigraph as ox

from harvester.service.runtime import Runtime
from harvester.settings import ServerSettings, settings_from_mapping
from sparql import create_app

from .conftest import HUB

FIXTURE = Path(__file__).parent / "data" / "pages-fixture.trig"
DECISION_X = f"{HUB}decision/fx/cms-12-7"
DECISION_Y = f"{HUB}decision/fx/cms-12-21"
DECISION_Z = f"{HUB}decision/fx/cms-9-2"
DECISION_W = f"{HUB}decision/fx/cbd-xiii-2"
HTML = {"Accept": "text/html"}


def load_fixture(runtime: Runtime, path: Path = FIXTURE) -> int:
    """Write every graph of the fixture into the store, each replaced whole; returns the quads."""
    graphs: dict[str, list[ox.Quad]] = defaultdict(list)
    for quad in ox.parse(path=str(path), format=ox.RdfFormat.TRIG):
        assert isinstance(quad.graph_name, ox.NamedNode), "every fixture record has its own graph"
        graphs[quad.graph_name.value].append(quad)
    for graph, quads in graphs.items():
        runtime.store.replace_graph(graph, quads)
    return sum(len(q) for q in graphs.values())


@dataclass
class PagesSite:
    runtime: Runtime
    app: Any
    server: ServerSettings

    def get(self, path: str, headers: dict[str, str] | None = None) -> httpx.Response:
        """GET ``path`` from the in-process app."""

        async def call() -> httpx.Response:
            transport = httpx.ASGITransport(app=self.app)
            async with httpx.AsyncClient(transport=transport, base_url="http://hub.test") as client:
                return await client.get(path, headers=headers or {})

        return anyio.run(call)

    def close(self) -> None:
        self.runtime.close()


def open_pages_site(tmp: Path) -> PagesSite:
    settings = settings_from_mapping({"server": {"base_iri": HUB}})
    runtime = Runtime.open(settings, in_memory=True)
    load_fixture(runtime)
    server = ServerSettings(base_iri=HUB, dumps_dir=tmp)
    return PagesSite(runtime, create_app(runtime.store, server), server)


def path_of(iri: str) -> str:
    assert iri.startswith(HUB)
    return "/" + iri[len(HUB) :]
