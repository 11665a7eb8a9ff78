"""The floor of a Python SPARQL front: what the endpoint bench compares ``meahub serve`` with,
besides ``oxigraph serve``.

A bare ASGI application under the same HTTP server as ``meahub serve`` (uvicorn with httptools
and uvloop, no access log) that evaluates ``GET /sparql?query=...`` in its own process with
pyoxigraph over the store's live generation and answers SPARQL JSON: no negotiation, no limits,
no timeout, no guard, no row cap, no caching headers, no metrics. No Python server that answers
through pyoxigraph can be faster than this one, so ``floor / oxigraph serve`` is the part of our
latency ratio that the language and HTTP stack cost, and ``meahub / floor`` the part our
features cost. Never a product: it has none of the safety issue 3 asks for.

    python -m bench.floor_server STORE_PATH PORT
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import pyoxigraph as ox

__all__ = ["FloorApp", "main"]

_JSON = [(b"content-type", b"application/sparql-results+json")]


class FloorApp:
    """``GET /sparql?query=...`` answered in-process as SPARQL JSON, over ``store``."""

    def __init__(self, store: ox.Store) -> None:
        self.store = store

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        params = dict(parse_qsl(scope["query_string"].decode("latin-1")))
        try:
            result = self.store.query(params["query"], use_default_graph_as_union=True)
            status, body = 200, _json(result)
        except (KeyError, SyntaxError, OSError) as exc:
            status, body = 400, str(exc).encode()
        headers = [*_JSON, (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})


def _json(result: Any) -> bytes:
    if isinstance(result, ox.QueryBoolean):
        return b'{"head":{},"boolean":%s}' % (b"true" if bool(result) else b"false")
    return result.serialize(format=ox.QueryResultsFormat.JSON) or b""


def main(argv: list[str]) -> None:
    import uvicorn

    from harvester.store.embedded import live_generation_dir

    store = ox.Store.read_only(str(live_generation_dir(Path(argv[0]))))
    uvicorn.run(
        FloorApp(store),
        host="127.0.0.1",
        port=int(argv[1]),
        http="httptools",
        loop="uvloop",
        access_log=False,
        log_level="warning",
        lifespan="off",
    )


if __name__ == "__main__":
    main(sys.argv[1:])
