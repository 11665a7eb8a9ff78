"""``meahub link``: re-run target linking over the store, without harvesting, replacing only
the inferred links (each decision's ``<record graph>/inferred``), all at once."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime

import pyoxigraph as ox

from ..mapping.engine import MappedRecord, encode_segment
from ..mapping.enrich import Enricher, inferred_graph
from ..store.api import StoreBackend
from ..store.writer import ChangeWriter
from ..vocab import MEA, PROV, RDF, RDFS, XSD

__all__ = ["LinkReport", "relink"]

log = logging.getLogger(__name__)

_DECISION_GRAPHS = (
    "SELECT DISTINCT ?g WHERE { GRAPH ?g { ?d a <https://w3id.org/mea/ontology#Decision> } }"
)


@dataclass
class LinkReport:
    run_id: str
    decisions: int = 0
    links: int = 0


def relink(store: StoreBackend, enricher: Enricher, base_iri: str) -> LinkReport:
    """Recompute the inferred links of every decision in the store; one atomic publish (in
    bounded batches on a remote store), holding the store's writer lease.

    :raises StoreError: when the store fails (then nothing changed, on the embedded store).
    :raises LeaseHeldError: when another process is writing to the remote store.
    """
    with store.writer_lease():
        return _relink(store, enricher, base_iri)


def _relink(store: StoreBackend, enricher: Enricher, base_iri: str) -> LinkReport:
    started = datetime.now(UTC)
    report = LinkReport(run_id=f"link-{started.strftime('%Y%m%dT%H%M%S%fZ')}")
    run_iri = f"{base_iri}run/{encode_segment(report.run_id)}"
    writer = ChangeWriter(store)
    try:
        for graph in _decision_graphs(store):
            record = MappedRecord(iri="", graph=graph, quads=store.graph_quads(graph))
            links = enricher.infer(record, run_iri)
            writer.put_graph(inferred_graph(graph), links)
            report.decisions += 1
            report.links += sum(1 for q in links if q.predicate.value == MEA + "targetLink")
        activity_graph = f"{base_iri}graph/runs/{encode_segment(report.run_id)}"
        writer.put_graph(activity_graph, _activity(run_iri, activity_graph, report, started))
        writer.commit()
    except BaseException:
        writer.abort()
        raise
    log.info("linked %d decisions: %d inferred links", report.decisions, report.links)
    return report


def _decision_graphs(store: StoreBackend) -> list[str]:
    rows = store.query(_DECISION_GRAPHS)
    assert isinstance(rows, ox.QuerySolutions)
    graphs = [row[0].value for row in rows if isinstance(row[0], ox.NamedNode)]
    return sorted(g for g in graphs if not g.endswith("/inferred"))


def _activity(run_iri: str, graph_iri: str, report: LinkReport, started: datetime) -> list[ox.Quad]:
    subject, graph = ox.NamedNode(run_iri), ox.NamedNode(graph_iri)
    stamp = ox.Literal(
        started.strftime("%Y-%m-%dT%H:%M:%S.%fZ"), datatype=ox.NamedNode(XSD + "dateTime")
    )
    pairs: list[tuple[str, ox.NamedNode | ox.Literal]] = [
        (RDF + "type", ox.NamedNode(PROV + "Activity")),
        (
            RDFS + "label",
            ox.Literal(f"linking run {report.run_id} ({report.links} inferred links)"),
        ),
        (PROV + "startedAtTime", stamp),
    ]
    return [ox.Quad(subject, ox.NamedNode(p), o, graph) for p, o in pairs]
