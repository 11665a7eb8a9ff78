"""A parsed search (:mod:`harvester.search.syntax`) as a tantivy query over the text fields.

Each word or phrase is cut by every searched bucket's analyzer and looked for in that bucket's
``title``, ``summary`` and ``body`` fields (boosted by :data:`~harvester.search.schema.WEIGHTS`):
one term, or a phrase of the terms in order (a Chinese word is a phrase of its characters, so
it matches the texts that contain it). Words are ANDed, ``OR`` is any of, ``-`` excludes.
The terms are the analyzer's output, passed to tantivy as terms: nothing of the text is ever
read as tantivy syntax.
"""

from __future__ import annotations

from collections.abc import Sequence

import tantivy

from .analysis import BUCKETS, bucket, terms
from .schema import OPEN, WEIGHTS, schema, text_fields
from .syntax import And, Node, Not, Or, Phrase, Word

__all__ = ["buckets_for", "generation_filter", "text_query"]


def buckets_for(language: str | None) -> tuple[str, ...]:
    """The buckets a search in ``language`` reads: its own and the untagged texts (every
    bucket without a language)."""
    if not language:
        return BUCKETS
    return tuple(dict.fromkeys((bucket(language), "und")))


def text_query(node: Node, buckets: Sequence[str]) -> tantivy.Query | None:
    """The query for ``node`` over ``buckets``; None when nothing in it can match (its words
    have no terms, like a lone dash)."""
    if isinstance(node, Word | Phrase):
        return _leaf(node.text, buckets)
    if isinstance(node, Not):
        return text_query(node.node, buckets)
    if isinstance(node, Or):
        parts = [q for q in (text_query(n, buckets) for n in node.nodes) if q is not None]
        return _combine(tantivy.Occur.Should, parts)
    return _conjunction(node, buckets)


def _conjunction(node: And, buckets: Sequence[str]) -> tantivy.Query | None:
    clauses: list[tuple[tantivy.Occur, tantivy.Query]] = []
    positive = False
    for child in node.nodes:
        query = text_query(child, buckets)
        if query is None:
            continue
        excluded = isinstance(child, Not)
        positive = positive or not excluded
        clauses.append((tantivy.Occur.MustNot if excluded else tantivy.Occur.Must, query))
    if not positive:
        return None
    return clauses[0][1] if len(clauses) == 1 else tantivy.Query.boolean_query(clauses)


def _leaf(text: str, buckets: Sequence[str]) -> tantivy.Query | None:
    parts: list[tantivy.Query] = []
    cut: dict[str, list[str]] = {b: terms(b, text) for b in buckets}
    for field, kind, name in text_fields(tuple(buckets)):
        words = cut[name]
        if not words:
            continue
        if len(words) == 1:
            query = tantivy.Query.term_query(schema(), field, words[0])
        else:
            phrase: list[str | tuple[int, str]] = list(words)
            query = tantivy.Query.phrase_query(schema(), field, phrase)
        parts.append(tantivy.Query.boost_query(query, WEIGHTS[kind]))
    return _combine(tantivy.Occur.Should, parts)


def _combine(occur: tantivy.Occur, parts: list[tantivy.Query]) -> tantivy.Query | None:
    if not parts:
        return None
    if len(parts) == 1:
        return parts[0]
    return tantivy.Query.boolean_query([(occur, p) for p in parts])


def generation_filter(generation: int) -> tantivy.Query:
    """The versions valid in ``generation``: ``gen_from <= generation < gen_to``."""
    unsigned = tantivy.FieldType.Unsigned
    return tantivy.Query.boolean_query(
        [
            (
                tantivy.Occur.Must,
                tantivy.Query.range_query(schema(), "gen_from", unsigned, 0, generation),
            ),
            (
                tantivy.Occur.Must,
                tantivy.Query.range_query(schema(), "gen_to", unsigned, generation + 1, OPEN),
            ),
        ]
    )
