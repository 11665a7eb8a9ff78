"""Serve :class:`~harvester.demo.provider.ODataProvider` instances over real HTTP (ASGI).

The same ``handle`` function that tests call through ``httpx.MockTransport`` answers here: each
incoming request becomes an :class:`httpx.Request`, and the handler's :class:`httpx.Response`
goes back out unchanged, so the demo source and the tests cannot drift apart.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, Protocol

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ..exceptions import SourceError
from .cbd_api import CbdDecisionsProvider
from .dataset import ENTITY_SETS, Dataset, demo_dataset
from .provider import Flavour, ODataProvider

__all__ = ["create_demo_app", "demo_providers", "demo_sources", "free_port", "serve_providers"]


class Provider(Protocol):
    """A mock source: a service root and an ``httpx`` handler."""

    base_url: str
    base_path: str

    def handle(self, request: httpx.Request) -> httpx.Response: ...


_HOP_HEADERS = frozenset({"content-encoding", "transfer-encoding", "connection"})

#: (name, flavour, treaties, entity sets) of the three demo sources.
_DEMO: tuple[tuple[str, Flavour, tuple[str, ...], tuple[str, ...]], ...] = (
    (
        "brs",
        "brs",
        ("stockholm", "basel", "rotterdam"),
        ("Meetings", "Decisions", "Contacts", "NationalPlans"),
    ),
    (
        "cms",
        "olingo",
        ("cms", "aewa", "ramsar", "whc", "cites", "itpgrfa"),
        ENTITY_SETS,
    ),  # fmt: skip
    (
        "cbd",
        "jaydata",
        ("cbd", "nagoya", "cartagena"),
        ("Meetings", "Decisions", "Contacts", "CountryReports", "NationalPlans"),
    ),
)
_LEAKED_HOST = "http://localhost:8081"


def create_demo_app(providers: Mapping[str, Provider]) -> Starlette:
    """An ASGI app serving every provider under the path of its ``base_url``.

    ``GET /`` lists the providers; any other path goes to the provider whose base path is its
    longest prefix (404 when none).
    """
    ordered = sorted(providers.items(), key=lambda item: -len(item[1].base_path))

    async def index(request: Request) -> Response:
        return JSONResponse({name: p.base_url for name, p in providers.items()})

    async def proxy(request: Request) -> Response:
        for _, provider in ordered:
            if _under(request.url.path, provider.base_path):
                return _to_starlette(provider.handle(await _to_httpx(request)))
        return JSONResponse({"error": f"no provider at {request.url.path}"}, status_code=404)

    routes = [
        Route("/", index, methods=["GET"]),
        Route("/{path:path}", proxy, methods=["GET", "HEAD"]),
    ]
    return Starlette(routes=routes)


def _under(path: str, base_path: str) -> bool:
    return path == base_path or path.startswith(base_path.rstrip("/") + "/")


async def _to_httpx(request: Request) -> httpx.Request:
    """The incoming ASGI request as an :class:`httpx.Request` (same URL, headers, body)."""
    headers = [(k, v) for k, v in request.headers.items() if k.lower() != "host"]
    return httpx.Request(
        request.method, str(request.url), headers=headers, content=await request.body()
    )


def _to_starlette(response: httpx.Response) -> Response:
    headers = {k: v for k, v in response.headers.items() if k.lower() not in _HOP_HEADERS}
    return Response(content=response.content, status_code=response.status_code, headers=headers)


def demo_providers(base: str, dataset: Dataset | None = None) -> dict[str, Provider]:
    """The demo sources over one :func:`~harvester.demo.dataset.demo_dataset`.

    * ``brs``: ``{base}/brs/informea.svc``, BRS WCF dialect, Stockholm/Basel/Rotterdam;
    * ``cms``: ``{base}/cms/informea.svc``, Olingo toolkit, CMS family + Ramsar, WHC, CITES
      and the Plant Treaty, server page size 25 and ``__next`` links on the leaked host
      ``http://localhost:8081`` (the CITES bug);
    * ``cbd``: ``{base}/cbd/informea.svc``, CBD JayData dialect, CBD with its protocols;
    * ``cbd-dtt``: ``{base}/cbd-dtt/api/v2021/decisions``, the CBD decision-tracking API:
      paragraph trees with Aichi and GBF target tags.

    :param base: scheme, host and port the app is reachable at, e.g. ``http://127.0.0.1:8765``.
    """
    data = dataset if dataset is not None else demo_dataset()
    root = base.rstrip("/")
    providers: dict[str, Provider] = {
        "cbd-dtt": CbdDecisionsProvider(data, base_url=f"{root}/cbd-dtt", page_limit=10)
    }
    for name, flavour, treaties, entities in _DEMO:
        options: dict[str, Any] = {}
        if name == "cms":
            options = {"server_page_size": 25, "max_top": 25, "next_host": _LEAKED_HOST}
        providers[name] = ODataProvider(
            data,
            base_url=f"{root}/{name}/informea.svc",
            flavour=flavour,
            treaties=treaties,
            entities=entities,
            **options,
        )
    return providers


def demo_sources(base: str) -> list[dict[str, Any]]:
    """``[[sources]]`` tables for ``meahub.toml`` pointing at :func:`demo_providers`."""
    odata = [
        {
            "name": f"demo-{name}",
            "kind": "informea-odata",
            "url": f"{base.rstrip('/')}/{name}/informea.svc",
            "entities": list(entities),
        }
        for name, _, _, entities in _DEMO
    ]
    dtt = {"name": "demo-cbd-dtt", "kind": "cbd-decisions", "url": f"{base.rstrip('/')}/cbd-dtt"}
    return [*odata, dtt]


def free_port(host: str = "127.0.0.1") -> int:
    """A free TCP port on ``host`` (for local test and demo servers)."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


@contextmanager
def serve_providers(
    build: Callable[[str], Mapping[str, Provider]], host: str = "127.0.0.1"
) -> Iterator[str]:
    """Serve ``build(base)`` on a free port in a thread; yields the base URL.

    :raises SourceError: when the server does not start.
    """
    port = free_port(host)
    base = f"http://{host}:{port}"
    app = create_demo_app(build(base))
    server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, name="mock-providers", daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise SourceError(f"the mock providers did not start on {base}")
        time.sleep(0.05)
    try:
        yield base
    finally:
        server.should_exit = True
        thread.join(timeout=10)
