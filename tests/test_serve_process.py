"""``meahub serve`` as a real process with a schedule against a slow mock provider: killed with
SIGKILL mid-harvest and restarted, or stopped with SIGTERM mid-harvest."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from harvester.demo.paced import serve_providers
from harvester.history import recent_runs
from harvester.service.demo_run import free_port
from harvester.service.runtime import Runtime
from harvester.settings import load_settings

from .conftest import HUB
from .test_scheduler import Mock, wait_for

pytestmark = pytest.mark.slow

DECISIONS = (
    "PREFIX mea: <https://w3id.org/mea/ontology#> SELECT (COUNT(DISTINCT ?d) AS ?n) "
    f"WHERE {{ GRAPH ?g {{ ?d a mea:Decision }} FILTER(STRSTARTS(STR(?g), '{HUB}graph/prov/')) }}"
)


@pytest.fixture
def slow() -> Iterator[tuple[Mock, str]]:
    mock = Mock(delay=0.15)
    with serve_providers(mock.build) as base:
        yield mock, base


def write_config(tmp_path: Path, base: str, port: int, interval: str = "2s") -> Path:
    config = tmp_path / "meahub.toml"
    config.write_text(
        f"""
[store]
path = "{tmp_path / "store"}"
[server]
admin_token = "tok"
host = "127.0.0.1"
port = {port}
base_iri = "{HUB}"
query_workers = 1
[[sources]]
name = "prov"
kind = "informea-odata"
url = "{base}/prov/informea.svc"
entities = ["Decisions"]
page_size = 5
rate = 0
concurrency = 1
interval = "{interval}"
""",
        encoding="utf-8",
    )
    return config


class Server:
    """One ``meahub serve`` process."""

    def __init__(self, config: Path, port: int, log: Path) -> None:
        self.url = f"http://127.0.0.1:{port}"
        self.log = log.open("ab")
        command = [sys.executable, "-m", "harvester.service.cli", "serve", "--config", str(config)]
        self.process = subprocess.Popen(command, stdout=self.log, stderr=self.log)
        wait_for(self._up, timeout=60)

    def _up(self) -> bool:
        assert self.process.poll() is None, "meahub serve exited"
        try:
            return httpx.get(self.url + "/health", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    def status(self) -> dict[str, Any]:
        data: dict[str, Any] = httpx.get(self.url + "/status", timeout=10).json()
        return data["sources"]["prov"]

    def decisions(self) -> int:
        response = httpx.post(
            self.url + "/sparql",
            data={"query": DECISIONS},
            headers={"Accept": "application/sparql-results+json"},
            timeout=30,
        )
        return int(response.json()["results"]["bindings"][0]["n"]["value"])

    def stop(self, sig: signal.Signals) -> int:
        self.process.send_signal(sig)
        code = self.process.wait(timeout=60)
        self.log.close()
        return code


def mid_run(server: Server, mock: Mock) -> None:
    """Wait until a harvest is going and has made a few requests."""
    assert mock.paced is not None
    wait_for(lambda: server.status()["running"], timeout=30)
    seen = mock.paced.requests
    wait_for(lambda: mock.paced is not None and mock.paced.requests >= seen + 3, timeout=30)


def test_kill_9_mid_harvest_then_restart(tmp_path: Path, slow: tuple[Mock, str]) -> None:
    mock, base = slow
    port = free_port()
    config = write_config(tmp_path, base, port)
    server = Server(config, port, tmp_path / "serve.log")
    mid_run(server, mock)
    assert server.stop(signal.SIGKILL) == -signal.SIGKILL

    again = Server(config, port, tmp_path / "serve.log")
    assert again.decisions() in (0, 30)  # the killed run left nothing half-loaded
    history = again.status()["history"]
    assert history[0]["status"] == "interrupted"  # recorded at the restart

    def completed() -> bool:
        return any(r["status"] == "ok" for r in again.status()["history"])

    wait_for(completed, timeout=60)  # the next scheduled run completes normally
    assert again.decisions() == 30
    again.stop(signal.SIGTERM)


def test_sigterm_mid_harvest_records_an_interrupted_run(
    tmp_path: Path, slow: tuple[Mock, str]
) -> None:
    mock, base = slow
    port = free_port()
    config = write_config(tmp_path, base, port)
    server = Server(config, port, tmp_path / "serve.log")
    mid_run(server, mock)
    started = time.monotonic()
    assert server.stop(signal.SIGTERM) == 0
    assert time.monotonic() - started < 30
    with Runtime.open(load_settings(config)) as runtime:
        runs = runtime.state.runs("prov")
        assert runs[0].status == "interrupted" and runs[0].ended is not None
        assert runtime.state.record_count("prov") == 0
        assert recent_runs(runtime.store, HUB, "prov")[0]["status"] == "interrupted"
        rows = runtime.store.query(DECISIONS)
        assert next(iter(rows))[0].value == "0"  # type: ignore[call-overload]


def test_harvest_command_asks_the_running_server(
    tmp_path: Path, slow: tuple[Mock, str], capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    from harvester.service.cli import main

    _, base = slow
    port = free_port()
    config = write_config(tmp_path, base, port, interval="1h")
    server = Server(config, port, tmp_path / "serve.log")
    try:
        assert main(["harvest", "--config", str(config), "--source", "prov"]) == 0
        row = next(line for line in capsys.readouterr().out.splitlines() if "prov" in line)
        assert "ok" in row and "30" in row
        assert server.decisions() == 30
        text = config.read_text().replace('admin_token = "tok"', "")
        config.write_text(text)
        assert main(["harvest", "--config", str(config), "--source", "prov"]) == 2
        assert "admin_token" in capsys.readouterr().err
    finally:
        server.stop(signal.SIGTERM)
