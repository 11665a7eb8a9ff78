"""What the application needs besides its routes: the query worker pool (started and stopped
with the app's lifespan, or lazily by the first query when no lifespan runs, as under
``httpx.ASGITransport``), the metrics, their middleware and ``/metrics``."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import Route

from harvester.settings import ServerSettings
from harvester.store.api import StoreBackend

from .metrics import Metrics, MetricsMiddleware, metrics_endpoint
from .workers import WorkerPool

__all__ = ["Operations"]

log = logging.getLogger(__name__)

StatusCallable = Callable[[], dict[str, Any]]


class Operations:
    """The worker pool (on-disk stores only) and the metrics of one application."""

    def __init__(
        self, store: StoreBackend, settings: ServerSettings, status: StatusCallable | None
    ) -> None:
        self.metrics = Metrics()
        self.status = status
        self._pool = None
        if store.path is not None:
            self._pool = WorkerPool(
                store.path,
                size=settings.query_workers,
                timeout=settings.query_timeout,
                inline_ms=settings.inline_query_ms,
            )

    def pool(self) -> WorkerPool | None:
        """The worker pool, or None for an in-memory store (queries then run in-process)."""
        return self._pool

    def routes(self) -> list[Route]:
        endpoint = metrics_endpoint(self.metrics, self.pool, self.status)
        return [Route("/metrics", endpoint, methods=["GET"], name="metrics")]

    def middleware(self) -> list[Middleware]:
        return [Middleware(MetricsMiddleware, metrics=self.metrics)]

    @contextlib.asynccontextmanager
    async def lifespan(self, app: Starlette) -> AsyncIterator[None]:
        """Start the workers with the application and stop them with it."""
        if self._pool is not None:
            self._pool.start()
        try:
            yield
        finally:
            if self._pool is not None:
                self._pool.close()
