"""The mock process and the configuration of ``bench.harvest_e2e``: a :mod:`bench.multi_mock`
on a loopback port, ``meahub.toml`` for its four sources, and a small HTTP client."""

from __future__ import annotations

import http.client
import json
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

__all__ = ["config_text", "http_get", "http_request", "mock", "source_names", "toml_string"]

ROOT = Path(__file__).parent.parent


@contextmanager
def mock(scale: float, log: Path) -> Iterator[tuple[str, int, dict[str, Any]]]:
    """A :mod:`bench.multi_mock` process: its base URL, process id and served counts."""
    from harvester.service.demo_run import free_port

    port = free_port()
    command = [sys.executable, "-m", "bench.multi_mock", "--scale", str(scale)]
    with log.open("wb") as out:
        process = subprocess.Popen(
            [*command, "--port", str(port)], cwd=ROOT, stdout=out, stderr=subprocess.STDOUT
        )
    base = f"http://127.0.0.1:{port}"
    try:
        served = _wait_for_json(base + "/_bench/served", process)
        yield base, process.pid, served
    finally:
        process.terminate()
        process.wait(timeout=30)


def _wait_for_json(url: str, process: subprocess.Popen[bytes], wait: float = 300) -> Any:
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the mock exited with {process.returncode}")
        try:
            status, body = http_get(url)
            if status == 200:
                return json.loads(body)
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer")


def http_get(url: str, headers: dict[str, str] | None = None, timeout: float = 30) -> Any:
    """``(status, body)`` of a GET."""
    return http_request("GET", url, headers, timeout)


def http_request(
    method: str, url: str, headers: dict[str, str] | None = None, timeout: float = 30
) -> tuple[int, bytes]:
    """``(status, body)`` of one request on a connection of its own."""
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=timeout)
    try:
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        conn.request(method, path, headers=headers or {})
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def toml_string(value: str) -> str:
    """A TOML basic string (JSON's escapes are TOML's)."""
    return json.dumps(value)


def config_text(
    base: str,
    workdir: Path,
    *,
    port: int | None = None,
    token: str | None = None,
    query_timeout: float = 120,
) -> str:
    """``meahub.toml`` for the four demo sources at ``base`` (default page sizes, no rate
    limit), a store and state under ``workdir``; with ``port``/``token`` a ``[server]`` table."""
    from harvester.demo import demo_sources

    lines = [
        "[store]",
        f"path = {toml_string(str(workdir / 'store'))}",
        f"state_dir = {toml_string(str(workdir / 'state'))}",
        "",
    ]
    if port is not None:
        lines += ["[server]", 'host = "127.0.0.1"', f"port = {port}"]
        lines += [f"query_timeout = {query_timeout}"]
        lines += [f"admin_token = {toml_string(token)}"] if token else []
        lines.append("")
    for source in demo_sources(base):
        lines += ["[[sources]]"]
        lines += [f"{k} = {toml_string(source[k])}" for k in ("name", "kind", "url")]
        if "entities" in source:
            entities = ", ".join(toml_string(e) for e in source["entities"])
            lines.append(f"entities = [{entities}]")
        lines += ["rate = 0", ""]
    return "\n".join(lines)


def source_names(base: str) -> list[str]:
    from harvester.demo import demo_sources

    return [str(s["name"]) for s in demo_sources(base)]
