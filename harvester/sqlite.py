"""Opening the small SQLite databases beside the store (harvest state, raw archive)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from .exceptions import StoreError

__all__ = ["open_database"]


def open_database(directory: Path | None, filename: str, schema: str) -> sqlite3.Connection:
    """``directory / filename`` (or an in-memory database for None), in WAL mode, autocommit
    (transactions are explicit), usable from several threads (callers serialise writes).

    :raises StoreError: when it cannot be opened or its schema applied.
    """
    target = ":memory:"
    if directory is not None:
        directory.mkdir(parents=True, exist_ok=True)
        target = str(directory / filename)
    try:
        db = sqlite3.connect(target, check_same_thread=False, isolation_level=None)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        db.executescript(schema)
    except sqlite3.Error as exc:
        raise StoreError(f"cannot open {target}: {exc}") from exc
    return db
