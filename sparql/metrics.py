"""Operations: Prometheus metrics at ``/metrics`` and one JSON access-log line per request.

The metrics are few and written here in the Prometheus text format (version 0.0.4) rather than
with ``prometheus_client``: about sixty lines against a dependency and its global registry.

- ``meahub_http_requests_total{route,method,status}``: requests answered;
- ``meahub_http_request_duration_seconds{route}``: a latency histogram;
- ``meahub_query_timeouts_total``, ``meahub_query_worker_restarts_total``,
  ``meahub_queries_inlined_total``: from the worker pool;
- ``meahub_harvest_last_run{source,status}``, ``meahub_harvest_last_records{source,outcome}``,
  ``meahub_harvest_last_end_timestamp_seconds{source}``, ``meahub_store_quads``,
  ``meahub_harvest_consecutive_failures{source}``, ``meahub_harvest_flagged{source}`` (1 when
  the source failed ``flag_after_failures`` runs in a row, or withheld deletions
  ``flag_after_withheld_runs`` runs in a row), ``meahub_harvest_deletions_withheld{source}``
  (records whose deletion the newest run of the streak withheld, as far as known),
  ``meahub_harvest_deletions_withheld_reason{source,reason}`` (that count per reason; NaN
  when unknown), ``meahub_harvest_consecutive_withheld_runs{source}`` and
  ``meahub_harvest_withheld_flagged{source}``: from the harvest status (the callable behind
  ``/status``).

Access lines go to the ``meahub.access`` logger (INFO) as JSON objects, one per request, with the
method, path (without the query string), route template, status, bytes sent, duration and client.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .workers import WorkerPool

__all__ = ["BUCKETS", "Metrics", "MetricsMiddleware", "access_line", "metrics_endpoint"]

access_log = logging.getLogger("meahub.access")

BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
StatusCallable = Callable[[], dict[str, Any]]


class Metrics:
    """Request counters and latency histograms, shared by the middleware and ``/metrics``."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.requests: Counter[tuple[str, str, int]] = Counter()
        self.buckets: dict[str, list[int]] = {}
        self.sums: dict[str, float] = {}

    def observe(self, route: str, method: str, status: int, seconds: float) -> None:
        with self._lock:
            self.requests[(route, method, status)] += 1
            counts = self.buckets.setdefault(route, [0] * (len(BUCKETS) + 1))
            counts[_bucket(seconds)] += 1
            self.sums[route] = self.sums.get(route, 0.0) + seconds

    def render(self, pool: WorkerPool | None, status: Mapping[str, Any]) -> str:
        """All metrics in the Prometheus text format."""
        with self._lock:
            lines = [*self._request_lines(), *self._latency_lines()]
        lines += _pool_lines(pool)
        lines += _harvest_lines(status)
        return "\n".join(lines) + "\n"

    def _request_lines(self) -> Iterator[str]:
        yield from _header("meahub_http_requests_total", "counter", "HTTP requests answered")
        for (route, method, status), n in sorted(self.requests.items()):
            labels = _labels(route=route, method=method, status=str(status))
            yield f"meahub_http_requests_total{labels} {n}"

    def _latency_lines(self) -> Iterator[str]:
        name = "meahub_http_request_duration_seconds"
        yield from _header(name, "histogram", "Time to answer an HTTP request")
        for route, counts in sorted(self.buckets.items()):
            total = 0
            for bound, n in zip((*BUCKETS, "+Inf"), counts, strict=True):
                total += n
                yield f"{name}_bucket{_labels(route=route, le=str(bound))} {total}"
            yield f"{name}_sum{_labels(route=route)} {self.sums[route]:.6f}"
            yield f"{name}_count{_labels(route=route)} {total}"


def _bucket(seconds: float) -> int:
    for index, bound in enumerate(BUCKETS):
        if seconds <= bound:
            return index
    return len(BUCKETS)


def _header(name: str, kind: str, help_text: str) -> list[str]:
    return [f"# HELP {name} {help_text}", f"# TYPE {name} {kind}"]


def _labels(**values: str) -> str:
    return "{" + ",".join(f'{k}="{_escape(v)}"' for k, v in values.items()) + "}"


def _escape(value: str) -> str:
    """A label value: backslash, double quote and line feed escaped."""
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _pool_lines(pool: WorkerPool | None) -> list[str]:
    timeouts, restarts = (pool.timeouts, pool.restarts) if pool is not None else (0, 0)
    inlined = pool.inline.inlined if pool is not None and pool.inline is not None else 0
    return [
        *_header("meahub_query_timeouts_total", "counter", "Queries stopped at query_timeout"),
        f"meahub_query_timeouts_total {timeouts}",
        *_header("meahub_query_worker_restarts_total", "counter", "Query workers replaced"),
        f"meahub_query_worker_restarts_total {restarts}",
        *_header(
            "meahub_queries_inlined_total",
            "counter",
            "Queries answered in the endpoint process, proven cheap on the live generation",
        ),
        f"meahub_queries_inlined_total {inlined}",
    ]


def _harvest_lines(status: Mapping[str, Any]) -> list[str]:
    sources: Mapping[str, Any] = status.get("sources") or {}
    lines = _header("meahub_harvest_last_run", "gauge", "Outcome of the last harvest run")
    records = _header("meahub_harvest_last_records", "gauge", "Records of the last run")
    ended = _header("meahub_harvest_last_end_timestamp_seconds", "gauge", "End of the last run")
    for name, run in sorted(sources.items()):
        run = run or {}
        lines.append(f"meahub_harvest_last_run{_labels(source=name, status=_status(run))} 1")
        for outcome, n in sorted((run.get("counts") or {}).items()):
            records.append(
                f"meahub_harvest_last_records{_labels(source=name, outcome=outcome)} {n}"
            )
        stamp = _timestamp(run.get("ended"))
        if stamp is not None:
            ended.append(f"meahub_harvest_last_end_timestamp_seconds{_labels(source=name)} {stamp}")
    lines += _failing_lines(sources)
    lines += _withheld_lines(sources)
    quads = [] if "quads" not in status else [f"meahub_store_quads {int(status['quads'])}"]
    quads_header = _header("meahub_store_quads", "gauge", "Quads in the store") if quads else []
    return [*lines, *records, *ended, *quads_header, *quads]


