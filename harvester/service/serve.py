"""``meahub serve``: the SPARQL endpoint and, unless disabled, scheduled harvests, in one process.

With ``--no-scheduler`` nothing is scheduled, but the admin API still harvests: the runs it asks
for go to a background thread of this process (:mod:`harvester.service.ondemand`).

The embedded store allows one writing process, so scheduled harvests run in this process (on the
scheduler's executor thread, one run at a time; see :mod:`harvester.service.scheduler`) rather than
in a second one. The scheduler starts and stops with the application's lifespan: on SIGTERM (or
Ctrl-C) uvicorn stops accepting requests, then the lifespan shutdown interrupts a running harvest
at its next record or page boundary (nothing of it is committed; it is recorded ``interrupted``)
and waits for it, then the store is closed and the process exits with status 0.
"""

from __future__ import annotations

import contextlib
import logging
import signal
import sys
from collections.abc import AsyncIterator
from types import FrameType

import anyio
import uvicorn
from starlette.applications import Starlette

from sparql import create_app
from sparql.admin import admin_routes

from .ondemand import OnDemandService, on_demand_status
from .runtime import Runtime
from .scheduler import HarvestService
from .status import status_snapshot

__all__ = ["build_app", "serve", "status_snapshot"]

log = logging.getLogger(__name__)


def build_app(runtime: Runtime, service: HarvestService | None) -> Starlette:
    """The application over the runtime's store, with the admin API and, when ``service`` is
    given (the scheduler, or an :class:`OnDemandService`), the service started and stopped by
    the lifespan; None: the admin API cannot harvest (503)."""
    server = runtime.settings.server
    app = create_app(
        runtime.store,
        server,
        status=lambda: _status(runtime, service),
        extra_routes=admin_routes(service, server.admin_token),
    )
    if service is not None:
        _run_with_lifespan(app, service)
    return app


def _status(runtime: Runtime, service: HarvestService | None) -> dict[str, object]:
    if isinstance(service, OnDemandService):
        return on_demand_status(runtime, service)
    return status_snapshot(runtime, service)


def _run_with_lifespan(app: Starlette, service: HarvestService) -> None:
    """Wrap the app's own lifespan (query workers): the service starts after it is up and
    stops (interrupting a run) before it goes down."""
    inner = app.router.lifespan_context

    @contextlib.asynccontextmanager
    async def lifespan(application: Starlette) -> AsyncIterator[None]:
        async with inner(application):
            await anyio.to_thread.run_sync(service.start)
            try:
                yield
            finally:
                log.info("stopping the harvests (a running one is interrupted)")
                await anyio.to_thread.run_sync(service.stop)

    app.router.lifespan_context = lifespan


def serve(runtime: Runtime, *, host: str, port: int, scheduler: bool = True) -> None:
    """Serve until SIGTERM or SIGINT."""
    service = HarvestService(runtime) if scheduler else OnDemandService(runtime)
    app = build_app(runtime, service)
    _access_logging()
    previous = signal.signal(signal.SIGTERM, _terminated)
    try:
        uvicorn.run(app, host=host, port=port, log_level="info", access_log=False)
    finally:
        signal.signal(signal.SIGTERM, previous)
        if service is not None:
            service.stop()  # no-op after the lifespan stopped it


def _terminated(signum: int, frame: FrameType | None) -> None:
    """uvicorn handles SIGTERM itself (graceful shutdown) and, once done, raises it again with
    the handler it found: this one, so the process then returns normally (status 0) and
    closes the store, instead of dying by the default action."""
    log.info("SIGTERM: shut down cleanly")


def _access_logging() -> None:
    """One JSON line per request on stderr (``meahub.access``), instead of uvicorn's own
    access log: plain, so a log shipper can read it, and cheap on the hot path."""
    access = logging.getLogger("meahub.access")
    if not access.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(message)s"))
        access.addHandler(handler)
    access.setLevel(logging.INFO)
    access.propagate = False
