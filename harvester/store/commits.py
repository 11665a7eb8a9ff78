"""The commits of one command, landing in order in the background (issue 14).

Inside :meth:`MeaStore.pipelined <harvester.store.embedded.MeaStore.pipelined>` a run's commit
does not make the harvest wait: its last batches are written, its generation sealed and
published on the run's writer thread while the next run fetches. What keeps this as safe as one
commit after another is the order: each :class:`Commit` has the one begun before it as its
``previous``, and

- a commit stages (copies the store) only once ``previous`` is *sealed* (its content final), so
  it holds every change before it;
- it publishes only once ``previous`` has *landed* (published, or given up), so generations go
  live in the order the runs committed;
- a commit that failed fails every commit after it (their stages may hold its changes), while a
  run given up (:meth:`Commit.skip`) passes its place on unchanged.

What a run does once its commit has landed (its ledger, watermarks, run status: state kept in
SQLite by the harvesting thread) is registered with :meth:`CommitChain.then` and run by that
thread, in order, at :meth:`CommitChain.run_landed` and at the end (:meth:`CommitChain.drain`).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from ..exceptions import StoreError

__all__ = ["Commit", "CommitChain", "Landed"]

log = logging.getLogger(__name__)

#: What runs once a commit has landed, in the harvesting thread: given the commit's error
#: (None when it was published).
Landed = Callable[[BaseException | None], None]


class Commit:
    """One commit's place in a :class:`CommitChain`."""

    def __init__(self, previous: Commit | None) -> None:
        self.previous = previous
        self.error: BaseException | None = None
        self._sealed = threading.Event()
        self._landed = threading.Event()

    @property
    def landed(self) -> bool:
        return self._landed.is_set()

    def after_previous_sealed(self) -> None:
        """Wait until the commit before is sealed; :raises StoreError: when it failed."""
        if self.previous is not None:
            self.previous._sealed.wait()
            self.previous._raise_for_successor()

    def after_previous_landed(self) -> None:
        """Wait until the commit before has landed; :raises StoreError: when it failed."""
        if self.previous is not None:
            self.previous._landed.wait()
            self.previous._raise_for_successor()

    def sealed(self) -> None:
        """This commit's content is final: the next one may copy it."""
        self._sealed.set()

    def land(self) -> None:
        """Published (call only after :meth:`after_previous_landed`)."""
        self._sealed.set()
        self._landed.set()
        self.previous = None  # the chain behind a landed commit is no longer needed

    def fail(self, error: BaseException) -> None:
        """This commit failed: so does every commit after it."""
        self.error = error
        self._sealed.set()
        self._landed.set()

    def skip(self) -> None:
        """The run was given up and commits nothing: its place passes to the next commit as
        the one before left it (an error before it is passed on)."""
        try:
            self.after_previous_sealed()
            self._sealed.set()
            self.after_previous_landed()
        except StoreError as exc:
            self.fail(exc)
            return
        self.land()

    def wait(self) -> None:
        """Wait until this commit has landed; :raises StoreError: when it failed."""
        self._landed.wait()
        if self.error is not None:
            raise _as_store_error(self.error)

    def _raise_for_successor(self) -> None:
        if self.error is not None:
            raise StoreError(f"an earlier commit of this command failed: {self.error}")


class CommitChain:
    """The commits of one command, begun in order (see the module's docstring)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._last: Commit | None = None
        self._pending: list[tuple[Commit, Landed]] = []
        self._raised: Exception | None = None  # the first error of what ran after a commit

    def begin(self) -> Commit:
        """The next commit, after every commit begun before it."""
        with self._lock:
            commit = self._last = Commit(self._last)
        return commit

    def then(self, commit: Commit, landed: Landed) -> None:
        """Run ``landed`` in the calling thread once ``commit`` has landed (at
        :meth:`run_landed` or :meth:`drain`), after those registered before it."""
        self._pending.append((commit, landed))

    def run_landed(self) -> None:
        """Run what waits on commits that have landed, in order, up to the first that has not.
        An error there is logged and raised by :meth:`drain`: the runs still going are not
        disturbed by it."""
        while self._pending and self._pending[0][0].landed:
            commit, landed = self._pending.pop(0)
            try:
                landed(commit.error)
            except Exception as exc:
                log.exception("after a commit: %s", exc)
                self._raised = self._raised or exc

    def wait_all(self) -> None:
        """Wait until every commit begun so far has landed (failed ones included)."""
        with self._lock:
            last = self._last
        if last is not None:
            last._landed.wait()

    def drain(self) -> None:
        """Wait for every registered commit and run what waits on each, in order; then
        :raises StoreError: the first commit's error, if one failed."""
        failed: BaseException | None = None
        raised: BaseException | None = self._raised
        while self._pending:
            commit, landed = self._pending.pop(0)
            commit._landed.wait()
            failed = failed or commit.error
            try:
                landed(commit.error)
            except Exception as exc:  # the others still get their turn
                log.exception("after a commit: %s", exc)
                raised = raised or exc
        self.wait_all()
        with self._lock:
            last = self._last
        failed = failed or (last.error if last is not None else None)  # it fails after a failure
        if failed is not None:
            raise _as_store_error(failed)
        if raised is not None:
            raise raised


def _as_store_error(error: BaseException) -> BaseException:
    return error if isinstance(error, StoreError) else StoreError(str(error))
