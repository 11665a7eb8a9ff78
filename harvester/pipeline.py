"""One harvest run of one source: list -> keep raw -> map -> validate -> compare -> commit.

Changes are gathered in a :class:`ChangeSet` and committed in one store transaction at the end, so
a source that fails mid-run leaves the store with its previous complete state. Malformed records
are reported and skipped; their neighbours load. Unchanged records (same payload hash, same
mappings) are not written at all.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

from .control import RunControl
from .exceptions import (
    RunCancelled,
    SourceError,
    SourceHTTPError,
    StoreError,
)
from .history import RunDescription, RunHistory
from .mapping import values
from .mapping.engine import MappingContext, MappingRegistry, RecordMapping, encode_segment
from .mapping.enrich import ENRICH_VERSION, Enricher, inferred_graph
from .mapping.transform import Job, Transformed, Transformer, TransformPool
from .mapping.validate import ShapeChecker
from .models import (
    RecordFailure,
    RecordOutcome,
    RunStatus,
    SourceReport,
    WithheldDeletions,
    WithheldReason,
)
from .raw import RawArchive
from .settings import SourceConfig
from .sources import Listing, RawRecord, RowCheck, Source
from .state import HarvestState, KnownRecord, RunLedger
from .store.api import StoreBackend
from .store.writer import DEFAULT_BATCH_QUADS, ChangeWriter

__all__ = ["Harvester", "ProgressCallback"]

log = logging.getLogger(__name__)

ProgressCallback = Callable[[str, RecordOutcome], None]

#: First-page statuses that mean "this provider has no such entity set".
_NOT_SERVED = frozenset({400, 404, 405, 501})

#: Records per transform batch; a batch this full goes to a worker process when there are any.
_TRANSFORM_BATCH = 200


@dataclass
class _Run:
    """The working state of one run (not shared between runs)."""

    config: SourceConfig
    report: SourceReport
    ctx: MappingContext
    ledger: RunLedger
    full: bool
    writer: ChangeWriter
    control: RunControl = field(default_factory=RunControl)
    force: bool = False
    deletes: list[KnownRecord] = field(default_factory=list)
    complete: list[str] = field(default_factory=list)
    full_listed: set[str] = field(default_factory=set)
    #: entity sets whose listing was served (its first page came), and those refused, with why
    served: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    batch: list[Job] = field(default_factory=list)
    in_flight: deque[tuple[Future[list[Transformed]], list[_Pending]]] = field(
        default_factory=deque
    )
    pool: TransformPool | None = None
    #: the commit lands in the background (a command's chain of commits): the run's
    #: bookkeeping waits for it (:meth:`Harvester._landed`)
    deferred: bool = False
    #: listing-row fingerprints of rows checked and found changed, until their record is
    #: queued (:meth:`Harvester._row_check`; bounded by a page of rows)
    row_hashes: dict[tuple[str, str], str] = field(default_factory=dict)


@dataclass(frozen=True)
class _Pending:
    """A record waiting for its transform: the job, and what the store had."""

    job: Job
    previous: KnownRecord | None


class Harvester:
    """Runs sources into the store.

    :param registry: the mappings of the source kind (``MappingRegistry.load``).
    :param checker: the runtime shape checker compiled from ``ontology/shapes.ttl``.
    :param max_delete_share: the mass-deletion guard: the largest share of a source's records one
        run may delete without ``full`` or ``allow_mass_delete``.
    :param flag_after_withheld_runs: a source whose runs withhold deletions this many times in
        a row is flagged (unless its ``SourceConfig`` says otherwise).
    """

    def __init__(
        self,
        *,
        store: StoreBackend,
        state: HarvestState,
        raw: RawArchive,
        registry: MappingRegistry,
        checker: ShapeChecker,
        base_iri: str,
        max_delete_share: float = 0.2,
        progress: ProgressCallback | None = None,
        batch_quads: int = DEFAULT_BATCH_QUADS,
        enricher: Enricher | None = None,
        history_runs: int = 50,
        transform_workers: int = 0,
        flag_after_withheld_runs: int = 3,
    ) -> None:
        self.store = store
        self.state = state
        self.raw = raw
        self.registry = registry
        self.checker = checker
        self.base_iri = base_iri
        self.max_delete_share = max_delete_share
        self.progress = progress
        self.batch_quads = batch_quads
        self.enricher = enricher or Enricher(None, 1.0)
        self.history = RunHistory(store, base_iri, keep=history_runs)
        self.transform_workers = transform_workers
        self.flag_after_withheld_runs = flag_after_withheld_runs

    @property
    def transformer(self) -> Transformer:
        """The in-process transform over the current registry (tests may swap it)."""
        return Transformer(self.registry, self.checker, self.enricher)

    # -- a harvest run -----------------------------------------------------------------------

    def harvest(
        self,
        config: SourceConfig,
        source: Source,
        *,
        full: bool = False,
        allow_mass_delete: bool = False,
        control: RunControl | None = None,
    ) -> SourceReport:
        """Harvest one source once; never raises for source or record problems (see the report).

        :param control: checked at every record and page boundary: a cancelled run (or one past
            its deadline) stops there, commits nothing and is reported cancelled or interrupted.
        :raises StoreError: only when the store itself fails.
        """
        run = self._start(config, full, control)
        check = run.control.check
        source.fetcher.before_request = check
        try:
            for entity in config.entities or self.registry.entity_sets():
                self._harvest_entity(run, source, entity)
            # once, at the end: an entity set's last records join the next one's in full
            # batches for the workers, and are transformed while the next set is fetched
            self._drain(run)
            self._require_listing(run)
            self._find_deletions(run)
            self._guard_deletions(run, full or allow_mass_delete)
            self._commit(run)
        except SourceError as exc:
            self._abort(run, exc)
        except BaseException:
            run.writer.abort()
            raise
        finally:
            self._close_pool(run)
            run.report.requests = source.fetcher.requests
            if not run.deferred:
                self._finish(run)
        return run.report

    def _start(self, config: SourceConfig, full: bool, control: RunControl | None = None) -> _Run:
        started = datetime.now(UTC)
        control = control or RunControl()
        run_id = control.run_id or f"{config.name}-{started.strftime('%Y%m%dT%H%M%S%fZ')}"
        self.state.start_run(run_id, config.name, started)
        report = SourceReport(source=config.name, run_id=run_id, started=started)
        run_iri = f"{self.base_iri}run/{encode_segment(run_id)}"
        ctx = MappingContext(base_iri=self.base_iri, source=config.name, run_iri=run_iri)
        writer = ChangeWriter(self.store, batch_quads=self.batch_quads)
        ledger = self.state.ledger(config.name)
        return _Run(config, report, ctx, ledger, full, writer, control=control)

    def _harvest_entity(self, run: _Run, source: Source, entity: str) -> None:
        mapping = self.registry.get(entity)
        if mapping is None:
            message = f"{entity}: no mapping for this entity set; skipped"
            run.report.notes.append(message)
            run.refused.append(f"{entity}: no mapping for {run.config.kind}")
            self._withhold_unlisted(run, entity, WithheldReason.NO_MAPPING, message)
            return
        listing = Listing(entity)
        since = self._since(run, mapping, entity)
        unchanged = self._row_check(run, mapping, entity)
        try:
            for raw in source.records(
                entity, listing, navigations=mapping.navigations, since=since, unchanged=unchanged
            ):
                self._process(run, mapping, raw)
        except SourceHTTPError as exc:
            if not self._not_served(run, entity, listing, exc):
                raise
            return
        run.served.append(entity)
        run.report.notes.extend(listing.notes)
        if not listing.complete:
            reason, message = listing.doubt or (
                WithheldReason.INCOMPLETE_LISTING,
                f"{entity}: listing incomplete; deletions withheld",
            )
            self._withhold_unlisted(run, entity, reason, message, counted=since is None)
            return
        if since is None:
            run.full_listed.add(entity)
        else:
            self._probe_unseen(run, source, entity)
        run.complete.append(entity)

    def _since(self, run: _Run, mapping: RecordMapping, entity: str) -> datetime | None:
        if run.full or run.config.mode != "incremental" or not mapping.has_updated:
            return None
        mark = self.state.watermark(run.config.name, entity)
        return None if mark is None else mark - timedelta(seconds=run.config.overlap)

    def _not_served(self, run: _Run, entity: str, listing: Listing, exc: SourceHTTPError) -> bool:
        """A provider that lacks an entity set refuses its first page (404, or 400/405/501 from
        toolkits that do not know the name): not a failure unless the operator asked for that
        entity set by name. Nothing of it is deleted (its listing is not complete)."""
        if exc.status not in _NOT_SERVED or listing.pages > 0 or entity in run.config.entities:
            return False
        message = f"{entity}: not served by this source ({exc.status}); skipped"
        run.report.notes.append(message)
        run.refused.append(f"{entity}: HTTP {exc.status} at {exc.url}")
        self._withhold_unlisted(run, entity, WithheldReason.NOT_SERVED, message)
        return True

    def _require_listing(self, run: _Run) -> None:
        """A source of which not one entity set could be listed is misconfigured (a wrong URL,
        or a kind that does not fit it), not an empty source: the run fails, naming what was
        tried. An entity set served empty (200, no rows) counts as listed.

        :raises SourceError: when nothing was served.
        """
        if run.served:
            return
        tried = "; ".join(run.refused) or "no entity set to list"
        raise SourceError(
            f"nothing could be listed from this source ({tried}); check its url and kind",
            source=run.config.name,
        )

    def _row_check(self, run: _Run, mapping: RecordMapping, entity: str) -> RowCheck | None:
        """Rows whose provider states when they last changed (the mapping's ``dcterms:modified``
        field) and that are exactly as the store took them last time (same fingerprint: the
        row, the mappings, the base IRI) are unchanged: their details (navigations, trees) are
        not fetched again, and they are not transformed again. Not for ``--full`` runs and
        remaps (which read everything), nor for rows without a change marker."""
        markers = mapping.modified_fields
        if run.full or run.force or not markers:
            return None
        salt = _row_salt(mapping, self.base_iri)
        kept: dict[str, str] | None = None  # the ledger's fingerprints, read at the first row

        def unchanged(row: RawRecord) -> bool:
            nonlocal kept
            assert row.record_id is not None
            if not isinstance(row.payload, dict) or not any(
                values.lookup(row.payload, name) for name in markers
            ):
                return False
            fingerprint = row_fingerprint(salt, row.payload)
            if kept is None:
                kept = run.ledger.row_hashes(entity)
            if kept.get(row.record_id) == fingerprint:
                return True
            run.row_hashes[(entity, row.record_id)] = fingerprint
            return False

        return unchanged

    # -- one record --------------------------------------------------------------------------

    def _process(
        self, run: _Run, mapping: RecordMapping, raw: RawRecord, *, keep_raw: bool = True
    ) -> None:
        """Queue one record for its transform, which also hashes it (same hash as the store
        has: unchanged) and encodes it for the raw archive, on a worker for large runs."""
        run.control.check()
        row_hash = (
            None if raw.record_id is None else run.row_hashes.pop((raw.entity, raw.record_id), None)
        )
        if raw.problem or raw.record_id is None:
            self._unreadable(run, raw, keep_raw)
            return
        run.ledger.see(raw.entity, raw.record_id)
        if raw.unchanged:  # its listing row is as the store took it (see _row_check)
            self._outcome(run, raw.entity, RecordOutcome.UNCHANGED)
            return
        job = Job(
            raw.entity,
            raw.record_id,
            raw.payload,
            raw.url,
            salt=mapping.digest + self.base_iri + ENRICH_VERSION,
            keep_raw=keep_raw,
            row_hash=row_hash,
        )
        run.batch.append(job)
        if len(run.batch) >= _TRANSFORM_BATCH:
            self._dispatch(run)

    def _unreadable(self, run: _Run, raw: RawRecord, keep_raw: bool) -> None:
        """A listed record that cannot be read is reported and skipped. Without an id its
        payload is kept by content hash; with one it was listed, so it is seen (not deleted):
        the store and the raw archive keep its last good version."""
        message = raw.problem or f"{raw.entity} record has no id"
        if raw.record_id is not None:
            run.ledger.see(raw.entity, raw.record_id)
            message += " (the stored version, if any, is kept)"
        elif keep_raw:
            key = self.raw.put(run.config.name, raw.entity, None, raw.url, raw.payload)
            message += f" (raw payload kept as {key})"
        self._failed(run, raw, "read", message)

    def _pending(self, run: _Run, jobs: list[Job]) -> list[_Pending]:
        """The jobs with what the store has for each (looked up for the whole batch at once):
        its hash, unless the run is forced, lets the transform tell an unchanged record."""
        known: dict[tuple[str, str], KnownRecord] = {}
        for entity in {job.entity for job in jobs}:
            ids = [job.record_id for job in jobs if job.entity == entity]
            known.update(((entity, k), v) for k, v in run.ledger.known_many(entity, ids).items())
        pending = []
        for job in jobs:
            previous = known.get((job.entity, job.record_id))
            if previous is not None and not run.force:
                job = replace(job, previous=previous.hash)
            pending.append(_Pending(job, previous))
        return pending

    # -- transforms (in this process, or in worker processes for large runs) -----------------

    def _dispatch(self, run: _Run) -> None:
        """Send the batch to a worker (large runs), or transform it here (small ones)."""
        jobs, run.batch = run.batch, []
        if not jobs:
            return
        batch = self._pending(run, jobs)
        if self.transform_workers and len(batch) >= _TRANSFORM_BATCH:
            run.pool = run.pool or TransformPool(
                self.registry.kind,
                linking=self.enricher.linker is not None,
                threshold=self.enricher.threshold,
                workers=self.transform_workers,
            )
            run.in_flight.append((run.pool.submit([p.job for p in batch], run.ctx), batch))
            # A worker has a batch queued behind the one it transforms, no more: results wait
            # here, unpickled, while the writer catches up. Twice that held 138 MB of them at
            # the e2e bench's full scale (peak RSS 738-803 MB, 1.25-1.42x its quarter scale's),
            # this 699 MB and 1.22x, at the same speed (62.9 s against 64.4-65.1 s).
            while len(run.in_flight) > self.transform_workers:
                self._collect(run)
            return
        results = self.transformer.batch([p.job for p in batch], run.ctx)
        self._apply_results(run, batch, results)

    def _collect(self, run: _Run) -> None:
        future, batch = run.in_flight.popleft()
        self._apply_results(run, batch, future.result())

    def _drain(self, run: _Run) -> None:
        """Every queued record transformed and handed to the writer."""
        self._dispatch(run)
        while run.in_flight:
            self._collect(run)

    def _apply_results(self, run: _Run, batch: list[_Pending], results: list[Transformed]) -> None:
        for pending, result in zip(batch, results, strict=True):
            run.control.check()
            self._apply_result(run, pending, result)

    def _apply_result(self, run: _Run, pending: _Pending, result: Transformed) -> None:
        job = pending.job
        if result.archived is not None:
            archive = (run.config.name, job.entity, job.record_id, job.url)
            self.raw.put_archived(*archive, result.archived)
        if result.error is not None:
            raw = RawRecord(job.entity, job.record_id, job.payload, job.url)
            self._failed(run, raw, *result.error)
            return
        if result.unchanged:
            if job.row_hash is not None:
                run.ledger.row_seen(job.entity, job.record_id, job.row_hash)
            self._outcome(run, job.entity, RecordOutcome.UNCHANGED)
            return
        run.report.notes.extend(f"{job.entity} {job.record_id}: {w}" for w in result.warnings)
        run.writer.put_nquads(result.graph, result.text, result.count)
        if result.inferred is not None:
            run.writer.put_nquads(result.inferred_graph, result.inferred, result.inferred_count)
        known = KnownRecord(job.entity, job.record_id, result.graph, result.digest, job.row_hash)
        run.ledger.written(known)
        outcome = RecordOutcome.ADDED if pending.previous is None else RecordOutcome.UPDATED
        self._outcome(run, job.entity, outcome)

    def _close_pool(self, run: _Run) -> None:
        run.in_flight.clear()
        if run.pool is not None:
            run.pool.close()
            run.pool = None

    def _failed(self, run: _Run, raw: RawRecord, stage: str, message: str) -> None:
        log.warning("%s %s %s: %s (%s)", run.config.name, raw.entity, raw.record_id, message, stage)
        failure = RecordFailure(
            entity=raw.entity, record_id=raw.record_id, url=raw.url, stage=stage, message=message
        )
        run.report.fail(failure)
        if self.progress:
            self.progress(raw.entity, RecordOutcome.FAILED)

    def _outcome(self, run: _Run, entity: str, outcome: RecordOutcome) -> None:
        run.report.count(outcome)
        if self.progress:
            self.progress(entity, outcome)

    # -- deletions ---------------------------------------------------------------------------

    def _find_deletions(self, run: _Run) -> None:
        """Records absent from a complete full listing are gone from the source."""
        run.report.checked_deletions = True
        for entity in sorted(run.full_listed):
            run.deletes.extend(run.ledger.unseen(entity))

    def _probe_unseen(self, run: _Run, source: Source, entity: str) -> None:
        """Incremental listings omit unchanged records: ask for each one by key (404 = gone).
        Records whose key URL answers neither 2xx nor 404 are kept, and counted as withheld."""
        unsure = 0
        for record in run.ledger.unseen(entity):
            run.control.check()
            found = source.exists(entity, record.record_id)
            if found is False:
                run.deletes.append(record)
                continue
            unsure += found is None
            run.ledger.see(entity, record.record_id)
        if unsure:
            message = (
                f"{entity}: {unsure} stored record(s) not in the incremental listing could not "
                "be checked at the source (their key URLs answered neither 2xx nor 404); kept"
            )
            run.report.notes.append(message)
            withheld = WithheldDeletions(
                reason=WithheldReason.UNCONFIRMED_PROBES, message=message, count=None, entity=entity
            )
            run.report.withhold(withheld)

    def _withhold_unlisted(
        self, run: _Run, entity: str, reason: WithheldReason, message: str, *, counted: bool = True
    ) -> None:
        """An entity set not listed completely deletes nothing: when the store holds records
        of it that this run did not see, say so, with how many (``counted``: those are what
        a complete listing would have deleted; an incremental one cannot tell)."""
        unseen = run.ledger.unseen_count(entity)
        if not unseen:
            return
        count = unseen if counted else None
        detail = f"{unseen} stored record(s) not listed were kept"
        withheld = WithheldDeletions(
            reason=reason, message=f"{message} ({detail})", count=count, entity=entity
        )
        log.warning("%s: deletions withheld: %s", run.config.name, withheld.message)
        run.report.withhold(withheld)

    def _guard_deletions(self, run: _Run, allowed: bool) -> None:
        total = run.ledger.known_count()
        share = len(run.deletes) / total if total else 0.0
        limit = self._delete_limit(run.config)
        if run.deletes and share > limit and not allowed:
            message = (
                f"mass-deletion guard: {len(run.deletes)} of {total} records "
                f"({share:.0%} > {limit:.0%}) are gone from the source; nothing deleted. "
                "Re-run with --full or --allow-mass-delete to delete them."
            )
            run.report.notes.append(message)
            log.warning("%s: deletions withheld: %s", run.config.name, message)
            withheld = WithheldDeletions(
                reason=WithheldReason.MASS_DELETION_GUARD, message=message, count=len(run.deletes)
            )
            run.report.withhold(withheld)
            run.deletes = []
            return
        for record in run.deletes:
            run.writer.drop_graph(record.graph)
            if record.entity == "Decisions":
                run.writer.drop_graph(inferred_graph(record.graph))
            self._outcome(run, record.entity, RecordOutcome.DELETED)

    def _delete_limit(self, config: SourceConfig) -> float:
        return (
            config.max_delete_share
            if config.max_delete_share is not None
            else self.max_delete_share
        )

    # -- commit ------------------------------------------------------------------------------

    def _commit(self, run: _Run) -> None:
        """Commit the run's changes; in a command's chain of commits
        (:meth:`MeaStore.pipelined <harvester.store.embedded.MeaStore.pipelined>`) the commit
        lands in the background and the bookkeeping follows it (:meth:`_landed`)."""
        run.control.check()  # the last boundary: past it, the run commits whole
        self._add_run_description(run)
        self.raw.flush()
        commit = run.writer.commit(wait=False)
        chain = getattr(self.store, "chain", None)
        if commit is None or chain is None:
            self._committed(run)
            return
        run.deferred = True
        chain.then(commit, lambda error: self._landed(run, error))

    def _landed(self, run: _Run, error: BaseException | None) -> None:
        """The run's commit has landed: its bookkeeping, or (it failed) the run fails. A failure
        of the bookkeeping itself fails the run too (the next run redoes what the state lacks),
        and the other runs go on."""
        if error is None:
            try:
                self._committed(run)
            except Exception as exc:  # the harvest state (SQLite), after the store commit
                log.exception("%s: the harvest state could not be updated", run.config.name)
                run.report.status = RunStatus.FAILED
                run.report.error = f"committed, but the harvest state could not be updated: {exc}"
        else:
            log.error("%s: commit failed, store left without this run: %s", run.config.name, error)
            run.report.status = RunStatus.FAILED
            run.report.error = f"the store failed: {error}"
        self._finish(run)

    def _committed(self, run: _Run) -> None:
        """What follows a commit: the ledger, the watermarks, deletions in the raw archive."""
        seen_at = run.report.started.isoformat()
        run.ledger.commit(run.deletes, seen_at)
        self.state.set_watermarks(run.config.name, run.complete, run.report.started)
        for record in run.deletes:
            self.raw.mark_deleted(run.config.name, record.entity, record.record_id)

    def _add_run_description(self, run: _Run) -> None:
        """The run as a ``prov:Activity`` in a graph of its own, in the same transaction (older
        descriptions beyond the history bound are dropped there too)."""
        self.history.add(run.writer, self._description(run))

    def _settle_withheld(self, run: _Run) -> None:
        """The run's place in its source's streak of runs that withheld deletions, and the
        flag once the streak is long enough. Only ok runs that compared listings with the store
        move the streak; failed or stopped runs carry it on."""
        report = run.report
        before, _ = self.state.withheld_streak(run.config.name)
        if report.status is not RunStatus.OK or not report.checked_deletions:
            report.withheld_runs = before
        else:
            report.withheld_runs = before + 1 if report.withheld else 0
        limit = run.config.flag_after_withheld_runs or self.flag_after_withheld_runs
        report.withheld_flagged = report.withheld_runs >= limit
        if report.withheld_flagged and report.withheld:
            message = (
                f"deletions withheld in {report.withheld_runs} runs in a row "
                f"(flag_after_withheld_runs = {limit}): flagged"
            )
            report.notes.append(message)
            log.warning("%s: %s", run.config.name, message)

    def _description(self, run: _Run) -> RunDescription:
        self._settle_withheld(run)
        run.report.ended = datetime.now(UTC)
        return RunDescription(
            report=run.report,
            base_iri=self.base_iri,
            used=run.config.url,
            mapping_digest=self.registry.digest,
            ended=run.report.ended,
        )

    def _abort(self, run: _Run, exc: SourceError) -> None:
        log.error("%s: harvest failed, store left unchanged: %s", run.config.name, exc)
        run.writer.abort()
        self.raw.flush()
        run.report.status = RunStatus.FAILED
        run.report.withheld.clear()  # nothing was committed: nothing deleted, nothing withheld
        if isinstance(exc, RunCancelled):
            run.report.status = RunStatus(exc.reason)
        run.report.error = f"{exc}" + (f" [{exc.url}]" if exc.url else "")
        self.history.write(self._description(run))  # a commit of its own: nothing else

    def _finish(self, run: _Run) -> None:
        run.ledger.close()
        run.report.ended = run.report.ended or datetime.now(UTC)
        status = run.report.status.value
        self.state.finish_run(run.report.run_id, status, run.report.to_dict())

    # -- remap -------------------------------------------------------------------------------

    def remap(self, config: SourceConfig) -> SourceReport:
        """Re-apply the current mappings to every kept raw payload of a source; no fetching.

        :raises StoreError: only when the store itself fails.
        """
        run = self._start(config, full=True)
        run.force = True
        try:
            for stored in list(self.raw.payloads(config.name)):
                mapping = self.registry.get(stored.entity)
                if mapping is None:
                    continue
                record_id = None if stored.record_id.startswith("#") else stored.record_id
                raw = RawRecord(stored.entity, record_id, stored.payload, stored.url)
                self._process(run, mapping, raw, keep_raw=False)
            self._drain(run)
            self._commit(run)
        except StoreError:
            run.writer.abort()
            run.report.status = RunStatus.FAILED
            raise
        finally:
            self._close_pool(run)
            self._finish(run)
        return run.report


def _row_salt(mapping: RecordMapping, base_iri: str) -> str:
    """What a row's fingerprint also covers: a change of mappings, base IRI or enrichment
    reads every record again."""
    return f"row:{mapping.digest}:{base_iri}:{ENRICH_VERSION}"


def row_fingerprint(salt: str, row: dict[str, object]) -> str:
    """A listing row's fingerprint: its canonical JSON (keys sorted) with ``salt``."""
    text = json.dumps(row, sort_keys=True, ensure_ascii=False, default=str, separators=(",", ":"))
    return hashlib.blake2b((salt + text).encode("utf-8"), digest_size=16).hexdigest()
