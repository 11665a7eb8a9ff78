"""A real consumer nobody here wrote (issue 15): the LDES client from the npm registry
(``ldes-client``, installed by ``make ldes-client``) replays the whole feed of a harvested hub
and reaches exactly its live records; after a second harvest it receives exactly the changes."""

from __future__ import annotations

import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pyoxigraph as ox
import pytest
import uvicorn

from harvester.demo import Dataset
from harvester.feed import attach
from harvester.service.runtime import Runtime
from harvester.settings import ServerSettings, settings_from_mapping
from sparql import create_app

from .conftest import Hub, provider

ROOT = Path(__file__).resolve().parent.parent
CLIENT = ROOT / ".venv" / "share" / "ldes-client" / "node_modules" / ".bin" / "ldes-client"
MEA = "https://w3id.org/mea/ontology#"
AS = "https://www.w3.org/ns/activitystreams#"
IS_VERSION_OF = "http://purl.org/dc/terms/isVersionOf"
RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"

pytestmark = pytest.mark.skipif(
    not CLIENT.exists(),
    reason="the npm LDES client is not installed (make ldes-client; needs npm and its registry)",
)


@pytest.fixture
def served(dataset: Dataset) -> Iterator[tuple[Hub, str]]:
    """Hub A on a loopback port, its base IRI the URL it is served at."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    base = f"http://127.0.0.1:{sock.getsockname()[1]}/"
    runtime = Runtime.open(settings_from_mapping({"server": {"base_iri": base}}), in_memory=True)
    attach(runtime.store, base, page_size=20)
    hub = Hub(runtime)
    hub.harvest(provider(dataset).handle)
    config = uvicorn.Config(
        create_app(runtime.store, ServerSettings(base_iri=base)),
        lifespan="off",
        ws="none",
        log_level="warning",
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.01)
    try:
        yield hub, base
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
        runtime.close()


class Following:
    """The client following the feed (``--follow``): its output file read as it grows."""

    def __init__(self, base: str, out: Path) -> None:
        self.out = out
        self.file = out.open("wb")
        self.process = subprocess.Popen(
            [str(CLIENT), f"{base}ldes", "--follow", "--poll-interval", "300", "-o", "ascending"],
            stdout=self.file,
            stderr=subprocess.DEVNULL,
        )

    def members(self, count: int, timeout: float = 60) -> dict[str, tuple[str, str]]:
        """The members emitted, once there are ``count`` of them (then a moment more, so a
        member too many would show)."""
        deadline = time.monotonic() + timeout
        found: dict[str, tuple[str, str]] = {}
        while time.monotonic() < deadline:
            assert self.process.poll() is None, "the client stopped"
            found = _members(self.out.read_bytes())
            if len(found) >= count:
                time.sleep(2)
                return _members(self.out.read_bytes())
            time.sleep(0.2)
        return found

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.file.close()


def _members(output: bytes) -> dict[str, tuple[str, str]]:
    """member -> (record, kind) of the members in the client's output (N-Triples, with some
    abbreviations: read as Turtle); the last member may still be half written, so only the
    complete lines are read."""
    text = output[: output.rfind(b"\n") + 1]
    try:
        triples = list(ox.parse(text, format=ox.RdfFormat.TURTLE))
    except SyntaxError:
        return {}
    records = {
        t.subject.value: t.object.value  # type: ignore[union-attr]
        for t in triples
        if t.predicate.value == IS_VERSION_OF
    }
    kinds = {
        t.subject.value: t.object.value.removeprefix(AS)  # type: ignore[union-attr]
        for t in triples
        if t.predicate.value == RDF_TYPE and t.object.value.startswith(AS)  # type: ignore[union-attr]
    }
    return {m: (r, kinds.get(m, "")) for m, r in records.items() if m in kinds}


def live(hub: Hub, base: str) -> set[str]:
    rows = hub.runtime.store.query(
        f"SELECT DISTINCT ?s WHERE {{ GRAPH ?g {{ ?s <{MEA}harvestSource> ?x }} "
        f"FILTER(!STRSTARTS(STR(?g), '{base}graph/runs/')) }}"
    )
    return {r[0].value for r in rows}  # type: ignore[union-attr]


def test_the_npm_client_replays_the_feed_and_then_only_the_changes(
    served: tuple[Hub, str], dataset: Dataset, tmp_path: Path
) -> None:
    hub, base = served
    expected = live(hub, base)
    client = Following(base, tmp_path / "members.nt")
    try:
        first = client.members(len(expected))
        records = {record for record, kind in first.values() if kind != "Delete"}
        assert records == expected
        assert len(first) == len(expected)  # one member per record: one harvest, creates only
        assert {kind for _, kind in first.values()} == {"Create"}

        decisions = sorted(dataset["Decisions"])
        dataset.touch("Decisions", decisions[0], datetime(2031, 1, 1, tzinfo=UTC))
        dataset.delete("Decisions", decisions[1])
        report = hub.harvest(provider(dataset).handle)
        assert (report.counts["updated"], report.counts["deleted"]) == (1, 1)
        after = client.members(len(first) + 2)
        emitted = client.out.read_bytes().count(f"<{IS_VERSION_OF}>".encode())
    finally:
        client.stop()
    assert emitted == len(after)  # no member emitted twice
    second = {m: v for m, v in after.items() if m not in first}
    assert len(after) == len(first) + 2  # exactly the two changes, nothing received again
    assert sorted(kind for _, kind in second.values()) == ["Delete", "Update"]
    updated = next(r for r, k in second.values() if k == "Update")
    deleted = next(r for r, k in second.values() if k == "Delete")
    assert updated in live(hub, base) and deleted not in live(hub, base)
