"""What a public query may not do: update the store, or call a SERVICE outside the allow-list.

pyoxigraph evaluates ``SERVICE <url>`` by fetching ``url`` itself, so an open endpoint would let
anyone make the server send HTTP requests (to the intranet, for instance). pyoxigraph exposes
neither its parser nor a switch to turn federation off, so this module reads the query with a
small lexer: IRIs, string literals and comments are recognised first, so that a keyword inside
them does not count, and ``SERVICE`` targets are resolved against the query's ``PREFIX``\\es.
A target that is a variable, or cannot be resolved, is refused.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Iterator, Sequence

__all__ = [
    "INTERNAL_SERVICES",
    "UPDATE_KEYWORDS",
    "declares_dataset",
    "has_relative_iri",
    "is_update",
    "refused_services",
    "service_targets",
]

log = logging.getLogger(__name__)

UPDATE_KEYWORDS = frozenset(
    {"INSERT", "DELETE", "LOAD", "CLEAR", "CREATE", "DROP", "COPY", "MOVE", "ADD", "WITH"}
)

_TOKEN = re.compile(
    r"""
      (?P<iri><[^<>"{}|^`\\\x00-\x20]*>)
    | (?P<string>\"\"\"(?:[^"\\]|\\.|"(?!""))*\"\"\"
                | '''(?:[^'\\]|\\.|'(?!''))*'''
                | "(?:[^"\\\n\r]|\\.)*"
                | '(?:[^'\\\n\r]|\\.)*')
    | (?P<comment>\#[^\n\r]*)
    | (?P<word>[?$]?(?:[\w\-.:%]|\\.|[^\x00-\x7f])+)
    | (?P<other>\S)
    """,
    re.VERBOSE | re.DOTALL,
)


def _tokens(text: str) -> Iterator[tuple[str, str]]:
    """(kind, text) of each IRI, word and punctuation token; strings and comments dropped."""
    for match in _TOKEN.finditer(text):
        kind = match.lastgroup or "other"
        if kind not in ("string", "comment"):
            yield kind, match.group()


def _skip_prologue(tokens: list[tuple[str, str]]) -> tuple[dict[str, str], int]:
    """The ``PREFIX`` declarations and the index of the first token after the prologue."""
    prefixes: dict[str, str] = {}
    i = 0
    while i < len(tokens) and tokens[i][1].upper() in ("PREFIX", "BASE"):
        if tokens[i][1].upper() == "BASE":
            i += 2
            continue
        if i + 2 < len(tokens) and tokens[i + 2][0] == "iri":
            prefixes[tokens[i + 1][1].rstrip(":")] = tokens[i + 2][1][1:-1]
        i += 3
    return prefixes, i


def is_update(text: str) -> bool:
    """True when ``text`` is a SPARQL Update request rather than a query.

    Reads tokens only up to the first one after the prologue (this runs on every query).
    """
    tokens = _tokens(text)
    for _, value in tokens:
        word = value.upper()
        if word == "PREFIX":  # PREFIX name: <iri>
            next(tokens, None)
            next(tokens, None)
        elif word != "BASE":  # BASE <iri> is skipped as two tokens
            return word in UPDATE_KEYWORDS
        else:
            next(tokens, None)
    return False


def declares_dataset(text: str) -> bool:
    """True when the query ``text`` has a ``FROM`` or ``FROM NAMED`` clause (outside strings,
    IRIs and comments)."""
    return any(kind == "word" and value.upper() == "FROM" for kind, value in _tokens(text))


_SCHEME = re.compile(r"<[A-Za-z][A-Za-z0-9+.\-]*:")
#: something that may be an IRI without a scheme; only then is the query lexed (this runs on
#: every query, and most have absolute IRIs only)
_MAYBE_RELATIVE = re.compile(r"<(?![A-Za-z][A-Za-z0-9+.\-]*:)[^<>\"{}|^`\\\x00-\x20]*>")


def has_relative_iri(text: str) -> bool:
    """True when ``text`` has an IRI without a scheme (``<s>``, ``<#x>``, ``<>``)."""
    if not _MAYBE_RELATIVE.search(text):
        return False
    return any(kind == "iri" and not _SCHEME.match(value) for kind, value in _tokens(text))


def service_targets(text: str) -> list[str | None]:
    """The endpoint IRI of each ``SERVICE`` in ``text``; None where it is not a constant IRI."""
    if "service" not in text.lower():  # the common case, without lexing
        return []
    tokens = list(_tokens(text))
    prefixes, _ = _skip_prologue(tokens)
    targets: list[str | None] = []
    for i, (kind, value) in enumerate(tokens):
        if kind == "word" and value.upper() == "SERVICE":
            targets.append(_target(tokens[i + 1 : i + 3], prefixes))
    return targets


def _target(following: Sequence[tuple[str, str]], prefixes: dict[str, str]) -> str | None:
    if following and following[0][1].upper() == "SILENT":
        following = following[1:]
    if not following:
        return None
    kind, value = following[0]
    if kind == "iri":
        return value[1:-1]
    prefix, colon, local = value.partition(":")
    if kind == "word" and colon and prefix in prefixes and "\\" not in local:
        return prefixes[prefix] + local
    return None


#: Services answered inside MEA Hub, never fetched: the full-text search
#: (:mod:`harvester.search.service`), so the allow-list does not apply to them.
INTERNAL_SERVICES = frozenset({"urn:meahub:search"})


def refused_services(text: str, allowlist: Iterable[str]) -> list[str]:
    """``SERVICE`` targets of ``text`` that are neither in ``allowlist`` nor internal
    (``"?"`` for a variable)."""
    allowed = set(allowlist) | INTERNAL_SERVICES
    return [t or "?" for t in service_targets(text) if t is None or t not in allowed]
