"""The writer lease of a remote store: exactly one harvest (or linking) writer at a time across
every ``meahub`` process that shares the store.

The lease is two triples in the graph :data:`LEASE_GRAPH` of the store itself: who holds it and
until when. It is taken by one SPARQL Update request that removes the lease when it has run out or
is already ours, then inserts ours when no lease is left (``DELETE ... WHERE { ... FILTER }``;
``INSERT ... WHERE { { SELECT (COUNT ...) } FILTER (?n = 0) }``: one transaction on engines that
run a request in one), then read back: whoever is named there holds it. The holder renews it
every third of its duration while the run lasts, and deletes it at the end; a holder that dies
leaves a lease that anyone may take over once it has expired. Expiry times are written and
compared in UTC by the writers' clocks: keep them in sync (NTP), and keep ``lease_seconds`` well
above the clock skew.

The embedded store needs none of this: its advisory file lock already admits one process.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from datetime import UTC, datetime, timedelta
from typing import Protocol

import pyoxigraph as ox

from ..exceptions import LeaseHeldError, StoreError
from ..vocab import MEA, XSD
from .embedded import QueryResult

__all__ = ["LEASE_GRAPH", "WriterLease", "new_holder_id"]

log = logging.getLogger(__name__)

LEASE_GRAPH = "https://w3id.org/mea/graph/lease"
_G = f"<{LEASE_GRAPH}>"
_HOLDER = f"<{MEA}leaseHolder>"
_EXPIRES = f"<{MEA}leaseExpires>"

# Two operations, one request: drop our own or an expired lease, then insert ours if none is
# left. (Written so that Virtuoso 7.2 evaluates it too: it mishandles OPTIONAL and NOT EXISTS
# in an update's WHERE clause, but not a COUNT subquery.)
_TAKE = f"""DELETE {{ GRAPH {_G} {{ {_G} ?p ?o }} }}
WHERE {{ GRAPH {_G} {{ {_G} {_HOLDER} ?h ; {_EXPIRES} ?e ; ?p ?o }}
  FILTER (?h = %(me)s || ?e < %(now)s) }} ;
INSERT {{ GRAPH {_G} {{ {_G} {_HOLDER} %(me)s ; {_EXPIRES} %(until)s }} }}
WHERE {{ {{ SELECT (COUNT(?x) AS ?n) WHERE {{ GRAPH {_G} {{ {_G} {_HOLDER} ?x }} }} }}
  FILTER (?n = 0) }}"""
_RELEASE = f"""DELETE {{ GRAPH {_G} {{ {_G} ?p ?o }} }}
WHERE {{ GRAPH {_G} {{ {_G} {_HOLDER} %(me)s ; ?p ?o }} }}"""
_READ = f"SELECT ?h ?e WHERE {{ GRAPH {_G} {{ {_G} {_HOLDER} ?h ; {_EXPIRES} ?e }} }}"


class LeaseStore(Protocol):
    """What a lease needs of its store: run an update, run a query."""

    def update(self, sparql: str, action: str) -> None: ...

    def query(self, sparql: str) -> QueryResult: ...


def new_holder_id() -> str:
    """Names this writer in the lease: host, process id and a random part."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class WriterLease:
    """One writer's lease on ``store``: :meth:`acquire`, then :meth:`release` at the end.

    :param seconds: how long the lease lasts unless renewed.
    """

    def __init__(self, store: LeaseStore, *, holder: str, seconds: float) -> None:
        self.store = store
        self.holder = holder
        self.seconds = seconds
        self.expires = datetime.min.replace(tzinfo=UTC)
        self.lost: str | None = None
        self._stop = threading.Event()
        self._renewer: threading.Thread | None = None

    def acquire(self) -> None:
        """Take the lease and start renewing it.

        :raises LeaseHeldError: when another writer holds an unexpired lease.
        :raises StoreError: when the store cannot be asked.
        """
        self._take()
        self._renewer = threading.Thread(target=self._renew_loop, name="meahub-lease", daemon=True)
        self._renewer.start()
        log.info("writer lease taken by %s until %s", self.holder, _iso(self.expires))

    def release(self) -> None:
        """Stop renewing and give the lease up (a failure is logged: it expires anyway)."""
        self.stop_renewing()
        try:
            self.store.update(_RELEASE % {"me": _literal(self.holder)}, "cannot release the lease")
        except StoreError as exc:
            log.warning("could not release the writer lease (it expires by itself): %s", exc)

    def stop_renewing(self) -> None:
        self._stop.set()
        if self._renewer is not None:
            self._renewer.join()
            self._renewer = None

    def check(self) -> None:
        """Raise when the lease has been lost: a writer must not go on writing then.

        :raises LeaseHeldError: when the lease expired or another writer took it over.
        """
        if self.lost is None and datetime.now(UTC) >= self.expires:
            self.lost = f"it expired at {_iso(self.expires)} without being renewed"
        if self.lost is not None:
            raise LeaseHeldError(
                f"the writer lease of {self.holder} was lost ({self.lost}); the run stops",
                holder=self.holder,
                expires=_iso(self.expires),
            )

    def _take(self) -> None:
        now = datetime.now(UTC)
        until = now + timedelta(seconds=self.seconds)
        values = {"me": _literal(self.holder), "until": _stamp(until), "now": _stamp(now)}
        self.store.update(_TAKE % values, "cannot take the writer lease")
        holder, expires = self._read()
        if holder != self.holder:
            raise LeaseHeldError(
                f"another writer holds the lease until {expires} (holder {holder}); "
                "try again after that",
                holder=holder,
                expires=expires,
            )
        self.expires = until

    def _read(self) -> tuple[str, str]:
        rows = self.store.query(_READ)
        assert isinstance(rows, ox.QuerySolutions)
        found = [(str(row[0].value), str(row[1].value)) for row in rows]
        if not found:
            raise StoreError("the writer lease could not be read back after taking it")
        return min(found)  # one row, unless the engine broke the update's atomicity

    def _renew_loop(self) -> None:
        while not self._stop.wait(self.seconds / 3):
            try:
                self._take()
            except LeaseHeldError as exc:
                self.lost = str(exc)
                log.error("writer lease lost: %s", exc)
                return
            except StoreError as exc:
                log.warning("could not renew the writer lease (will retry): %s", exc)


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _stamp(moment: datetime) -> str:
    return str(ox.Literal(_iso(moment), datatype=ox.NamedNode(XSD + "dateTime")))


def _literal(text: str) -> str:
    return str(ox.Literal(text))
