"""``make run`` end to end: ``meahub demo`` in a real process ends with a serving endpoint."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx

from harvester.demo import demo_dataset
from harvester.service.demo_run import free_port

COUNT_DECISIONS = "PREFIX mea: <https://w3id.org/mea/ontology#> SELECT (COUNT(*) AS ?n) WHERE { ?d a mea:Decision }"


def _wait_for(url: str, process: subprocess.Popen[bytes], seconds: float = 90) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert process.poll() is None, process.stderr.read().decode() if process.stderr else ""
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.3)
    raise AssertionError(f"{url} did not come up in {seconds} s")


def test_meahub_demo_harvests_and_serves(tmp_path: Path) -> None:
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "harvester.service.cli",
        "demo",
        "--port",
        str(port),
        "--data-dir",
        str(tmp_path),
    ]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    try:
        _wait_for(f"http://127.0.0.1:{port}/health", process)
        response = httpx.post(
            f"http://127.0.0.1:{port}/sparql", data={"query": COUNT_DECISIONS}, timeout=10
        )
        count = int(response.json()["results"]["bindings"][0]["n"]["value"])
        cbd_family = [
            d
            for d in demo_dataset()["Decisions"].values()
            if d["treaty"] in ("cbd", "cartagena", "nagoya")
        ]
        assert count == 120 + len(
            cbd_family
        )  # InforMEA toolkits, plus the CBD decision-tracking API
    finally:
        process.terminate()
        output, errors = process.communicate(timeout=20)
    assert b"harvest summary" in output
    assert b"/sparql" in errors
