"""Following another hub's change feed (source kind ``ldes``; issue 15, docs/feed.md).

Each page is applied in one commit together with the follower's position (the page, and the
members of it applied so far), so a crash or ``kill -9`` loses at most the page being applied
and a rerun neither loses nor repeats a change. Creates and updates replace the record's graph
here (``{base}graph/<source>/ldes/<record IRI, encoded>``) with the member's triples, the member
put back to the record's IRI (the publisher's IRIs are kept); deletes drop it. Those writes go
through a :class:`ChangeWriter`, so this hub's own feed records them in turn.

A page that cannot be fetched or read (a 404, a 410 past the publisher's retention, not RDF), a
relation back to a page of this run (a loop), stop the run as failed where it is: the position
stays after the last page applied. A member that is not the version of one record (no version-of
IRI, no time, no type) is reported as a failed record and skipped.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol
from urllib.parse import quote

import pyoxigraph as ox

from ..control import RunControl
from ..exceptions import SourceError
from ..models import RecordFailure, RecordOutcome, RunStatus, SourceReport
from ..settings import SourceConfig
from ..state import HarvestState
from ..store.api import StoreBackend
from ..store.writer import ChangeWriter
from ..vocab import MEA
from .terms import value_of

__all__ = ["Follower", "Position"]

log = logging.getLogger(__name__)

_HARVEST_SOURCE = MEA + "harvestSource"
_FOLLOW_PAGE = MEA + "followPage"
_FOLLOW_APPLIED = MEA + "followApplied"
_FOLLOW_DONE = MEA + "followDone"
#: the entity segment of a followed record's graph
ENTITY = "ldes"


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


class PageSource(Protocol):
    """What the follower needs of :class:`harvester.sources.ldes.LdesSource`."""

    def start(self) -> str: ...
    def page(self, url: str) -> FollowedPage: ...


@dataclass
class Position:
    """Where a follower stands: the page it reads next (None: not started), the members of
    that page already applied, and the pages it has applied whole and left (a relation back to
    one of them is a loop: it is never followed, so nothing is applied twice)."""

    page: str | None = None
    applied: set[str] = field(default_factory=set)
    done: set[str] = field(default_factory=set)


class Follower:
    """Applies a followed stream to ``store``."""

    def __init__(self, store: StoreBackend, state: HarvestState, base_iri: str) -> None:
        self.store = store
        self.state = state
        self.base_iri = base_iri

    def graph_of(self, source: str, record: str) -> str:
        return (
            f"{self.base_iri}graph/{quote(source, safe='-._~')}/{ENTITY}/{quote(record, safe='')}"
        )

    def position_graph(self, source: str) -> str:
        return f"{self.base_iri}feed/follow/{quote(source, safe='-._~')}"

    def position(self, source: str) -> Position:
        position = Position()
        for quad in self.store.graph_quads(self.position_graph(source)):
            if quad.predicate.value == _FOLLOW_PAGE:
                position.page = value_of(quad.object)
            elif quad.predicate.value == _FOLLOW_APPLIED:
                position.applied.add(value_of(quad.object))
            elif quad.predicate.value == _FOLLOW_DONE:
                position.done.add(value_of(quad.object))
        return position

    # -- one run -----------------------------------------------------------------------------

    def follow(
        self, config: SourceConfig, source: PageSource, control: RunControl | None = None
    ) -> SourceReport:
        """Follow ``config``'s stream from where the last run stopped to its newest page.

        Never raises for the stream's problems (see the report); :raises StoreError: when the
        store fails."""
        control = control or RunControl()
        started = datetime.now(UTC)
        run_id = control.run_id or f"{config.name}-{started.strftime('%Y%m%dT%H%M%S%fZ')}"
        report = SourceReport(source=config.name, run_id=run_id, started=started)
        self.state.start_run(run_id, config.name, started)
        try:
            self._run(config, source, control, report)
        except SourceError as exc:
            log.error("%s: follow stopped, position kept: %s", config.name, exc)
            report.status = RunStatus.FAILED
            report.error = f"{exc}" + (f" [{exc.url}]" if exc.url else "")
        finally:
            report.ended = datetime.now(UTC)
            self.state.finish_run(run_id, report.status.value, report.to_dict())
        return report

    def _run(
        self, config: SourceConfig, source: PageSource, control: RunControl, report: SourceReport
    ) -> None:
        position = self.position(config.name)
        url = position.page or source.start()
        applied = position.applied if position.page == url else set()
        done = set(position.done)
        while True:
            control.check()
            page = source.page(url)
            writer = ChangeWriter(self.store)
            fresh = self._apply(config, page, applied, writer, report)
            following = next((n for n in page.next if n not in done and n != url), None)
            looped = [n for n in page.next if n in done or n == url]
            if following is None:
                self._commit(writer, config.name, Position(url, applied | fresh, done))
                if looped:
                    raise SourceError(
                        f"{config.name}: relation loop: {url} leads back to {looped[0]}",
                        source=config.name,
                        url=url,
                    )
                return
            done.add(url)
            self._commit(writer, config.name, Position(following, set(), done))
            url, applied = following, set()

    def _apply(
        self,
        config: SourceConfig,
        page: FollowedPage,
        applied: set[str],
        writer: ChangeWriter,
        report: SourceReport,
    ) -> set[str]:
        """Apply the page's members not applied yet; their IRIs."""
        fresh: set[str] = set()
        written: dict[str, bool] = {}  # graph -> it exists after this page's changes so far
        for member in page.members:
            if member.iri in applied or member.iri in fresh:
                continue
            fresh.add(member.iri)
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
            graph = self.graph_of(config.name, member.version_of)
            existed = written.get(graph)
            if existed is None:
                existed = self.store.has_graph(graph)
            if member.kind == "Delete":
                written[graph] = False
                if existed:
                    writer.drop_graph(graph)
                    report.count(RecordOutcome.DELETED)
                else:
                    report.notes.append(f"{member.iri}: deletes {member.version_of}, not held")
                continue
            writer.put_graph(graph, self._quads(config, member, graph))
            written[graph] = True
            report.count(RecordOutcome.UPDATED if existed else RecordOutcome.ADDED)
        return fresh

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

    def _commit(self, writer: ChangeWriter, source: str, position: Position) -> None:
        graph = self.position_graph(source)
        node = ox.NamedNode(graph)
        quads = [ox.Quad(node, ox.NamedNode(_FOLLOW_PAGE), ox.Literal(position.page or ""))]
        quads.extend(
            ox.Quad(node, ox.NamedNode(_FOLLOW_APPLIED), ox.Literal(m))
            for m in sorted(position.applied)
        )
        quads.extend(
            ox.Quad(node, ox.NamedNode(_FOLLOW_DONE), ox.Literal(p)) for p in sorted(position.done)
        )
        writer.put_graph(graph, quads)
        writer.commit()
