"""Slow and flaky providers over real HTTP, for the scheduler tests and ``make soak``.

:class:`Paced` wraps a provider: every request waits ``delay`` seconds first (a slow source),
and the number of requests being answered at once is tracked. :func:`serve_providers` runs
providers on a free local port in a thread for the duration of a block.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager

import httpx
import uvicorn

from ..exceptions import SourceError
from .app import Provider, create_demo_app

__all__ = ["Paced", "serve_providers"]


class Paced:
    """A provider that answers after ``delay`` seconds (settable while serving)."""

    def __init__(self, inner: Provider, delay: float) -> None:
        self.inner = inner
        self.delay = delay
        self.base_url = inner.base_url
        self.base_path = inner.base_path
        self.requests = 0
        self.busy = 0
        self.max_busy = 0
        self._lock = threading.Lock()

    def handle(self, request: httpx.Request) -> httpx.Response:
        with self._lock:
            self.requests += 1
            self.busy += 1
            self.max_busy = max(self.max_busy, self.busy)
        try:
            time.sleep(self.delay)
            return self.inner.handle(request)
        finally:
            with self._lock:
                self.busy -= 1


def _free_port(host: str) -> int:
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
    port = _free_port(host)
    base = f"http://{host}:{port}"
    app = create_demo_app(build(base))
    server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, name="paced-providers", daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise SourceError(f"the providers did not start on {base}")
        time.sleep(0.05)
    try:
        yield base
    finally:
        server.should_exit = True
        thread.join(timeout=10)
