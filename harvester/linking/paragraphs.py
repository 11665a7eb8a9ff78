from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Paragraph:
    number: str | None
    text: str


def split_paragraphs(html: str) -> list[Paragraph]:
    return []
