"""The run history as data: every harvest run is a ``prov:Activity`` (``mea:HarvestRun``) in a
named graph of its own, ``<base>graph/runs/<run id>``, queryable by SPARQL like any record.

A run that changed records writes its description in the same commit as the records; a run that
changed nothing, failed, or was cancelled writes it in a small commit of its own. Either way the
older descriptions of the source beyond ``keep`` are dropped in that same commit, except those
still named by a record's ``prov:wasGeneratedBy`` (the provenance of live data stays resolvable).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pyoxigraph as ox

from . import __version__
from .mapping.engine import encode_segment
from .models import RecordFailure, RecordOutcome, SourceReport, WithheldDeletions
from .store.api import StoreBackend
from .store.embedded import ChangeSet
from .store.writer import ChangeWriter
from .vocab import DCTERMS, MEA, PROV, RDF, RDFS, XSD

__all__ = [
    "MAX_FAILURES_WRITTEN",
    "RunDescription",
    "RunHistory",
    "recent_runs",
    "run_graph",
    "run_iri",
    "source_iri",
]

log = logging.getLogger(__name__)

#: Failed records described per run; the total is always in ``mea:recordsFailed``.
MAX_FAILURES_WRITTEN = 100

_RUNS_OF_SOURCE = f"""
SELECT ?run ?g ?src WHERE {{
  GRAPH ?g {{ ?run a <{MEA}HarvestRun> ; <{MEA}harvestSource> ?src ;
                   <{PROV}startedAtTime> ?t }}
}} ORDER BY DESC(?t)
"""
_REFERENCED = f"ASK {{ ?record <{PROV}wasGeneratedBy> ?run }}"
_RECENT = f"""
SELECT ?src ?id ?status ?start ?end ?added ?updated ?unchanged ?deleted ?failed ?error ?withheld
       ?withheldRuns WHERE {{
  ?run a <{MEA}HarvestRun> ; <{MEA}harvestSource> ?src ; <{PROV}startedAtTime> ?start ;
       <{DCTERMS}identifier> ?id .
  OPTIONAL {{ ?run <{MEA}runStatus> ?status }}
  OPTIONAL {{ ?run <{PROV}endedAtTime> ?end }}
  OPTIONAL {{ ?run <{MEA}recordsAdded> ?added }}
  OPTIONAL {{ ?run <{MEA}recordsUpdated> ?updated }}
  OPTIONAL {{ ?run <{MEA}recordsUnchanged> ?unchanged }}
  OPTIONAL {{ ?run <{MEA}recordsDeleted> ?deleted }}
  OPTIONAL {{ ?run <{MEA}recordsFailed> ?failed }}
  OPTIONAL {{ ?run <{MEA}errorMessage> ?error }}
  OPTIONAL {{ ?run <{MEA}recordsWithheld> ?withheld }}
  OPTIONAL {{ ?run <{MEA}consecutiveWithheldRuns> ?withheldRuns }}
}} ORDER BY DESC(?start) LIMIT %d
"""
_COUNTED = ("added", "updated", "unchanged", "deleted", "failed")


def run_iri(base_iri: str, run_id: str) -> str:
    return f"{base_iri}run/{encode_segment(run_id)}"


def run_graph(base_iri: str, run_id: str) -> str:
    return f"{base_iri}graph/runs/{encode_segment(run_id)}"


def source_iri(base_iri: str, source: str) -> str:
    return f"{base_iri}source/{encode_segment(source)}"


@dataclass(frozen=True, kw_only=True)
class RunDescription:
    """What a run description says besides its report: where it ran and with which mappings."""

    report: SourceReport
    base_iri: str
    used: str
    mapping_digest: str
    ended: datetime


class RunHistory:
    """Writes run descriptions and keeps the history of each source bounded.

    :param keep: descriptions kept per source, the new one included.
    """

    def __init__(self, store: StoreBackend, base_iri: str, keep: int = 50) -> None:
        self.store = store
        self.base_iri = base_iri
        self.keep = keep

    def add(self, writer: ChangeWriter, description: RunDescription) -> None:
        """Put the description and drop the superseded ones, in the writer's commit."""
        graph = run_graph(self.base_iri, description.report.run_id)
        writer.put_graph(graph, run_quads(description))
        for old in self.superseded(description.report.source, graph):
            writer.drop_graph(old)

    def write(self, description: RunDescription) -> None:
        """Write the description alone, in a commit of its own (a run that committed nothing).

        :raises StoreError: when the store fails.
        """
        changes = ChangeSet()
        graph = run_graph(self.base_iri, description.report.run_id)
        changes.put_graph(graph, run_quads(description))
        for old in self.superseded(description.report.source, graph):
            changes.drop_graph(old)
        self.store.apply(changes)

    def superseded(self, source: str, new_graph: str) -> list[str]:
        """Run graphs of ``source`` beyond the newest ``keep - 1`` (the new run makes ``keep``)
        that no record still points to."""
        prefix = f"{self.base_iri}graph/runs/"
        rows = self.store.query(
            _RUNS_OF_SOURCE,
            substitutions={"src": ox.NamedNode(source_iri(self.base_iri, source))},
        )
        assert isinstance(rows, ox.QuerySolutions)
        pairs = [(r["run"], r["g"].value) for r in rows if r["g"].value != new_graph]
        older = [(run, g) for run, g in pairs[max(self.keep - 1, 0) :] if g.startswith(prefix)]
        return [g for run, g in older if not self._referenced(run)]

    def _referenced(self, run: ox.NamedNode) -> bool:
        answer = self.store.query(_REFERENCED, substitutions={"run": run})
        return bool(answer)


