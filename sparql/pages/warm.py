"""Warming the pages' per-generation data before anyone asks (issue 16).

The gap matrix and the Aichi target pages read data computed over every decision (about 1.3 s at
2,000 decisions); it is kept per store generation (:class:`sparql.pages.reading.GenerationCache`),
so without warming the first reader after each harvest pays for it. :class:`Warmer` is a thread
of the server that notices a new store version (it reads the version every ``interval`` seconds:
an attribute of the embedded store; a remote store's is a query it caches for a second) and
computes that data at once, so it is there before the first request.

It never blocks a request: it runs at a lower CPU priority (a Linux thread has a niceness of its
own), gives up the interpreter between items, and goes through the same single-flight cache as
the requests, so a request arriving mid-warm waits for that computation instead of repeating it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable

from harvester.exceptions import MeaHubError
from harvester.priority import nice_thread

__all__ = ["WARM_INTERVAL", "WARM_NICENESS", "Warmer"]

log = logging.getLogger(__name__)

#: seconds between two looks at the store's version
WARM_INTERVAL = 0.5
#: added to the warming thread's niceness (requests and query workers go first)
WARM_NICENESS = 10

Step = Callable[[], object]


class Warmer:
    """A daemon thread running ``steps()`` (each step computes one cached item) whenever
    ``version()`` changes, and once at start.

    :param version: the store's version tag (:meth:`sparql.caching.StoreVersion.current`).
    :param steps: the items to compute for the current version, in order.
    """

    def __init__(
        self,
        version: Callable[[], str],
        steps: Callable[[], Iterable[Step]],
        *,
        interval: float = WARM_INTERVAL,
        niceness: int = WARM_NICENESS,
    ) -> None:
        self.version = version
        self.steps = steps
        self.interval = interval
        self.niceness = niceness
        self.warmed = ""  # the version tag last warmed completely
        self.rounds = 0
        self._tried = ""  # the version tag last tried (a failed one is not tried again)
        self._stop = threading.Event()
        self._changed = threading.Condition()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start the thread (once)."""
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="pages-warmer", daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the thread after the item it is computing."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def wait_warmed(self, tag: str, timeout: float) -> bool:
        """Wait until version ``tag`` has been warmed; False after ``timeout`` seconds."""
        with self._changed:
            return self._changed.wait_for(lambda: self.warmed == tag, timeout)

    def _run(self) -> None:
        nice_thread(self.niceness, added=True)
        while not self._stop.is_set():
            try:
                tag = self.version()
            except MeaHubError as exc:  # a remote store not answering: look again later
                log.debug("warmer: no store version: %s", exc)
                tag = self._tried
            if tag != self._tried:
                self._tried = tag
                if self.warm(tag):
                    self._done(tag)
            self._stop.wait(self.interval)

    def _done(self, tag: str) -> None:
        with self._changed:
            self.warmed, self.rounds = tag, self.rounds + 1
            self._changed.notify_all()

    def warm(self, tag: str) -> bool:
        """Compute every item for version ``tag``; False when stopped, when the version changed
        meanwhile (the next look warms the new one) or when a step failed (not tried again at
        this version: the requests compute what is missing)."""
        started = time.perf_counter()
        try:
            for step in self.steps():  # a generator: what it reads is inside the try too
                if self._stop.is_set() or self.version() != tag:
                    return False
                step()
                time.sleep(0)  # let a request's thread have the interpreter
        except MeaHubError as exc:  # a store error: the requests will see it too
            log.warning("warming the pages failed: %s", exc)
            return False
        except Exception:  # a bug must not end the thread: the requests still compute
            log.exception("warming the pages failed")
            return False
        log.info("pages warmed in %.2f s", time.perf_counter() - started)
        return True
