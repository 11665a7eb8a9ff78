"""The raw archive and the change hash: canonical JSON whatever the payload holds."""

from __future__ import annotations

import json
from pathlib import Path

from harvester.raw import RawArchive, canonical_json, payload_hash


def test_canonical_json_sorts_keys_and_round_trips() -> None:
    payload = {"b": [1, {"z": "é", "a": None}], "a": "<script>"}
    assert canonical_json(payload) == canonical_json(dict(reversed(payload.items())))
    assert json.loads(canonical_json(payload)) == payload


def test_payloads_orjson_refuses_are_still_hashed_and_kept(tmp_path: Path) -> None:
    huge = {"id": 10**30, "n": {1: "a non-string key"}}
    assert json.loads(canonical_json(huge)) == {"id": 10**30, "n": {"1": "a non-string key"}}
    assert payload_hash(huge) == payload_hash(dict(huge))
    archive = RawArchive(tmp_path)
    archive.put("src", "Decisions", "d1", "http://x.test/d1", huge)
    archive.flush()
    [stored] = list(archive.payloads("src"))
    assert stored.payload["id"] == 10**30


def test_hash_ignores_the_record_metadata_but_not_its_values() -> None:
    record = {"id": "d1", "title": "A", "__metadata": {"uri": "http://host-a/d1"}}
    moved = {**record, "__metadata": {"uri": "http://host-b/d1"}}
    assert payload_hash(record) == payload_hash(moved)
    assert payload_hash(record) != payload_hash({**record, "title": "B"})
    assert payload_hash(record, salt="v1") != payload_hash(record, salt="v2")
