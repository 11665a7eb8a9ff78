"""Slow and flaky providers over real HTTP, for the scheduler tests and ``make soak``.

:class:`Paced` wraps a provider: every request waits ``delay`` seconds first (a slow source),
and the number of requests being answered at once is tracked. :func:`serve_providers` runs
providers on a free local port in a thread for the duration of a block.
"""

from __future__ import annotations

import threading
import time

import httpx

from .app import Provider, serve_providers

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
