"""``meahub demo`` (what ``make run`` does): start the bundled InforMEA-style demo providers on a
local port, harvest them into a store under ``--data-dir``, stop them, then serve SPARQL."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from rich.console import Console
from rich.markup import escape

from ..demo import demo_providers, demo_sources
from ..demo.app import free_port, serve_providers
from ..models import RunStatus
from ..settings import Settings, settings_from_mapping
from .runtime import Runtime

__all__ = ["demo_server", "free_port", "run_demo"]

log = logging.getLogger(__name__)

EXAMPLE_QUERY = (
    "PREFIX mea: <https://w3id.org/mea/ontology#> "
    "SELECT (COUNT(*) AS ?n) WHERE { ?d a mea:Decision }"
)


@contextmanager
def demo_server(host: str = "127.0.0.1") -> Iterator[str]:
    """The demo providers on a free local port for the duration of the block; yields the base."""
    with serve_providers(demo_providers, host) as base:
        yield base


def demo_settings(data_dir: Path, base: str, host: str, port: int) -> Settings:
    return settings_from_mapping(
        {
            "store": {"path": str(data_dir / "store"), "state_dir": str(data_dir / "state")},
            "server": {"host": host, "port": port, "base_iri": f"http://{host}:{port}/"},
            "sources": demo_sources(base),
        }
    )


def run_demo(data_dir: Path, *, host: str, port: int, serve_after: bool = True) -> int:
    """Harvest the demo providers, print the summary, then serve (unless ``serve_after`` is off)."""
    from .harvesting import harvest_all
    from .serve import serve

    console = Console(stderr=True)
    settings = demo_settings(data_dir, "http://127.0.0.1:0", host, port)
    with Runtime.open(settings) as runtime, demo_server() as base:
        settings = demo_settings(data_dir, base, host, port)
        runtime.settings = settings
        console.print(
            f"demo providers running at {base}; harvesting into {data_dir}/ ...", markup=False
        )
        reports = harvest_all(runtime, [], full=False, allow_mass_delete=False)
        if any(r.status is RunStatus.FAILED for r in reports):
            return 1
        if not serve_after:
            return 0
        endpoint = f"http://{host}:{port}/sparql"
        console.print(
            f"\nSPARQL endpoint: [bold]{escape(endpoint)}[/]  "
            f"(query page: {escape(f'http://{host}:{port}/')})"
        )
        console.print(
            f"try:  curl -s {endpoint} --data-urlencode 'query={EXAMPLE_QUERY}'\n", markup=False
        )
    with Runtime.open(settings) as runtime:
        serve(runtime, host=host, port=port, scheduler=False)
    return 0
