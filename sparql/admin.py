"""The admin API: ask the running server to harvest a source now, and follow the run.

- ``POST /admin/harvest/{source}`` (optional ``?full=true``, ``?allow_mass_delete=true``):
  202 with ``{"run_id": ...}``; 404 for an unknown source; 409 when a run of that source is
  already queued or running. Under ``meahub serve --no-scheduler`` too: the run then goes to a
  background thread of the server (:mod:`harvester.service.ondemand`); 503 only for an app
  built with no controller at all.
- ``GET /admin/runs/{run_id}``: the run's status (``queued``, ``running``, then ``ok``,
  ``failed``, ``cancelled``, ``interrupted``) and, once done, its report.

Both need ``Authorization: Bearer <token>`` matching ``[server] admin_token`` (or
``$MEAHUB_ADMIN_TOKEN``), compared in constant time: 401 without it or with a wrong one, 403 when
no token is configured at all (the API is then off).
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Callable
from typing import Any, Protocol

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from harvester.exceptions import ConfigError, HarvestBusyError

__all__ = ["HarvestController", "admin_routes"]

log = logging.getLogger(__name__)

Endpoint = Callable[[Request], Response]


class HarvestController(Protocol):
    """What the admin API needs of the scheduler
    (:class:`harvester.service.scheduler.HarvestService`)."""

    def trigger(self, source: str, *, full: bool = False, allow_mass_delete: bool = False) -> str:
        """Queue a run now; raises ConfigError (unknown source) or HarvestBusyError."""
        ...

    def run_status(self, run_id: str) -> dict[str, Any] | None: ...


def admin_routes(controller: HarvestController | None, token: str | None) -> list[Route]:
    """The two admin routes over ``controller`` (the scheduler, or the on-demand runs of a
    server without one; None: this app cannot harvest)."""
    return [
        Route(
            "/admin/harvest/{source}",
            _guarded(token, _harvest(controller)),
            methods=["POST"],
            name="admin-harvest",
        ),
        Route(
            "/admin/runs/{run_id}",
            _guarded(token, _run(controller)),
            methods=["GET"],
            name="admin-run",
        ),
    ]


def _guarded(token: str | None, endpoint: Endpoint) -> Endpoint:
    def guarded(request: Request) -> Response:
        refusal = _refusal(request, token)
        return refusal if refusal is not None else endpoint(request)

    return guarded


def _refusal(request: Request, token: str | None) -> Response | None:
    """401/403 unless the request carries the configured token."""
    if not token:
        return _error(403, "the admin API is off: set [server] admin_token or $MEAHUB_ADMIN_TOKEN")
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and hmac.compare_digest(
        given.strip().encode("utf-8"), token.encode("utf-8")
    ):
        return None
    log.warning("admin request refused from %s", request.client.host if request.client else "?")
    response = _error(401, "missing or wrong admin token (Authorization: Bearer <token>)")
    response.headers["WWW-Authenticate"] = 'Bearer realm="meahub-admin"'
    return response


def _harvest(controller: HarvestController | None) -> Endpoint:
    def harvest(request: Request) -> Response:
        if controller is None:
            return _error(503, "this application was built without a harvest controller")
        source = request.path_params["source"]
        try:
            run_id = controller.trigger(
                source,
                full=_flag(request, "full"),
                allow_mass_delete=_flag(request, "allow_mass_delete"),
            )
        except ConfigError as exc:
            return _error(404, str(exc))
        except HarvestBusyError as exc:
            return JSONResponse({"error": str(exc), "run_id": exc.run_id}, status_code=409)
        log.info("admin API: run %s of %s queued", run_id, source)
        body = {"run_id": run_id, "source": source, "status": "queued"}
        return JSONResponse(body, status_code=202, headers={"Location": f"/admin/runs/{run_id}"})

    return harvest


def _run(controller: HarvestController | None) -> Endpoint:
    def run(request: Request) -> Response:
        found = controller.run_status(request.path_params["run_id"]) if controller else None
        if found is None:
            return _error(404, "no such run")
        return JSONResponse(_jsonable(found))

    return run


def _flag(request: Request, name: str) -> bool:
    return request.query_params.get(name, "").lower() in ("1", "true", "yes")


def _jsonable(value: dict[str, Any]) -> dict[str, Any]:
    return {k: v.isoformat() if hasattr(v, "isoformat") else v for k, v in value.items()}


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)
