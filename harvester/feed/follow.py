"""Following another hub's change feed (source kind ``ldes``; issue 15, docs/feed.md).

The follower reads the pages the stream's relations lead to, every relation of a page (each page
once: a relation to a page already queued is not queued again), in the order found. Members are
applied in batches: one commit per :data:`COMMIT_MEMBERS` members, or once
:data:`COMMIT_SECONDS` have passed since the last commit (at the next page boundary; longer when
commits are slow, see :data:`COMMIT_COST_FACTOR`), and at the end of the run, so an embedded
store publishes a generation per batch, not per page. Each commit holds the follower's position
(the page read next, the members of it applied, the pages done and those queued), so a crash or
``kill -9`` loses at most what was applied since the last commit, and a rerun neither loses nor
repeats a committed change. The run's description (a ``mea:HarvestRun``,
:mod:`harvester.history`) goes into its last commit, with the requests the source's fetcher
made.

Creates and updates replace the record's graph here
(``{base}graph/<source>/ldes/<record IRI, encoded>``) with the member's triples, the member put
back to the record's IRI (the publisher's IRIs are kept); deletes drop it. Those writes go
through a :class:`ChangeWriter`, so this hub's own feed records them in turn.

A page that cannot be fetched or read (a 404, a 410 past the publisher's retention, not RDF)
stops the run as failed where it is: what was applied before it is committed with the position
after the last member applied. A page whose relations all lead back to pages applied (a loop)
is not followed back; the run goes on with the pages queued and ends failed, naming the loop. A
member that is not the version of one record (no version-of IRI, no time, no type) is reported
as a failed record and skipped.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol
from urllib.parse import quote

import pyoxigraph as ox

from ..control import RunControl
from ..exceptions import RunCancelled, SourceError
from ..history import RunDescription, RunHistory
from ..models import RecordFailure, RecordOutcome, RunStatus, SourceReport
from ..settings import SourceConfig
from ..state import HarvestState
from ..store.api import StoreBackend
from ..store.writer import ChangeWriter
from ..vocab import MEA
from .terms import FOLLOW_APPLIED, FOLLOW_DONE, FOLLOW_PAGE, value_of

__all__ = ["Follower", "Position"]

log = logging.getLogger(__name__)

_HARVEST_SOURCE = MEA + "harvestSource"
#: the entity segment of a followed record's graph
ENTITY = "ldes"
#: members applied per commit at most
COMMIT_MEMBERS = 5_000
#: seconds after which the pages applied are committed (at the next page boundary)...
COMMIT_SECONDS = 1.0
#: ... or this many times the last commit's duration, when longer: commits (a generation
#: published, the search index updated) then take at most about a tenth of a run's time
COMMIT_COST_FACTOR = 10.0


class FollowedMember(Protocol):
    @property
    def iri(self) -> str: ...
    @property
    def version_of(self) -> str | None: ...
    @property
    def kind(self) -> str: ...
    @property
    def triples(self) -> tuple[ox.Triple, ...]: ...
    @property
    def problem(self) -> str | None: ...


class FollowedPage(Protocol):
    @property
    def url(self) -> str: ...
    @property
    def members(self) -> Sequence[FollowedMember]: ...
    @property
    def next(self) -> Sequence[str]: ...


class Counting(Protocol):
    @property
    def requests(self) -> int: ...


class PageSource(Protocol):
    """What the follower needs of :class:`harvester.sources.ldes.LdesSource`."""

    @property
    def fetcher(self) -> Counting: ...

    def start(self) -> str: ...
    def page(self, url: str) -> FollowedPage: ...


@dataclass
class Position:
    """Where a follower stands: the page it reads next (None: not started), the members of
    that page already applied, the pages it has applied whole and left (a relation back to one
    of them is never followed, so nothing is applied twice), and the pages queued after the
    page read next (relations of pages already read, in the order found)."""

    page: str | None = None
    applied: set[str] = field(default_factory=set)
    done: set[str] = field(default_factory=set)
    queue: list[str] = field(default_factory=list)


@dataclass
class _Batch:
    """What was applied since the last commit: its writer, when it began, its members, and
    each record graph it wrote (True: it exists after these changes)."""

    writer: ChangeWriter
    began: float = field(default_factory=time.monotonic)
    members: int = 0
    written: dict[str, bool] = field(default_factory=dict)


class Follower:
    """Applies a followed stream to ``store``.

    :param history_runs: run descriptions kept per source (as ``[scheduler] history_runs``).
    :param commit_members: members applied per commit at most (an embedded store publishes a
        generation per commit).
    :param commit_seconds: pages applied are committed once this long has passed since the
        last commit, or :data:`COMMIT_COST_FACTOR` times the last commit's duration when that is
        longer (what a crash can cost at most, with a slow publisher).
    """

    def __init__(
        self,
        store: StoreBackend,
        state: HarvestState,
        base_iri: str,
        *,
        history_runs: int = 50,
        commit_members: int = COMMIT_MEMBERS,
        commit_seconds: float = COMMIT_SECONDS,
    ) -> None:
        self.store = store
        self.state = state
        self.base_iri = base_iri
        self.history = RunHistory(store, base_iri, keep=history_runs)
        self.commit_members = commit_members
        self.commit_seconds = commit_seconds
        #: commits made by the last run (the bench reads it)
        self.commits = 0
        self._last_commit_s = 0.0

    def graph_of(self, source: str, record: str) -> str:
        return (
            f"{self.base_iri}graph/{quote(source, safe='-._~')}/{ENTITY}/{quote(record, safe='')}"
        )

    def position_graph(self, source: str) -> str:
        return f"{self.base_iri}feed/follow/{quote(source, safe='-._~')}"

    def position(self, source: str) -> Position:
        position = Position()
        for quad in self.store.graph_quads(self.position_graph(source)):
            if quad.predicate.value == FOLLOW_PAGE:
                # the page read next, then the pages queued after it (IRIs hold no space)
                pages = value_of(quad.object).split()
                position.page, position.queue = (pages[0], pages[1:]) if pages else (None, [])
            elif quad.predicate.value == FOLLOW_APPLIED:
                position.applied.add(value_of(quad.object))
            elif quad.predicate.value == FOLLOW_DONE:
                position.done.add(value_of(quad.object))
        return position

    # -- one run -----------------------------------------------------------------------------

    def follow(
        self, config: SourceConfig, source: PageSource, control: RunControl | None = None
    ) -> SourceReport:
        """Follow ``config``'s stream from where the last run stopped to its newest page; the
        run's description (PROV, :mod:`harvester.history`) is written in the last commit.

        Never raises for the stream's problems (see the report); :raises StoreError: when the
        store fails."""
        control = control or RunControl()
        started = datetime.now(UTC)
        run_id = control.run_id or f"{config.name}-{started.strftime('%Y%m%dT%H%M%S%fZ')}"
        report = SourceReport(source=config.name, run_id=run_id, started=started)
        self.state.start_run(run_id, config.name, started)
        self.commits = 0
        try:
            self._run(config, source, control, report)
        finally:
            report.ended = report.ended or datetime.now(UTC)
            self.state.finish_run(run_id, report.status.value, report.to_dict())
        return report

    def _run(
        self, config: SourceConfig, source: PageSource, control: RunControl, report: SourceReport
    ) -> None:
        position = self.position(config.name)
        batch = _Batch(ChangeWriter(self.store))
        loops: list[str] = []
        try:
            if position.page is None:
                position.page = source.start()
            while True:
                control.check()
                page = source.page(position.page)
                batch = self._apply(config, page, position, batch, report)
                if not self._advance(position, page, loops):
                    break
                if time.monotonic() - batch.began >= self._commit_after():
                    batch = self._commit(batch, config.name, position)
        except SourceError as exc:
            _failed(report, exc)
        if loops and report.status is RunStatus.OK:
            report.status = RunStatus.FAILED
            report.error = f"{config.name}: relation loop: {loops[0]}"
        report.requests = source.fetcher.requests
        self._commit(batch, config.name, position, self._description(config, report))

    def _advance(self, position: Position, page: FollowedPage, loops: list[str]) -> bool:
        """Queue the pages the page's relations lead to (each once); move to the next page
        queued (False: none, the page stays the one read next: it may grow). A page whose
        relations lead only back to pages applied (or to itself) is a loop."""
        url = position.page
        assert url is not None
        back = [n for n in page.next if n == url or n in position.done]
        fresh = [n for n in page.next if n not in back and n not in position.queue]
        if back and not fresh:
            loops.append(f"{url} leads back to {back[0]}")
            log.error("relation loop: %s leads back to %s (not followed)", url, back[0])
        position.queue.extend(fresh)
        if not position.queue:
            return False
        position.done.add(url)
        position.page, position.applied = position.queue.pop(0), set()
        return True

    def _apply(
        self,
        config: SourceConfig,
        page: FollowedPage,
        position: Position,
        batch: _Batch,
        report: SourceReport,
    ) -> _Batch:
        """Apply the page's members not applied yet (``position.applied`` grows), committing
        every :attr:`commit_members`; the batch the page ends in."""
        for member in page.members:
            if member.iri in position.applied:
                continue
            position.applied.add(member.iri)
            if member.problem is not None or member.version_of is None:
                message = member.problem or f"member {member.iri}: no record"
                log.warning("%s: %s (skipped)", config.name, message)
                failure = RecordFailure(
                    entity=ENTITY,
                    record_id=member.iri,
                    url=page.url,
                    stage="validate",
                    message=message,
                )
                report.fail(failure)
                continue
            self._apply_member(config, member, batch, report)
            if batch.members >= self.commit_members:
                batch = self._commit(batch, config.name, position)
        return batch

    def _apply_member(
        self, config: SourceConfig, member: FollowedMember, batch: _Batch, report: SourceReport
    ) -> None:
        assert member.version_of is not None
        graph = self.graph_of(config.name, member.version_of)
        existed = batch.written.get(graph)
        if existed is None:
            existed = self.store.has_graph(graph)
        batch.members += 1
        if member.kind == "Delete":
            batch.written[graph] = False
            if existed:
                batch.writer.drop_graph(graph)
                report.count(RecordOutcome.DELETED)
            else:
                report.notes.append(f"{member.iri}: deletes {member.version_of}, not held")
            return
        batch.writer.put_graph(graph, self._quads(config, member, graph))
        batch.written[graph] = True
        report.count(RecordOutcome.UPDATED if existed else RecordOutcome.ADDED)

    def _quads(self, config: SourceConfig, member: FollowedMember, graph: str) -> list[ox.Quad]:
        """The member's triples as the record's (the member's IRI put back to the record's),
        with the Activity Streams kind and the feed's own paths left out."""
        assert member.version_of is not None
        node, record = ox.NamedNode(member.iri), ox.NamedNode(member.version_of)
        skip = {
            "http://purl.org/dc/terms/isVersionOf",
            "http://www.w3.org/ns/prov#generatedAtTime",
        }
        activity = "https://www.w3.org/ns/activitystreams#"
        quads = []
        for triple in member.triples:
            subject = record if triple.subject == node else triple.subject
            obj = record if triple.object == node else triple.object
            if subject == record and triple.predicate.value in skip:
                continue
            if (
                subject == record
                and triple.predicate.value.endswith("#type")
                and isinstance(obj, ox.NamedNode)
                and obj.value.startswith(activity)
            ):
                continue
            quads.append(ox.Quad(subject, triple.predicate, obj, ox.NamedNode(graph)))
        if not any(q.subject == record and q.predicate.value == _HARVEST_SOURCE for q in quads):
            source_iri = ox.NamedNode(f"{self.base_iri}source/{quote(config.name, safe='')}")
            quads.append(
                ox.Quad(record, ox.NamedNode(_HARVEST_SOURCE), source_iri, ox.NamedNode(graph))
            )
        return quads

    def _description(self, config: SourceConfig, report: SourceReport) -> RunDescription:
        report.ended = datetime.now(UTC)
        return RunDescription(
            report=report,
            base_iri=self.base_iri,
            used=config.url,
            mapping_digest="",  # no mappings: the publisher's triples are kept as they are
            ended=report.ended,
        )

    def _commit(
        self,
        batch: _Batch,
        source: str,
        position: Position,
        description: RunDescription | None = None,
    ) -> _Batch:
        """Commit the batch with the position (and the run's description); a fresh batch."""
        if position.page is not None:
            batch.writer.put_graph(
                self.position_graph(source), self._position_quads(position, source)
            )
        if description is not None:
            self.history.add(batch.writer, description)
        started = time.monotonic()
        batch.writer.commit()
        self._last_commit_s = time.monotonic() - started
        self.commits += 1
        return _Batch(ChangeWriter(self.store))

    def _commit_after(self) -> float:
        """Seconds of applied pages a commit waits for: :attr:`commit_seconds`, or more when
        commits are slow (see :data:`COMMIT_COST_FACTOR`)."""
        return max(self.commit_seconds, COMMIT_COST_FACTOR * self._last_commit_s)

    def _position_quads(self, position: Position, source: str) -> list[ox.Quad]:
        node = ox.NamedNode(self.position_graph(source))
        pages = " ".join([position.page or "", *position.queue])
        quads = [ox.Quad(node, ox.NamedNode(FOLLOW_PAGE), ox.Literal(pages))]
        quads.extend(
            ox.Quad(node, ox.NamedNode(FOLLOW_APPLIED), ox.Literal(m))
            for m in sorted(position.applied)
        )
        quads.extend(
            ox.Quad(node, ox.NamedNode(FOLLOW_DONE), ox.Literal(p)) for p in sorted(position.done)
        )
        return quads


def _failed(report: SourceReport, exc: SourceError) -> None:
    log.error("%s: follow stopped, position kept: %s", report.source, exc)
    report.status = RunStatus(exc.reason) if isinstance(exc, RunCancelled) else RunStatus.FAILED
    report.error = f"{exc}" + (f" [{exc.url}]" if exc.url else "")
