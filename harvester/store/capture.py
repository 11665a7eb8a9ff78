"""What a stage keeps, for the publish hook (the search index), of each graph written to it: on
disk, beside the store, so a run of any size is indexed from the lines its writes carried and
never by reading its graphs back from a generation just bulk-loaded.

Reading a graph back from such a generation (not yet compacted: many level-0 files to merge)
costs about 1.5 ms, twice per record (its graph and its inferred graph). Keeping the captured
text in memory up to a budget (48 M characters, the indexed lines of about 6,000 decisions)
left every larger run to read the rest back: at the ``make bench`` mix (281,000 records) that
was most of the harvest's time. The spool is an anonymous temporary file (unlinked at once:
nothing is left behind by a crash), written at its end and read with ``pread``; only each
graph's offset and length stay in memory.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path

__all__ = ["CaptureSpool"]


class CaptureSpool(Mapping[str, bytes]):
    """Graph IRI -> the UTF-8 N-Quads lines the hook kept of it (``b""``: the graph was dropped,
    or none of its lines is one the hook reads). A graph written again replaces what was kept
    of it (the older bytes stay in the file, unread)."""

    def __init__(self, folder: Path) -> None:
        self._file = tempfile.TemporaryFile(dir=folder, prefix="meahub-capture-")
        self._fd = self._file.fileno()
        self._at: dict[str, tuple[int, int]] = {}
        self._end = 0

    def put(self, graph: str, text: str) -> None:
        """Keep ``text`` for ``graph``."""
        self.put_many([(graph, text)])

    def put_many(self, items: Iterable[tuple[str, str]]) -> None:
        """Keep each ``(graph, text)``, in one write (a batch's graphs at once)."""
        chunks: list[bytes] = []
        at = self._end
        for graph, text in items:
            data = text.encode("utf-8")
            self._at[graph] = (at, len(data)) if data else (0, 0)
            at += len(data)
            chunks.append(data)
        data = b"".join(chunks)
        written = 0
        while written < len(data):
            written += os.pwrite(self._fd, data[written:], self._end + written)
        self._end = at

    def drop(self, graph: str) -> None:
        """``graph`` is gone: nothing of it to index."""
        self._at[graph] = (0, 0)

    def __getitem__(self, graph: str) -> bytes:
        start, size = self._at[graph]
        if not size:
            return b""
        data = os.pread(self._fd, size, start)
        while len(data) < size:  # a short read: go on where it stopped
            more = os.pread(self._fd, size - len(data), start + len(data))
            if not more:  # the file ends before what was written: never loop on it
                raise OSError(f"capture spool truncated at {start + len(data)} bytes")
            data += more
        return data

    def __iter__(self) -> Iterator[str]:
        return iter(self._at)

    def __len__(self) -> int:
        return len(self._at)

    @property
    def size(self) -> int:
        """Bytes written to the spool so far."""
        return self._end

    def close(self) -> None:
        """Free the file (its space goes back to the disk)."""
        self._file.close()
        self._at.clear()
