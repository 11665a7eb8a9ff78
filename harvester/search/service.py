"""``SERVICE <urn:meahub:search> { ... }`` in a SPARQL query, answered by the index.

pyoxigraph has no hook for a custom ``SERVICE``, so the query is rewritten before it is
evaluated: each such block is found with a SPARQL tokenizer (IRIs, strings and comments are
tokens, so braces or keywords inside them do not count), its pattern read::

    SERVICE <urn:meahub:search> {
      ?record mea:matches "migratory corridors" ;   # the search text (required)
              mea:score ?score ;                     # bound to the score (optional)
              mea:language "fr" ;                    # texts tagged fr or untagged (optional)
              mea:limit 100 .                        # at most this many hits (optional)
    }

the search run on the generation the query is evaluated on, and the block replaced by a
``VALUES`` block of its hits, best first: ``VALUES (?record ?score) { (<iri> "2.5"^^xsd:double)
... }``. Hits become terms written by pyoxigraph's serialiser, never spliced text. The search
thus runs before the rest of the query, inside the same worker (so within the same timeout);
there are at most :data:`MAX_HITS` hits per block (``mea:limit`` may ask for fewer), and the
endpoint's row cap applies to the answer as to any other.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pyoxigraph as ox

from harvester.exceptions import (
    QueryError,
    SearchSyntaxError,
    SearchUnavailableError,
    StoreError,
)
from harvester.store.api import StoreBackend
from harvester.vocab import MEA, XSD

from .index import SearchIndex, generation_number
from .searcher import SearchRequest, search
from .sync import attach, reader_generation

__all__ = [
    "MAX_HITS",
    "SERVICE_IRI",
    "expand",
    "expand_for_folder",
    "expand_for_store",
    "mentions_search",
    "reader_index",
]

SERVICE_IRI = "urn:meahub:search"
#: Hits one SERVICE block may bind (``mea:limit`` may ask for fewer).
MAX_HITS = 10_000
_MATCHES, _SCORE, _LANGUAGE, _LIMIT = (MEA + n for n in ("matches", "score", "language", "limit"))

_TOKEN = re.compile(
    r"""
      (?P<space>\s+)
    | (?P<comment>\#[^\n\r]*)
    | (?P<iri><[^<>"{}|^`\\\x00-\x20]*>)
    | (?P<string>\"\"\"(?:[^"\\]|\\.|"(?!""))*\"\"\"
                | '''(?:[^'\\]|\\.|'(?!''))*'''
                | "(?:[^"\\\n\r]|\\.)*"
                | '(?:[^'\\\n\r]|\\.)*')
    | (?P<var>[?$][\w\u00b7\u0300-\u036f\u203f\u2040]+)
    | (?P<lang>@[A-Za-z]+(?:-[A-Za-z0-9]+)*)
    | (?P<number>[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?)
    | (?P<name>(?:[^\W\d][\w\-.]*)?:(?:[\w\-.:%]|\\.)*|[^\W\d][\w\-]*)
    | (?P<open>\{)
    | (?P<close>\})
    | (?P<other>\^\^|.)
    """,
    re.VERBOSE | re.DOTALL,
)
_ESCAPE = re.compile(r"\\(u[0-9A-Fa-f]{4}|U[0-9A-Fa-f]{8}|.)", re.DOTALL)
_ESCAPES = {"t": "\t", "b": "\b", "n": "\n", "r": "\r", "f": "\f", '"': '"', "'": "'", "\\": "\\"}


@dataclass(frozen=True)
class _Token:
    kind: str
    text: str
    start: int
    end: int


@dataclass(frozen=True)
class _Block:
    """One SERVICE block: its span in the query and what it asks."""

    start: int
    end: int
    record: str
    text: str
    score: str | None
    language: str | None
    limit: int


def mentions_search(query: str) -> bool:
    """Cheap pre-check (every query pays it): could ``query`` call the search service?"""
    return "urn:meahub:" in query


def calls_search(query: str) -> bool:
    """Whether ``query`` has a search ``SERVICE`` block (not only the IRI in a string)."""
    return mentions_search(query) and any(True for _ in _blocks(query))


def _tokens(query: str) -> list[_Token]:
    return [
        _Token(m.lastgroup or "other", m.group(), m.start(), m.end())
        for m in _TOKEN.finditer(query)
        if m.lastgroup not in ("space", "comment")
    ]


def _prefixes(tokens: list[_Token]) -> dict[str, str]:
    prefixes: dict[str, str] = {}
    for i, token in enumerate(tokens[:-2]):
        if token.kind == "name" and token.text.upper() == "PREFIX":
            name, iri = tokens[i + 1], tokens[i + 2]
            if name.kind == "name" and name.text.endswith(":") and iri.kind == "iri":
                prefixes[name.text[:-1]] = iri.text[1:-1]
    return prefixes


def _resolve(token: _Token, prefixes: dict[str, str]) -> str | None:
    if token.kind == "iri":
        return token.text[1:-1]
    if token.kind == "name" and ":" in token.text:
        prefix, _, local = token.text.partition(":")
        if prefix in prefixes:
            return prefixes[prefix] + _ESCAPE.sub(lambda m: m.group(1), local)
    return None


def _blocks(query: str) -> Iterator[_Block]:
    tokens = _tokens(query)
    prefixes = _prefixes(tokens)
    i = 0
    while i < len(tokens):
        token = tokens[i]
        if token.kind == "name" and token.text.upper() == "SERVICE":
            j = i + 1
            if j < len(tokens) and tokens[j].text.upper() == "SILENT":
                j += 1
            if j < len(tokens) and _resolve(tokens[j], prefixes) == SERVICE_IRI:
                block, i = _block(tokens, j + 1, token.start, prefixes)
                yield block
                continue
        i += 1


def _block(
    tokens: list[_Token], at: int, start: int, prefixes: dict[str, str]
) -> tuple[_Block, int]:
    if at >= len(tokens) or tokens[at].kind != "open":
        raise QueryError(f"SERVICE <{SERVICE_IRI}> must be followed by {{ ... }}")
    depth, end = 0, at
    while end < len(tokens):
        depth += {"open": 1, "close": -1}.get(tokens[end].kind, 0)
        if depth == 0:
            break
        end += 1
    if depth:
        raise QueryError(f"SERVICE <{SERVICE_IRI}> {{ is never closed")
    pattern = _Pattern(tokens[at + 1 : end], prefixes)
    return pattern.block(start, tokens[end].end), end + 1


class _Pattern:
    """The triples of a SERVICE block: one subject variable, the search's parameters."""

    def __init__(self, tokens: list[_Token], prefixes: dict[str, str]) -> None:
        self.tokens = tokens
        self.prefixes = prefixes
        self.values: dict[str, list[_Token]] = {}
        self.subjects: set[str] = set()
        self._read()

    def _read(self) -> None:
        i = 0
        tokens = self.tokens
        while i < len(tokens):
            subject = tokens[i]
            if subject.kind != "var":
                raise QueryError(
                    f"the subject of a search pattern must be a variable: {subject.text}"
                )
            self.subjects.add(subject.text[1:])
            i = self._predicates(i + 1)

    def _predicates(self, i: int) -> int:
        tokens = self.tokens
        while i < len(tokens):
            predicate = _resolve(tokens[i], self.prefixes)
            if predicate not in (_MATCHES, _SCORE, _LANGUAGE, _LIMIT):
                raise QueryError(
                    f"a search pattern has mea:matches, mea:score, mea:language and "
                    f"mea:limit only, not {tokens[i].text}"
                )
            i = self._object(predicate, i + 1)
            separator = tokens[i].text if i < len(tokens) else "."
            i += 1
            if separator == ".":
                return i
            if separator != ";":
                raise QueryError(f"unexpected {separator!r} in a search pattern")
            if i >= len(tokens) or tokens[i].text == ".":
                return i + 1
        return i

    def _object(self, predicate: str, i: int) -> int:
        if i >= len(self.tokens):
            raise QueryError("a search pattern ends without its object")
        value = [self.tokens[i]]
        if i + 1 < len(self.tokens) and self.tokens[i + 1].kind == "lang":
            value.append(self.tokens[i + 1])
            i += 1
        elif i + 2 < len(self.tokens) and self.tokens[i + 1].text == "^^":
            value.extend(self.tokens[i + 1 : i + 3])
            i += 2
        self.values.setdefault(predicate, []).append(value[0])
        return i + 1

    def one(self, predicate: str, kind: str) -> _Token | None:
        found = self.values.get(predicate, [])
        if len(found) > 1:
            raise QueryError(f"a search pattern may have one {predicate} only")
        if found and found[0].kind != kind:
            raise QueryError(f"the object of {predicate} must be a {kind}, not {found[0].text}")
        return found[0] if found else None

    def block(self, start: int, end: int) -> _Block:
        if len(self.subjects) != 1:
            raise QueryError("a search pattern has exactly one subject variable (the record)")
        text = self.one(_MATCHES, "string")
        if text is None:
            raise QueryError('a search pattern needs mea:matches "search text"')
        score = self.one(_SCORE, "var")
        language = self.one(_LANGUAGE, "string")
        limit = self.one(_LIMIT, "number")
        count = MAX_HITS if limit is None else _limit(limit.text)
        return _Block(
            start,
            end,
            record=next(iter(self.subjects)),
            text=_string(text.text),
            score=score.text[1:] if score is not None else None,
            language=_string(language.text) if language is not None else None,
            limit=count,
        )


def _limit(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise QueryError(f"mea:limit must be a positive integer, not {text}")
    return min(int(text), MAX_HITS)


def _string(token: str) -> str:
    body = token[3:-3] if token[:3] in ('"""', "'''") else token[1:-1]
    return _ESCAPE.sub(_unescape, body)


def _unescape(match: re.Match[str]) -> str:
    code = match.group(1)
    if code[0] in "uU" and len(code) > 1:
        return chr(int(code[1:], 16))
    return _ESCAPES.get(code, match.group())


_DOUBLE = ox.NamedNode(XSD + "double")


def _values(block: _Block, hits: list[tuple[str, float]]) -> str:
    """The VALUES block that stands for ``block``: every term written by pyoxigraph."""
    if block.score is None:
        rows = " ".join(str(ox.NamedNode(iri)) for iri, _ in hits)
        return f"VALUES ?{block.record} {{ {rows} }}"
    rows = " ".join(
        f"({ox.NamedNode(iri)} {ox.Literal(repr(score), datatype=_DOUBLE)})" for iri, score in hits
    )
    return f"VALUES (?{block.record} ?{block.score}) {{ {rows} }}"


def expand(query: str, index: SearchIndex | None, generation: int) -> str:
    """``query`` with every search SERVICE block replaced by the VALUES of its hits on
    ``generation`` (``query`` itself when it has none).

    :raises QueryError: for a malformed search pattern or search text (the client's: 400).
    :raises StoreError: when the index cannot answer (500).
    """
    if not mentions_search(query):
        return query
    blocks = list(_blocks(query))
    if not blocks:
        return query
    if index is None:
        raise StoreError(f"SERVICE <{SERVICE_IRI}>: full-text search needs the embedded store")
    parts: list[str] = []
    at = 0
    for block in blocks:
        parts.extend((query[at : block.start], _values(block, _hits(index, generation, block))))
        at = block.end
    parts.append(query[at:])
    return "".join(parts)


def _hits(index: SearchIndex, generation: int, block: _Block) -> list[tuple[str, float]]:
    request = SearchRequest(block.text, language=block.language, limit=block.limit, snippets=False)
    try:
        results = search(index, generation, request)
    except SearchSyntaxError as exc:
        raise QueryError(
            f"mea:matches: {exc.message} (at character {exc.position} of the search text)"
        ) from exc
    except SearchUnavailableError as exc:
        raise StoreError(f"SERVICE <{SERVICE_IRI}>: {exc}") from exc
    return [(hit.iri, hit.score) for hit in results.hits]


_READERS: dict[Path, SearchIndex] = {}


def expand_for_folder(query: str, store_path: Path, folder: Path | None) -> str:
    """:func:`expand` in a process that reads the store's generation ``folder`` read-only (a
    query worker): the index is opened read-only, once per process."""
    if not mentions_search(query):
        return query
    generation = generation_number(folder.name) if folder is not None else 0
    return expand(query, reader_index(store_path), generation)


def reader_index(store_path: Path) -> SearchIndex:
    """The index of the store at ``store_path``, opened read-only once per process (a query
    worker's, for ``SERVICE`` blocks and ``/search`` jobs)."""
    index = _READERS.get(store_path)
    if index is None:
        index = _READERS[store_path] = SearchIndex(store_path)
    return index


def expand_for_store(query: str, store: StoreBackend) -> str:
    """:func:`expand` for a query evaluated in this process on ``store`` (an in-memory one, or
    a remote one, which has no index)."""
    if not mentions_search(query):
        return query
    return expand(query, attach(store), reader_generation(store))
