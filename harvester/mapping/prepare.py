"""Named transforms a mapping may apply to a raw record before its fields are read
(``prepare = "<name>"`` in a mapping file): for shapes the field tables cannot reach, such as a
paragraph tree. They are pure: the raw payload kept on disk is never changed."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

from . import values

__all__ = ["PREPARERS", "cbd_tree"]


def cbd_tree(record: Mapping[str, Any]) -> dict[str, Any]:
    """A CBD decision tree with its nodes flattened into ``paragraphs``: each with ``number``
    (``"4"``, ``"4(a)"``, ``"A.4"``), ``slug`` (``"04"``, ``"04-a"``) and the node's fields."""
    prepared = dict(record)
    prepared["id"] = record.get("code")
    prepared["paragraphs"] = list(_flatten(record.get("nodes"), parent=None))
    return prepared


def _flatten(nodes: Any, parent: dict[str, Any] | None) -> Iterator[dict[str, Any]]:
    for position, node in enumerate(values.as_list(nodes), start=1):
        if not isinstance(node, Mapping):
            continue
        flat = {**node, **_numbering(node, parent, position)}
        flat.pop("nodes", None)
        yield flat
        yield from _flatten(node.get("nodes"), flat)


def _numbering(
    node: Mapping[str, Any], parent: dict[str, Any] | None, position: int
) -> dict[str, str]:
    section = values.clean_text(node.get("section"))
    paragraph = values.clean_text(node.get("paragraph"))
    # an item's or sub-item's mark, unless its parent carries the same (4(a) -> 4(a)(i))
    marks = [
        mark
        for key in ("item", "subitem")
        if (mark := values.clean_text(node.get(key)))
        and (parent is None or mark != values.clean_text(parent.get(key)))
    ]
    if parent is not None and marks:
        number = parent["number"] + "".join(f"({mark})" for mark in marks)
        slug = "-".join([parent["slug"], *marks])
    else:
        base = paragraph or str(position)
        number = f"{section}.{base}" if section else base
        slug = (f"{section.lower()}-" if section else "") + (
            base.zfill(2) if base.isdigit() else base
        )
    return {"number": number, "slug": values.clean_text(slug.replace(" ", "-")) or str(position)}


PREPARERS: dict[str, Callable[[Mapping[str, Any]], dict[str, Any]]] = {"cbd-tree": cbd_tree}
