"""Evaluate one query and serialise its answer to bytes, with the result-row cap, in one call.

The same code runs in a query worker process (:mod:`sparql.workers`) and, for an in-memory
store, on a thread of the endpoint: pyoxigraph results must be read on the thread that produced
them, so nothing but bytes and numbers leaves :func:`run`.

The row cap (``[server].max_result_rows``) is applied while serialising: pyoxigraph writes the
answer as TSV (SELECT) or N-Triples (CONSTRUCT/DESCRIBE), one row or triple per line, into a
writer that counts lines and stops the evaluation once one row more than the cap has been
written. The lines kept are parsed back and written in the negotiated format (or kept as they are
when TSV or N-Triples was asked for). Measured on 1,000 rows of the demo store: 4.4 ms against
3.5 ms for a direct serialisation, far less than writing the rows from Python (5.4 ms).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import pyoxigraph as ox

from harvester.exceptions import QueryError, StoreError, StoreTimeoutError
from harvester.store.embedded import QueryResult, map_store_errors

from .negotiation import GRAPH_FORMATS, RESULT_FORMATS, Format

__all__ = ["Answer", "Failure", "Job", "QueryFunction", "run"]

log = logging.getLogger(__name__)

_FORMATS = {f"{f.kind.value}:{f.name}": f for f in (*RESULT_FORMATS, *GRAPH_FORMATS)}


@dataclass(frozen=True)
class Job:
    """A query to answer (plain data: it crosses to worker processes).

    :param results: ``(format key, media type)`` for a SELECT/ASK answer, None if not acceptable.
    :param graph: ``(format key, media type)`` for a CONSTRUCT/DESCRIBE answer, likewise.
    :param max_rows: the row (or triple) cap.
    """

    query: str
    default_graphs: tuple[str, ...] = ()
    named_graphs: tuple[str, ...] = ()
    results: tuple[str, str] | None = None
    graph: tuple[str, str] | None = None
    max_rows: int = 100_000


@dataclass(frozen=True)
class Answer:
    """A serialised answer; ``rows`` counts solutions or triples (1 for ASK)."""

    body: bytes
    media_type: str
    rows: int
    truncated: bool


@dataclass(frozen=True)
class Failure:
    """A query that could not be answered: the HTTP status and a message for the client."""

    status: int
    message: str


QueryFunction = Callable[[str, Sequence[str], Sequence[str]], QueryResult]


def format_key(fmt: Format) -> str:
    """The key that names ``fmt`` in a :class:`Job`."""
    return f"{fmt.kind.value}:{fmt.name}"


def run(query: QueryFunction, job: Job) -> Answer | Failure:
    """Evaluate and serialise ``job``; every error becomes a :class:`Failure` here, so that no
    exception (whose traceback would hold the pyoxigraph result) leaves the calling thread."""
    try:
        result = query(job.query, job.default_graphs, job.named_graphs)
        return _answer(result, job)
    except QueryError as exc:
        return Failure(400, str(exc))
    except StoreTimeoutError as exc:  # a remote store gave up, or we gave up waiting
        return Failure(503, str(exc))
    except StoreError as exc:
        # str(exc), not exc: a kept log record would hold its traceback, and so the result
        log.warning("query evaluation failed: %s", str(exc))
        return Failure(500, str(exc))


def _answer(result: QueryResult, job: Job) -> Answer | Failure:
    is_graph = isinstance(result, ox.QueryTriples)
    chosen = job.graph if is_graph else job.results
    if chosen is None:
        return _not_acceptable(GRAPH_FORMATS if is_graph else RESULT_FORMATS)
    fmt, media_type = _FORMATS[chosen[0]], chosen[1]
    try:
        with map_store_errors("query failed"):  # evaluation is lazy: errors surface here
            if isinstance(result, ox.QueryBoolean):
                return Answer(_serialize(result, fmt), media_type, 1, False)
            body, rows, truncated = _capped(result, fmt, job.max_rows)
    except QueryError as exc:
        # The query was parsed before: a syntax error here is in an answer the store read from
        # elsewhere (a remote store's, a SERVICE endpoint's), the store's failure (500), not
        # the client's (400).
        raise StoreError(f"the store's answer cannot be read: {exc}") from exc
    return Answer(body, media_type, rows, truncated)


def _not_acceptable(formats: Sequence[Format]) -> Failure:
    offered = ", ".join(dict.fromkeys(t for f in formats for t in f.media_types))
    return Failure(406, f"No acceptable format for this kind of answer; available: {offered}.")


def _serialize(result: QueryResult, fmt: Format) -> bytes:
    syntax = fmt.syntax
    if isinstance(result, ox.QueryTriples) and isinstance(syntax, ox.RdfFormat):
        return result.serialize(format=syntax) or b""
    if not isinstance(result, ox.QueryTriples) and isinstance(syntax, ox.QueryResultsFormat):
        return result.serialize(format=syntax) or b""
    raise ValueError(f"cannot write {type(result).__name__} as {fmt.name}")


class _CapReached(Exception):
    """Raised by :class:`_LineWriter` to stop pyoxigraph's serialiser (and the evaluation)."""


class _LineWriter:
    """A binary sink for pyoxigraph that counts lines and refuses more than ``limit``."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.parts: list[bytes] = []
        self.lines = 0
        self.full = False

    def write(self, data: Any) -> int:
        chunk = bytes(data)
        self.parts.append(chunk)
        self.lines += chunk.count(b"\n")
        if self.lines >= self.limit:
            self.full = True
            raise _CapReached
        return len(chunk)

    def flush(self) -> None:
        """Nothing is buffered here."""

    def kept(self, lines: int) -> bytes:
        """The first ``lines`` lines written."""
        data = b"".join(self.parts)
        end = -1
        for _ in range(lines):
            end = data.index(b"\n", end + 1)
        return data[: end + 1]


def _capped(
    result: ox.QuerySolutions | ox.QueryTriples, fmt: Format, cap: int
) -> tuple[bytes, int, bool]:
    """The answer cut at ``cap`` rows; see the module docstring."""
    is_graph = isinstance(result, ox.QueryTriples)
    header = 0 if is_graph else 1
    writer = _LineWriter(header + cap + 1)
    staging = ox.RdfFormat.N_TRIPLES if is_graph else ox.QueryResultsFormat.TSV
    try:
        result.serialize(writer, format=staging)  # type: ignore[arg-type]
    except (OSError, ValueError, RuntimeError, _CapReached):
        if not writer.full:
            raise
    rows = min(writer.lines - header, cap)
    data = writer.kept(header + rows)
    if fmt.syntax == staging:
        return data, rows, writer.full
    return _reserialize(data, staging, fmt), rows, writer.full


def _reserialize(data: bytes, staging: ox.RdfFormat | ox.QueryResultsFormat, fmt: Format) -> bytes:
    if isinstance(staging, ox.RdfFormat):
        assert isinstance(fmt.syntax, ox.RdfFormat)
        return ox.serialize(ox.parse(data, format=staging), format=fmt.syntax) or b""
    solutions = ox.parse_query_results(data, format=staging)
    assert isinstance(solutions, ox.QuerySolutions) and isinstance(
        fmt.syntax, ox.QueryResultsFormat
    )
    return solutions.serialize(format=fmt.syntax) or b""