def run_quads(description: RunDescription) -> list[ox.Quad]:
    """The ``prov:Activity`` of a run, its failed records (at most
    :data:`MAX_FAILURES_WRITTEN`) and the deletions it withheld, in the run's graph."""
    report = description.report
    subject = ox.NamedNode(run_iri(description.base_iri, report.run_id))
    graph = ox.NamedNode(run_graph(description.base_iri, report.run_id))
    triples = list(_activity(description, subject))
    for index, failure in enumerate(report.failures[:MAX_FAILURES_WRITTEN]):
        node = ox.NamedNode(f"{subject.value}#failure-{index + 1}")
        triples.append((subject, MEA + "recordFailure", node))
        triples.extend(_failure(node, failure))
    for index, withheld in enumerate(report.withheld):
        node = ox.NamedNode(f"{subject.value}#withheld-{index + 1}")
        triples.append((subject, MEA + "withheldDeletions", node))
        triples.extend(_withheld(node, withheld))
    return [ox.Quad(s, ox.NamedNode(p), o, graph) for s, p, o in triples]


Triple = tuple[ox.NamedNode, str, ox.NamedNode | ox.Literal]


def _activity(description: RunDescription, subject: ox.NamedNode) -> Iterator[Triple]:
    report = description.report
    yield subject, RDF + "type", ox.NamedNode(PROV + "Activity")
    yield subject, RDF + "type", ox.NamedNode(MEA + "HarvestRun")
    yield subject, RDFS + "label", ox.Literal(f"harvest run {report.run_id}")
    yield subject, DCTERMS + "identifier", ox.Literal(report.run_id)
    yield subject, PROV + "startedAtTime", _stamp(report.started)
    yield subject, PROV + "endedAtTime", _stamp(description.ended)
    source = ox.NamedNode(source_iri(description.base_iri, report.source))
    yield subject, MEA + "harvestSource", source
    yield subject, PROV + "used", ox.NamedNode(description.used)
    yield subject, MEA + "runStatus", ox.Literal(report.status.value)
    yield subject, MEA + "harvesterVersion", ox.Literal(__version__)
    yield subject, MEA + "mappingDigest", ox.Literal(description.mapping_digest)
    for outcome in RecordOutcome:
        count = ox.Literal(report.counts[outcome.value])
        yield subject, MEA + f"records{outcome.value.title()}", count
    if report.error:
        yield subject, MEA + "errorMessage", ox.Literal(report.error)
    if report.withheld:
        yield subject, MEA + "recordsWithheld", ox.Literal(report.withheld_deletions)
    if report.withheld_runs:
        yield subject, MEA + "consecutiveWithheldRuns", ox.Literal(report.withheld_runs)


def _failure(node: ox.NamedNode, failure: RecordFailure) -> Iterator[Triple]:
    yield node, RDF + "type", ox.NamedNode(MEA + "RecordFailure")
    yield node, MEA + "failedEntitySet", ox.Literal(failure.entity)
    if failure.record_id is not None:
        yield node, DCTERMS + "identifier", ox.Literal(failure.record_id)
    yield node, MEA + "failedUrl", ox.Literal(failure.url, datatype=ox.NamedNode(XSD + "anyURI"))
    yield node, MEA + "failureStage", ox.Literal(failure.stage)
    yield node, RDFS + "comment", ox.Literal(failure.message)


def _withheld(node: ox.NamedNode, withheld: WithheldDeletions) -> Iterator[Triple]:
    yield node, RDF + "type", ox.NamedNode(MEA + "WithheldDeletions")
    yield node, MEA + "withheldReason", ox.Literal(str(withheld.reason))
    if withheld.entity is not None:
        yield node, MEA + "withheldEntitySet", ox.Literal(withheld.entity)
    if withheld.count is not None:  # absent: unknown
        yield node, MEA + "withheldCount", ox.Literal(withheld.count)
    yield node, RDFS + "comment", ox.Literal(withheld.message)


def _stamp(moment: datetime) -> ox.Literal:
    text = moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return ox.Literal(text, datatype=ox.NamedNode(XSD + "dateTime"))


def recent_runs(
    store: StoreBackend, base_iri: str, source: str, limit: int = 10
) -> list[dict[str, Any]]:
    """The newest run descriptions of ``source`` in the store, newest first, as JSON-ready dicts
    (``run_id``, ``status``, ``started``, ``ended``, ``counts``, ``error``, and
    ``withheld``: records whose deletion the run withheld, as far as known, or None when it
    withheld none; ``withheld_runs``: runs in a row that withheld deletions)."""
    rows = store.query(
        _RECENT % max(int(limit), 1),
        substitutions={"src": ox.NamedNode(source_iri(base_iri, source))},
    )
    assert isinstance(rows, ox.QuerySolutions)
    return [_run_row(row) for row in rows]


def _run_row(row: ox.QuerySolution) -> dict[str, Any]:
    def value(name: str) -> str | None:
        term = row[name]
        return None if term is None else str(term.value)

    return {
        "run_id": value("id"),
        "status": value("status"),
        "started": value("start"),
        "ended": value("end"),
        "counts": {name: int(value(name) or 0) for name in _COUNTED},
        "error": value("error"),
        "withheld": None if value("withheld") is None else int(value("withheld") or 0),
        "withheld_runs": int(value("withheldRuns") or 0),
    }
