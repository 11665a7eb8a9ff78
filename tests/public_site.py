"""A harvested in-memory hub behind the ASGI app, for the linked-data, VoID and query-page tests.

One decision's titles are replaced by markup (``<script>``, ``onerror=``): pages must show them as
text only.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from harvester.demo import Dataset
from harvester.service.runtime import Runtime
from harvester.settings import ServerSettings, settings_from_mapping
from sparql import create_app

from .conftest import HUB, Hub, provider, small_dataset

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
    from starlette.testclient import TestClient

SCRIPT_TITLE = "<script>alert(1)</script>"
IMG_TITLE = "<img src=x onerror=alert(1)>"
MEA = "https://w3id.org/mea/ontology#"


@dataclass
class Site:
    """The runtime, a client of the app over it, and the IRIs the tests look at."""

    runtime: Runtime
    client: TestClient
    server: ServerSettings
    dataset: Dataset
    hostile: str  # IRI of the decision with markup in its titles
    decision: str  # IRI of an ordinary decision

    def close(self) -> None:
        self.client.close()
        self.runtime.close()


def hostile_dataset() -> tuple[Dataset, str]:
    """The small dataset with one decision titled in markup; returns it and that record's id."""
    data = small_dataset()
    record_id = next(iter(data["Decisions"]))
    record: dict[str, Any] = data["Decisions"][record_id]
    record["title"] = [
        {"language": "en", "value": SCRIPT_TITLE},
        {"language": "fr", "value": IMG_TITLE},
    ]
    return data, record_id


def open_site(dumps_dir: Path, **server: Any) -> Site:
    """Harvest the hostile dataset into a fresh in-memory hub and wrap the app around it."""
    settings = settings_from_mapping({"server": {"base_iri": HUB}})
    runtime = Runtime.open(settings, in_memory=True)
    data, record_id = hostile_dataset()
    Hub(runtime).harvest(provider(data).handle)
    config = ServerSettings(base_iri=HUB, dumps_dir=dumps_dir, **server)
    client = TestClient(create_app(runtime.store, config))
    ids = list(data["Decisions"])
    return Site(
        runtime,
        client,
        config,
        data,
        hostile=f"{HUB}decision/prov/{record_id}",
        decision=f"{HUB}decision/prov/{ids[1]}",
    )


def path_of(iri: str) -> str:
    """The local path of an IRI under the test base."""
    assert iri.startswith(HUB)
    return "/" + iri[len(HUB) :]


def record_queries(monkeypatch: pytest.MonkeyPatch, site: Site) -> list[str]:
    """Record every query the store runs from now on (the work a 304 must skip)."""
    store = site.runtime.store
    original = store.query
    calls: list[str] = []

    def counting(sparql: str, **kwargs: Any) -> Any:
        calls.append(sparql)
        return original(sparql, **kwargs)

    monkeypatch.setattr(store, "query", counting)
    return calls
