"""Queries and exports from the command line: results serialised by pyoxigraph."""

from __future__ import annotations

from typing import IO

import pyoxigraph as ox

from ..exceptions import QueryError
from ..vocab import PREFIXES
from .api import StoreBackend
from .embedded import map_store_errors

__all__ = ["export", "run_query"]

_RESULT_FORMATS = {
    "json": ox.QueryResultsFormat.JSON,
    "xml": ox.QueryResultsFormat.XML,
    "csv": ox.QueryResultsFormat.CSV,
    "tsv": ox.QueryResultsFormat.TSV,
}
_GRAPH_FORMATS = {
    "ttl": ox.RdfFormat.TURTLE,
    "nt": ox.RdfFormat.N_TRIPLES,
    "jsonld": ox.RdfFormat.JSON_LD,
}
_EXPORT_FORMATS = {"nquads": ox.RdfFormat.N_QUADS, "jsonld": ox.RdfFormat.JSON_LD}


def run_query(store: StoreBackend, query: str, fmt: str | None) -> bytes:
    """Evaluate ``query`` and serialise it: SELECT/ASK as json (default), xml, csv or tsv;
    CONSTRUCT/DESCRIBE as ttl (default), nt or jsonld.

    :raises QueryError: on a syntax error, or a format that does not fit the query form.
    """
    result = store.query(query)
    with map_store_errors("cannot serialise results"):
        if isinstance(result, ox.QueryTriples):
            if fmt not in (None, *_GRAPH_FORMATS):
                raise QueryError(
                    f"a graph result cannot be written as {fmt}; use ttl, nt or jsonld"
                )
            data = ox.serialize(result, format=_GRAPH_FORMATS[fmt or "ttl"], prefixes=PREFIXES)
            return data or b""
        if fmt not in (None, *_RESULT_FORMATS):
            raise QueryError(
                f"SELECT/ASK results cannot be written as {fmt}; use json, xml, csv, tsv"
            )
        return result.serialize(format=_RESULT_FORMATS[fmt or "json"]) or b""


def export(store: StoreBackend, output: IO[bytes], fmt: str) -> None:
    """Dump the whole store, streamed: nquads, trig and jsonld keep the named graphs; turtle
    merges them into one graph."""
    with map_store_errors("export failed"):
        if fmt == "turtle":
            triples = (quad.triple for quad in store.quads())
            ox.serialize(triples, output, format=ox.RdfFormat.TURTLE, prefixes=PREFIXES)
        elif fmt == "trig":
            ox.serialize(store.quads(), output, format=ox.RdfFormat.TRIG, prefixes=PREFIXES)
        else:
            store.dump(output, _EXPORT_FORMATS[fmt])
