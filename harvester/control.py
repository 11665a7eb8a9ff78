"""Stopping a run from outside: a cancel flag and a deadline, checked at record and page
boundaries (the pipeline calls :meth:`RunControl.check`), never in the middle of a commit."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from .exceptions import RunCancelled

__all__ = ["RunControl"]


class RunControl:
    """The handle a scheduler keeps on one run.

    :param run_id: the id the run gets (so a caller can name it before it starts); None lets
        the harvester make one.
    :param max_seconds: the run is cancelled at the first check after this long; None: never.
    :param clock: monotonic seconds (injectable for tests).
    """

    def __init__(
        self,
        *,
        run_id: str | None = None,
        max_seconds: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.run_id = run_id
        self.max_seconds = max_seconds
        self._clock = clock
        self._deadline = None if max_seconds is None else clock() + max_seconds
        self._stop = threading.Event()
        self.reason = "cancelled"

    def arm(self, max_seconds: float | None) -> None:
        """Start the deadline now (for a run that waited in a queue before it started)."""
        self.max_seconds = max_seconds
        self._deadline = None if max_seconds is None else self._clock() + max_seconds

    def cancel(self, reason: str = "cancelled") -> None:
        """Ask the run to stop at its next boundary (``reason``: cancelled or interrupted)."""
        if not self._stop.is_set():
            self.reason = reason
            self._stop.set()

    @property
    def cancelled(self) -> bool:
        return self._stop.is_set()

    def check(self) -> None:
        """Return when the run may go on.

        :raises RunCancelled: when cancelled, or past the deadline.
        """
        if self._stop.is_set():
            raise RunCancelled(f"run {self.reason} at a record boundary", reason=self.reason)
        if self._deadline is not None and self._clock() > self._deadline:
            raise RunCancelled(
                f"run cancelled: still going after max_run_seconds={self.max_seconds:g}",
                reason="cancelled",
            )