def _failing_lines(sources: Mapping[str, Any]) -> list[str]:
    failures = _header(
        "meahub_harvest_consecutive_failures", "gauge", "Failed runs since the last good one"
    )
    flagged = _header(
        "meahub_harvest_flagged",
        "gauge",
        "1: the source keeps failing, or keeps withholding deletions (see /status)",
    )
    for name, run in sorted(sources.items()):
        run = run or {}
        if "consecutive_failures" in run:
            labels = _labels(source=name)
            failures.append(
                f"meahub_harvest_consecutive_failures{labels} {run['consecutive_failures']}"
            )
            flagged.append(f"meahub_harvest_flagged{labels} {int(bool(run.get('flagged')))}")
    return [*failures, *flagged]


def _withheld_lines(sources: Mapping[str, Any]) -> list[str]:
    withheld = _header(
        "meahub_harvest_deletions_withheld",
        "gauge",
        "Records kept although a listing did not show them (deletions withheld), as far as known",
    )
    reasons = _header(
        "meahub_harvest_deletions_withheld_reason",
        "gauge",
        "Deletions withheld, by reason (NaN: how many is unknown)",
    )
    streaks = _header(
        "meahub_harvest_consecutive_withheld_runs", "gauge", "Runs in a row that withheld deletions"
    )
    flagged = _header(
        "meahub_harvest_withheld_flagged", "gauge", "1: the source keeps withholding deletions"
    )
    for name, run in sorted(sources.items()):
        run = run or {}
        if "consecutive_withheld_runs" not in run:
            continue
        labels = _labels(source=name)
        count = int(run.get("deletions_withheld_count") or 0)
        withheld.append(f"meahub_harvest_deletions_withheld{labels} {count}")
        for reason, n in sorted(_by_reason(run.get("deletions_withheld") or []).items()):
            by_reason = _labels(source=name, reason=reason)
            reasons.append(
                f"meahub_harvest_deletions_withheld_reason{by_reason} {'NaN' if n is None else n}"
            )
        streak = int(run["consecutive_withheld_runs"])
        streaks.append(f"meahub_harvest_consecutive_withheld_runs{labels} {streak}")
        flag = int(bool(run.get("withheld_flagged")))
        flagged.append(f"meahub_harvest_withheld_flagged{labels} {flag}")
    return [*withheld, *reasons, *streaks, *flagged]


def _by_reason(entries: list[Mapping[str, Any]]) -> dict[str, int | None]:
    """Withheld counts summed by reason; None for a reason with any unknown count."""
    totals: dict[str, int | None] = {}
    for entry in entries:
        reason, count = str(entry.get("reason") or "unknown"), entry.get("count")
        before = totals.get(reason, 0)
        totals[reason] = None if before is None or count is None else before + int(count)
    return totals


def _status(run: Mapping[str, Any]) -> str:
    return str(run.get("status") or "never")


def _timestamp(value: Any) -> float | None:
    if isinstance(value, datetime):
        return value.timestamp()
    try:
        return datetime.fromisoformat(str(value)).timestamp() if value else None
    except ValueError:
        return None


def metrics_endpoint(
    metrics: Metrics, pool: Callable[[], WorkerPool | None], status: StatusCallable | None
) -> Callable[[Request], Response]:
    """``GET /metrics``: a plain function, so the status callable runs on a worker thread."""

    def metrics_page(request: Request) -> Response:
        text = metrics.render(pool(), status() if status is not None else {})
        return Response(text, media_type="text/plain; version=0.0.4; charset=utf-8")

    return metrics_page


class MetricsMiddleware:
    """Counts and times every HTTP request, and writes its access-log line."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        sent = {"status": 500, "bytes": 0}

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                sent["status"] = message["status"]
            elif message["type"] == "http.response.body":
                sent["bytes"] += len(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            self._record(scope, sent, time.perf_counter() - started)

    def _record(self, scope: Scope, sent: dict[str, int], seconds: float) -> None:
        route = getattr(scope.get("route"), "path", None) or "unmatched"
        self.metrics.observe(route, scope["method"], sent["status"], seconds)
        access_line(scope, route, sent["status"], sent["bytes"], seconds)


def access_line(scope: Scope, route: str, status: int, sent: int, seconds: float) -> None:
    """Write the access-log line of one request (when ``meahub.access`` logs INFO)."""
    if access_log.isEnabledFor(logging.INFO):
        access_log.info("%s", json.dumps(_access_entry(scope, route, status, sent, seconds)))


def _access_entry(
    scope: Scope, route: str, status: int, sent: int, seconds: float
) -> dict[str, Any]:
    client = scope.get("client")
    return {
        "time": datetime.now().astimezone().isoformat(timespec="milliseconds"),
        "method": scope["method"],
        "path": scope["path"],
        "route": route,
        "status": status,
        "bytes": sent,
        "ms": round(seconds * 1000, 2),
        "client": client[0] if client else None,
        "user_agent": _user_agent(scope),
    }


def _user_agent(scope: Scope) -> str:
    for name, value in scope.get("headers") or ():
        if name == b"user-agent":
            return str(value.decode("latin-1")[:200])
    return ""
