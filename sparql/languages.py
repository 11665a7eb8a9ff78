"""Choosing among language-tagged literals by ``Accept-Language`` (RFC 9110 / RFC 4647 lookup).

The requested languages come first (by quality, then order), then English, then literals without
a language tag, then any other language, so a page always has a title when a record has one.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import pyoxigraph as ox

__all__ = ["FALLBACK_LANGUAGE", "best_literal", "preferred_languages", "rank_literals"]

FALLBACK_LANGUAGE = "en"


def preferred_languages(header: str | None, override: str | None = None) -> list[str]:
    """Language ranges of an ``Accept-Language`` header, best first (``*`` and ``q=0`` dropped);
    ``override`` (a ``?lang=`` parameter) goes before them all."""
    ranked: list[tuple[float, int, str]] = []
    for index, element in enumerate((header or "").split(",")):
        tag, q = _parse_element(element)
        if tag and tag != "*" and q > 0:
            ranked.append((-q, index, tag))
    languages = [tag for _, _, tag in sorted(ranked)]
    if override and override.strip():
        languages.insert(0, override.strip().lower())
    return languages


def _parse_element(element: str) -> tuple[str, float]:
    tag, *params = (part.strip() for part in element.split(";"))
    q = 1.0
    for param in params:
        key, _, value = param.partition("=")
        if key.strip().lower() == "q":
            try:
                q = float(value)
            except ValueError:
                q = 0.0
    return tag.lower(), q


def _rank(literal: ox.Literal, languages: Sequence[str]) -> tuple[int, str]:
    tag = (literal.language or "").lower()
    for position, wanted in enumerate(languages):
        if tag == wanted or tag.startswith(wanted + "-") or wanted.startswith(tag + "-") and tag:
            return position, tag
    after = len(languages)
    if tag == FALLBACK_LANGUAGE or tag.startswith(FALLBACK_LANGUAGE + "-"):
        return after, tag
    return (after + 1, tag) if not tag else (after + 2, tag)


def rank_literals(literals: Iterable[ox.Literal], languages: Sequence[str]) -> list[ox.Literal]:
    """``literals`` ordered best first for a reader of ``languages``."""
    return sorted(literals, key=lambda lit: (_rank(lit, languages), lit.value))


def best_literal(literals: Iterable[ox.Literal], languages: Sequence[str]) -> ox.Literal | None:
    """The literal to show to a reader of ``languages`` (see the module docstring)."""
    ranked = rank_literals(literals, languages)
    return ranked[0] if ranked else None
