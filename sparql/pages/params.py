"""The query parameters the analyst pages take, checked before any query runs: a bad one is a
``400``, never a value that reaches the store."""

from __future__ import annotations

from collections.abc import Mapping

__all__ = ["BadParameter", "name_param", "page_param", "year_param"]


class BadParameter(ValueError):
    """A query parameter a page cannot use (answered with a 400)."""


def year_param(params: Mapping[str, str], name: str) -> int | None:
    """``?name=YEAR`` (1900 to 2100), or None when absent or empty."""
    value = params.get(name)
    if value is None or value == "":
        return None
    if not value.isdigit() or not 1900 <= int(value) <= 2100:
        raise BadParameter(f"?{name}= must be a year from 1900 to 2100")
    return int(value)


def page_param(params: Mapping[str, str]) -> int:
    """``?page=N`` (from 1), 1 when absent."""
    value = params.get("page") or "1"
    if not value.isdigit() or not 1 <= int(value) <= 100_000:
        raise BadParameter("?page= must be a positive number")
    return int(value)


def name_param(params: Mapping[str, str], name: str) -> str | None:
    """``?name=`` a short name (``cms``: letters, digits, ``-_.``), lower-cased; None when
    absent or empty."""
    value = params.get(name)
    if value is None or value == "":
        return None
    if len(value) > 64 or not all(c.isalnum() or c in "-_." for c in value):
        raise BadParameter(f"?{name}= must be a short name such as cms")
    return value.lower()
