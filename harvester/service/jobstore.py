"""The scheduler's persistent job store, and the jobs it holds from before a module moved.

APScheduler keeps a job's function as an import path (``module:function``) in the pickled job
state. A job whose function it cannot import is dropped: it logs "Unable to restore job" and
deletes the row. Before ``harvester/`` was grouped into subpackages (issue 13) the job function
was ``run_job`` of the top-level ``scheduler`` module; :class:`JobStore` rewrites such paths when
it starts, before anything loads a job, so a job store written before the move keeps its jobs,
their next run times and their pending retries.
"""

from __future__ import annotations

import logging
import pickle
from typing import Any

from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from sqlalchemy import select, update

__all__ = ["MOVED_MODULES", "JobStore", "migrate_functions"]

log = logging.getLogger(__name__)

#: modules of job functions as older job stores name them -> where those functions are now
MOVED_MODULES = {"harvester.scheduler": "harvester.service.scheduler"}  # relayout: keep


class JobStore(SQLAlchemyJobStore):  # type: ignore[misc]  # APScheduler 3.x has no types
    """APScheduler's SQLAlchemy job store that moves stored jobs to their functions' current
    import paths on start (see :data:`MOVED_MODULES`)."""

    def start(self, scheduler: Any, alias: str) -> None:
        super().start(scheduler, alias)  # creates the table when it is missing
        moved = migrate_functions(self)
        if moved:
            log.info("job store: %d job(s) moved to their function's current import path", moved)


def migrate_functions(store: Any) -> int:
    """Rewrite the function path of every stored job whose module moved; returns how many.

    A row that cannot be read is left as it is (and logged): APScheduler reports and drops it.
    """
    table = store.jobs_t
    moved = 0
    with store.engine.begin() as connection:
        for job_id, blob in connection.execute(select(table.c.id, table.c.job_state)).all():
            state = _state(job_id, blob)
            new = _moved(state.get("func")) if state is not None else None
            if state is None or new is None:
                continue
            state["func"] = new
            blob = pickle.dumps(state, store.pickle_protocol)
            connection.execute(update(table).where(table.c.id == job_id).values(job_state=blob))
            moved += 1
    return moved


def _state(job_id: str, blob: bytes) -> dict[str, Any] | None:
    try:
        state = pickle.loads(blob)  # the scheduler's own rows; APScheduler unpickles them too
    except Exception as exc:
        log.warning("job store: cannot read job %s (%s); left as it is", job_id, exc)
        return None
    return state if isinstance(state, dict) else None


def _moved(func: Any) -> str | None:
    """The current path of a ``module:function`` reference whose module moved, else None."""
    if not isinstance(func, str):
        return None
    module, _, name = func.partition(":")
    new = MOVED_MODULES.get(module)
    return f"{new}:{name}" if new and name else None
