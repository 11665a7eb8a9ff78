"""The one exception tree of MEA Hub.

```
MeaHubError
├── ConfigError            bad or missing configuration (raised at start-up)
├── SourceError            a source could not be read (job-level: aborts that source's run)
│   ├── SourceHTTPError    non-transient HTTP status, or transient ones after all retries
│   ├── SourceFormatError  a response that is not the JSON/OData shape we can read
│   └── RunCancelled       the run was stopped (past max_run_seconds, or the server stopping)
├── RecordError            one record is malformed (record-level: reported, skipped, run goes on)
│   ├── MappingError       the record cannot be mapped (missing id, bad value)
│   └── ValidationError    the mapped record breaks the ontology's shapes
├── StoreError             the RDF store failed (wraps pyoxigraph's OSError/SyntaxError/ValueError)
│   ├── StoreLockedError   another process holds the store
│   │   └── LeaseHeldError another writer holds a remote store's writer lease
│   └── StoreTimeoutError  a remote store did not answer in time
├── QueryError             a SPARQL query is malformed or not allowed
│   └── SearchSyntaxError  a full-text search query is malformed (carries the position)
├── SearchUnavailableError the full-text index cannot answer (missing, outdated: `meahub reindex`)
├── HarvestBusyError       a run of that source is already going (one run per source at a time)
└── AdminRequestError      the running server could not be asked (unreachable, refused)
```

Errors carry context attributes (``source``, ``record_id``, ``url``, ``stage``) so that reports
can say where a problem came from without parsing messages.
"""

from __future__ import annotations

__all__ = [
    "AdminRequestError",
    "ConfigError",
    "HarvestBusyError",
    "LeaseHeldError",
    "MappingError",
    "MeaHubError",
    "QueryError",
    "RecordError",
    "RunCancelled",
    "SearchSyntaxError",
    "SearchUnavailableError",
    "SourceError",
    "SourceFormatError",
    "SourceHTTPError",
    "StoreError",
    "StoreLockedError",
    "StoreTimeoutError",
    "ValidationError",
]


class MeaHubError(Exception):
    """Root of every error MEA Hub raises on purpose."""


class ConfigError(MeaHubError):
    """The configuration is missing, malformed or inconsistent."""


class SourceError(MeaHubError):
    """A source could not be harvested (listing failed, unreachable, unreadable).

    :param source: the configured source name, when known.
    :param url: the URL whose fetch failed, when known.
    """

    def __init__(self, message: str, *, source: str | None = None, url: str | None = None):
        super().__init__(message)
        self.source = source
        self.url = url


class SourceHTTPError(SourceError):
    """An HTTP failure that retries did not cure; ``status`` is None for network errors."""

    def __init__(
        self,
        message: str,
        *,
        source: str | None = None,
        url: str | None = None,
        status: int | None = None,
    ):
        super().__init__(message, source=source, url=url)
        self.status = status


class SourceFormatError(SourceError):
    """A response whose body is not a shape we can read (not JSON, no ``d`` envelope...)."""


class RunCancelled(SourceError):
    """A run stopped at a record or page boundary before its commit; nothing of it was written.

    :param reason: ``"cancelled"`` (it ran past ``max_run_seconds``, or was cancelled) or
        ``"interrupted"`` (the server is shutting down).
    """

    def __init__(self, message: str, *, reason: str, source: str | None = None):
        super().__init__(message, source=source)
        self.reason = reason


class RecordError(MeaHubError):
    """One record cannot be loaded; the run reports it and goes on.

    :param record_id: the source's own id of the record, when it has one.
    :param stage: ``"normalize"``, ``"map"`` or ``"validate"``.
    """

    stage = "record"

    def __init__(self, message: str, *, record_id: str | None = None, url: str | None = None):
        super().__init__(message)
        self.record_id = record_id
        self.url = url


class MappingError(RecordError):
    """The record lacks what its mapping needs, or holds a value of the wrong kind."""

    stage = "map"


class ValidationError(RecordError):
    """The mapped record breaks a shape of ``ontology/shapes.ttl``."""

    stage = "validate"


class StoreError(MeaHubError):
    """The RDF store failed: could not open, read, write or parse."""


class StoreLockedError(StoreError):
    """Another process holds the embedded store (for example a running ``meahub serve``)."""


class LeaseHeldError(StoreLockedError):
    """Another writer holds the writer lease of a remote store (see :mod:`harvester.store.lease`).

    :param holder: the id of the writer holding it (host, process, random part).
    :param expires: when its lease runs out unless renewed (ISO 8601, UTC).
    """

    def __init__(self, message: str, *, holder: str, expires: str) -> None:
        super().__init__(message)
        self.holder = holder
        self.expires = expires


class StoreTimeoutError(StoreError):
    """A remote store did not answer within the timeout (the request was abandoned)."""


class QueryError(MeaHubError):
    """A SPARQL query is malformed, or is an operation the caller may not run."""


class SearchSyntaxError(QueryError):
    """A full-text search query is malformed (an unbalanced quote or parenthesis, a dangling
    ``OR``, too long).

    :param position: the offset (in characters, from 0) in the search text where it went wrong.
    """

    def __init__(self, message: str, position: int) -> None:
        super().__init__(message)
        self.message = message
        self.position = position


class SearchUnavailableError(MeaHubError):
    """The full-text index cannot answer: it is missing, from an older version, behind the
    store (written by a program that did not keep it), or the store is remote."""


class HarvestBusyError(MeaHubError):
    """A run of that source is queued or running; runs of one source never overlap.

    :param run_id: the id of that run, when known.
    """

    def __init__(self, message: str, *, run_id: str | None = None):
        super().__init__(message)
        self.run_id = run_id


class AdminRequestError(MeaHubError):
    """The running ``meahub serve`` could not be asked to harvest (unreachable, refused)."""
