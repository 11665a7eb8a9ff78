"""Hub B (``kind = "ldes"``, a real ``meahub`` process) is killed with SIGKILL while it follows
hub A's feed; the rerun resumes: nothing lost, nothing applied twice (issue 15)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from starlette.types import ASGIApp, Receive, Scope, Send

from harvester.demo import Dataset
from harvester.feed import attach
from harvester.service.runtime import Runtime
from harvester.settings import ServerSettings, settings_from_mapping
from sparql import create_app

from .conftest import Hub, provider

MEA = "https://w3id.org/mea/ontology#"
MEAHUB = Path(sys.executable).parent / "meahub"


class SlowPages:
    """Hub A's app with each page answered after a pause, and the pages asked for counted."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.pages: list[str] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith("/ldes/page/"):
            import asyncio

            self.pages.append(scope["path"])
            await asyncio.sleep(0.4)
        await self.app(scope, receive, send)


@pytest.fixture
def hub_a(dataset: Dataset) -> Iterator[tuple[Hub, str, SlowPages]]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    base = f"http://127.0.0.1:{sock.getsockname()[1]}/"
    runtime = Runtime.open(settings_from_mapping({"server": {"base_iri": base}}), in_memory=True)
    attach(runtime.store, base, page_size=10)
    hub = Hub(runtime)
    hub.harvest(provider(dataset).handle)
    app = SlowPages(create_app(runtime.store, ServerSettings(base_iri=base)))
    server = uvicorn.Server(uvicorn.Config(app, lifespan="off", ws="none", log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.01)
    try:
        yield hub, base, app
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
        runtime.close()


def records(store: object, base: str) -> set[str]:
    rows = store.query(  # type: ignore[attr-defined]
        f"SELECT DISTINCT ?s WHERE {{ GRAPH ?g {{ ?s <{MEA}harvestSource> ?x }} "
        f"FILTER(!STRSTARTS(STR(?g), '{base}graph/runs/')) }}"
    )
    return {r[0].value for r in rows}


def test_b_killed_mid_follow_resumes_without_loss_or_repeat(
    hub_a: tuple[Hub, str, SlowPages], tmp_path: Path
) -> None:
    hub, base, app = hub_a
    config = tmp_path / "b.toml"
    config.write_text(
        '[server]\nbase_iri = "http://mirror.test/"\n'
        f'[store]\npath = "{tmp_path / "store"}"\nstate_dir = "{tmp_path / "state"}"\n'
        f'[[sources]]\nname = "hub-a"\nkind = "ldes"\nurl = "{base}ldes"\n',
        encoding="utf-8",
    )
    command = [str(MEAHUB), "harvest", "--config", str(config), "--json"]
    env = {**os.environ, "MEAHUB_CONFIG": ""}
    b = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    deadline = time.monotonic() + 60
    while len(app.pages) < 4 and time.monotonic() < deadline and b.poll() is None:
        time.sleep(0.05)
    assert b.poll() is None, "B ended before it could be killed"
    b.send_signal(signal.SIGKILL)
    b.wait(timeout=10)
    assert b.returncode == -signal.SIGKILL
    killed_at = len(app.pages)

    rerun = subprocess.run(command, capture_output=True, timeout=120, env=env, check=False)
    assert rerun.returncode == 0, rerun.stderr.decode()[-2000:]
    report = json.loads(rerun.stdout)
    source = report["sources"]["hub-a"]
    counts = source["counts"]
    expected = records(hub.runtime.store, base)
    # the rerun applied at most what the killed run had not committed, plus one page
    applied_before = (killed_at - 2) * 10  # pages fully committed before the kill, at least
    assert counts.get("added", 0) + counts.get("updated", 0) <= len(expected) - applied_before + 10
    assert 0 < counts.get("added", 0) < len(expected)  # resumed after the kill, not restarted
    assert counts.get("updated", 0) == 0  # nothing the killed run committed was applied again

    settings = settings_from_mapping(
        {"server": {"base_iri": "http://mirror.test/"}, "store": {"path": str(tmp_path / "store")}}
    )
    mirror = Runtime.open(settings)
    try:
        assert records(mirror.store, "http://mirror.test/") == expected
    finally:
        mirror.close()
