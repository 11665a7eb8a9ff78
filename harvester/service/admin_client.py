"""Asking a running ``meahub serve`` from the command line, when it holds the store.

``meahub harvest`` cannot open the store while the server runs (one process owns it); with the
admin token (``[server] admin_token`` or ``$MEAHUB_ADMIN_TOKEN``) it asks the server's admin API
to run the sources, one after another, and waits for each run (polling) to print its report.
``meahub status`` reads the server's ``/status``.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

import httpx

from ..exceptions import AdminRequestError
from ..models import RecordFailure, RunStatus, SourceReport, WithheldDeletions
from ..settings import Settings

__all__ = ["remote_harvest", "remote_status", "server_url"]

log = logging.getLogger(__name__)

_GOING = ("queued", "running")


def server_url(settings: Settings) -> str:
    """Where this host reaches the configured server (a wildcard address means loopback)."""
    host = settings.server.host
    host = "127.0.0.1" if host in ("0.0.0.0", "", "::") else host
    return f"http://{host}:{settings.server.port}"


def remote_status(settings: Settings) -> dict[str, Any]:
    """``GET /status`` of the running server.

    :raises AdminRequestError: when no server answers there.
    """
    try:
        response = httpx.get(server_url(settings) + "/status", timeout=10)
        response.raise_for_status()
    except httpx.HTTPError as exc:
        raise AdminRequestError(_locked_message(settings, f"no server answers: {exc}")) from exc
    data: dict[str, Any] = response.json()
    return data


def remote_harvest(
    settings: Settings,
    names: Sequence[str],
    *,
    full: bool = False,
    allow_mass_delete: bool = False,
    poll: float = 0.5,
    sleep: Callable[[float], None] = time.sleep,
) -> list[SourceReport]:
    """Run the named sources (all configured when none) on the server, waiting for each.

    :raises AdminRequestError: without a token, when no server answers, or when it refuses.
    """
    token = settings.server.admin_token
    if not token:
        raise AdminRequestError(
            _locked_message(settings, "set [server] admin_token or $MEAHUB_ADMIN_TOKEN")
        )
    params = {"full": str(full).lower(), "allow_mass_delete": str(allow_mass_delete).lower()}
    headers = {"Authorization": f"Bearer {token}"}
    names = list(names) or [s.name for s in settings.sources]
    with httpx.Client(base_url=server_url(settings), headers=headers, timeout=30) as client:
        return [_run(client, name, params, poll, sleep) for name in names]


def _run(
    client: httpx.Client,
    name: str,
    params: dict[str, str],
    poll: float,
    sleep: Callable[[float], None],
) -> SourceReport:
    run_id = _ask(client, name, params)
    while True:
        data = _get(client, f"/admin/runs/{run_id}")
        if data.get("status") not in _GOING:
            return _report(name, run_id, data)
        sleep(poll)


def _ask(client: httpx.Client, name: str, params: dict[str, str]) -> str:
    """Queue a run; when one of that source is already going, follow that one."""
    response = _send(client, "POST", f"/admin/harvest/{name}", params)
    body = response.json()
    if response.status_code == 409 and body.get("run_id"):
        log.warning("%s: a run is already going (%s); waiting for it", name, body["run_id"])
        return str(body["run_id"])
    if response.status_code != 202:
        raise AdminRequestError(f"the server refused to harvest {name}: {body.get('error')}")
    return str(body["run_id"])


def _get(client: httpx.Client, path: str) -> dict[str, Any]:
    response = _send(client, "GET", path)
    if response.status_code != 200:
        raise AdminRequestError(f"the server answered {response.status_code} for {path}")
    data: dict[str, Any] = response.json()
    return data


def _send(
    client: httpx.Client, method: str, path: str, params: dict[str, str] | None = None
) -> httpx.Response:
    try:
        response = client.request(method, path, params=params)
    except httpx.HTTPError as exc:
        raise AdminRequestError(f"cannot reach the server at {client.base_url}: {exc}") from exc
    if response.status_code in (401, 403):
        raise AdminRequestError(f"the server refused the admin token: {response.json()}")
    return response


def _report(name: str, run_id: str, data: dict[str, Any]) -> SourceReport:
    """The run's report as the server sent it (or a failed one when it never ran)."""
    body = data.get("report") or {}
    status = str(data.get("status"))
    report = SourceReport(
        source=name,
        run_id=run_id,
        started=_time(body.get("started") or data.get("started")),
        status=RunStatus(status) if status in RunStatus.__members__.values() else RunStatus.FAILED,
        counts=Counter(body.get("counts") or {}),
        failures=[RecordFailure(**f) for f in body.get("failures") or []],
        notes=list(body.get("notes") or []),
        error=body.get("error") or data.get("error") or (None if body else f"run {status}"),
        requests=int(body.get("requests") or 0),
        withheld=[WithheldDeletions.from_dict(w) for w in body.get("withheld") or []],
        withheld_runs=int(body.get("withheld_runs") or 0),
        withheld_flagged=bool(body.get("withheld_flagged")),
        checked_deletions=bool(body.get("checked_deletions")),
    )
    return report


def _time(value: Any) -> datetime:
    return datetime.fromisoformat(value) if value else datetime.now(UTC)


def _locked_message(settings: Settings, hint: str) -> str:
    return (
        "the store is in use by another process (a running `meahub serve`?), and it cannot be "
        f"asked at {server_url(settings)}: {hint}"
    )
