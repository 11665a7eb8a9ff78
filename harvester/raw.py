"""Raw payloads as the providers sent them, compressed on disk, so records can be re-mapped
(``meahub remap``) without fetching them again. Malformed records are kept too."""

from __future__ import annotations

import hashlib
import json
import threading
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from .sqlite import open_database

__all__ = ["Archived", "RawArchive", "StoredPayload", "archive_form", "payload_hash"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS payloads (
    source TEXT NOT NULL, entity TEXT NOT NULL, id TEXT NOT NULL,
    url TEXT NOT NULL, fetched TEXT NOT NULL, hash TEXT NOT NULL, body BLOB NOT NULL,
    deleted INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (source, entity, id)
);
"""


def canonical_json(payload: Any) -> bytes:
    """The payload as canonical JSON bytes (sorted keys), the basis of change detection.

    orjson writes it about 4x faster than the standard library (it runs twice a record: the
    change hash and the raw archive); what orjson refuses (integers beyond 64 bits, keys that
    are not strings) is written by the standard library instead, which is as stable a form for
    the same payload."""
    try:
        return orjson.dumps(payload, option=orjson.OPT_SORT_KEYS, default=str)
    except TypeError:
        return json.dumps(payload, sort_keys=True, ensure_ascii=False, default=str).encode()


def payload_hash(payload: Any, salt: str = "") -> str:
    """A content hash of a payload; the record's own ``__metadata`` is left out (it names the
    host the provider believes it has, which may vary between runs)."""
    if isinstance(payload, dict) and "__metadata" in payload:
        payload = {k: v for k, v in payload.items() if k != "__metadata"}
    digest = hashlib.sha256(salt.encode())
    digest.update(canonical_json(payload))
    return digest.hexdigest()


@dataclass(frozen=True)
class Archived:
    """A payload as the archive keeps it: compressed canonical JSON, and that JSON's SHA-256."""

    body: bytes
    digest: str


def archive_form(payload: Any) -> Archived:
    """The payload in the archive's form (CPU work a transform worker can do)."""
    body = canonical_json(payload)
    return Archived(zlib.compress(body, 1), hashlib.sha256(body).hexdigest())


@dataclass(frozen=True)
class StoredPayload:
    source: str
    entity: str
    record_id: str
    url: str
    fetched: str
    payload: Any


class RawArchive:
    """``<state_dir>/raw.sqlite``: the newest payload of every record, zlib-compressed."""

    def __init__(self, directory: Path | None) -> None:
        self._db = open_database(directory, "raw.sqlite", _SCHEMA)
        self._lock = threading.Lock()
        self._pending: list[tuple[Any, ...]] = []

    def put(self, source: str, entity: str, record_id: str | None, url: str, payload: Any) -> str:
        """Keep one payload (written in batches; call :meth:`flush`). Returns the key used.

        Payloads without an id are keyed by their content hash, so they are kept too.
        """
        archived = archive_form(payload)
        key = record_id if record_id is not None else "#" + archived.digest[:20]
        self.put_archived(source, entity, key, url, archived)
        return key

    def put_archived(
        self, source: str, entity: str, key: str, url: str, archived: Archived
    ) -> None:
        """Keep a payload already in :func:`archive_form` (made in a transform worker)."""
        fetched = datetime.now(UTC).isoformat()
        row = (source, entity, key, url, fetched, archived.digest, archived.body, 0)
        with self._lock:
            self._pending.append(row)
            if len(self._pending) >= 500:
                self._write_pending()

    def flush(self) -> None:
        with self._lock:
            self._write_pending()

    def _write_pending(self) -> None:
        if not self._pending:
            return
        self._db.execute("BEGIN")
        self._db.executemany(
            "INSERT OR REPLACE INTO payloads VALUES (?,?,?,?,?,?,?,?)", self._pending
        )
        self._db.execute("COMMIT")
        self._pending = []

    def payloads(self, source: str) -> Iterator[StoredPayload]:
        """Every kept payload of ``source`` (newest per record, deleted ones left out)."""
        self.flush()
        rows = self._db.execute(
            "SELECT entity, id, url, fetched, body FROM payloads WHERE source = ? AND deleted = 0 "
            "ORDER BY entity, id",
            (source,),
        )
        for entity, rid, url, fetched, body in rows:
            yield StoredPayload(
                source, entity, rid, url, fetched, json.loads(zlib.decompress(body))
            )

    def mark_deleted(self, source: str, entity: str, record_id: str) -> None:
        """Keep the payload of a record the source deleted, but leave it out of remaps."""
        self.flush()
        self._db.execute(
            "UPDATE payloads SET deleted = 1 WHERE source = ? AND entity = ? AND id = ?",
            (source, entity, record_id),
        )

    def count(self, source: str) -> int:
        self.flush()
        row = self._db.execute("SELECT COUNT(*) FROM payloads WHERE source = ?", (source,))
        return int(row.fetchone()[0])

    def close(self) -> None:
        self.flush()
        self._db.close()
