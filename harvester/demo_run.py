"""``meahub demo`` (what ``make run`` does): start the bundled InforMEA-style demo providers on a
local port, harvest them into a store under ``--data-dir``, stop them, then serve SPARQL."""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import uvicorn
from rich.console import Console

from .demo import create_demo_app, demo_providers, demo_sources
from .exceptions import SourceError
from .models import RunStatus
from .runtime import Runtime
from .settings import Settings, settings_from_mapping

__all__ = ["run_demo"]

log = logging.getLogger(__name__)

EXAMPLE_QUERY = (
    "PREFIX mea: <https://w3id.org/mea/ontology#> "
    "SELECT (COUNT(*) AS ?n) WHERE { ?d a mea:Decision }"
)


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


@contextmanager
def demo_server(host: str = "127.0.0.1") -> Iterator[str]:
    """The demo providers on a free local port for the duration of the block; yields the base."""
    port = free_port(host)
    base = f"http://{host}:{port}"
    config = uvicorn.Config(
        create_demo_app(demo_providers(base)), host=host, port=port, log_level="warning"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="demo-providers", daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise SourceError(f"the demo providers did not start on {base}")
        time.sleep(0.05)
    try:
        yield base
    finally:
        server.should_exit = True
        thread.join(timeout=10)


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
    from .cli import harvest_all
    from .serve import serve

    console = Console(stderr=True)
    settings = demo_settings(data_dir, "http://127.0.0.1:0", host, port)
    with Runtime.open(settings) as runtime, demo_server() as base:
        settings = demo_settings(data_dir, base, host, port)
        runtime.settings = settings
        console.print(f"demo providers running at {base}; harvesting into {data_dir}/ ...")
        reports = harvest_all(runtime, [], full=False, allow_mass_delete=False)
        if any(r.status is RunStatus.FAILED for r in reports):
            return 1
        if not serve_after:
            return 0
        endpoint = f"http://{host}:{port}/sparql"
        console.print(
            f"\nSPARQL endpoint: [bold]{endpoint}[/]  (query page: http://{host}:{port}/)"
        )
        console.print(f"try:  curl -s {endpoint} --data-urlencode 'query={EXAMPLE_QUERY}'\n")
    with Runtime.open(settings) as runtime:
        serve(runtime, host=host, port=port, scheduler=False)
    return 0
