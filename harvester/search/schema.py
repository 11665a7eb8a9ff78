"""The index's schema: one document per version of a record.

A document holds the record's searchable texts in one field per (kind, language bucket)
(``title_fr``, ``body_zh``...), its facets (type, treaties, year, Aichi targets), what a hit
shows (IRI, titles), and the generations it is valid in: from ``gen_from`` (the store generation
that committed this version) up to, not including, ``gen_to`` (the generation that replaced or
deleted it; :data:`OPEN` while it is current). See :mod:`harvester.search.index`.
"""

from __future__ import annotations

import functools

import tantivy

from .analysis import BUCKETS, analyzer_name

__all__ = [
    "FACETS",
    "FORMAT",
    "KINDS",
    "OPEN",
    "WEIGHTS",
    "schema",
    "text_field",
    "text_fields",
]

#: Bump whenever the schema, an analyzer or the text extraction changes: an index of another
#: format is rebuilt by ``meahub reindex``.
FORMAT = 3  # 3: buckets de, it, pt, nl
#: ``gen_to`` of a current version.
OPEN = 2**63 - 1
#: Text kinds, with their weight in the ranking: a title match outranks a summary match, which
#: outranks a match in the body (decision content, paragraphs).
WEIGHTS = {"title": 4.0, "summary": 2.0, "body": 1.0}
KINDS = tuple(WEIGHTS)
#: Facet fields (raw terms, fast fields for counting).
FACETS = ("type", "treaty", "year", "aichi")


def text_field(kind: str, bucket: str) -> str:
    return f"{kind}_{bucket}"


def text_fields(buckets: tuple[str, ...] = BUCKETS) -> list[tuple[str, str, str]]:
    """``(field, kind, bucket)`` for every text field of ``buckets``."""
    return [(text_field(k, b), k, b) for k in KINDS for b in buckets]


@functools.cache
def schema() -> tantivy.Schema:
    builder = tantivy.SchemaBuilder()
    for name in ("key", "graph", "iri"):
        builder.add_text_field(name, stored=True, tokenizer_name="raw", index_option="basic")
    for name in ("gen_from", "gen_to"):
        builder.add_unsigned_field(name, stored=True, indexed=True, fast=True)
    for name in ("type", "treaty", "aichi"):
        builder.add_text_field(
            name, stored=True, fast=True, tokenizer_name="raw", index_option="basic"
        )
    builder.add_integer_field("year", stored=True, indexed=True, fast=True)
    builder.add_bytes_field("titles", stored=True, indexed=False)
    for field, _, bucket in text_fields():
        builder.add_text_field(
            field, stored=True, tokenizer_name=analyzer_name(bucket), index_option="position"
        )
    return builder.build()
