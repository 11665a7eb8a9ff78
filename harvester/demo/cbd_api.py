"""A mock of the CBD decision-tracking API (``/api/v2021/decisions`` and ``.../{code}/tree``),
the one harvestable source of paragraph-level decisions with Aichi/GBF target tags
(INFORMEA-API.md sections 3.2 and 7.1).

The decisions are the CBD-family decisions of a :class:`~harvester.demo.dataset.Dataset`; each
becomes a tree: numbered paragraph nodes (``(a)`` sub-items as child nodes) with ``html`` in
English, ``actors``, ``statuses`` and the target tags a secretariat would give them, by the
decision's topic (procedural paragraphs get none). Deleted decisions answer 404.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

import httpx

from .dataset import Dataset, Record

__all__ = ["TOPIC_SUBJECTS", "TOPIC_TARGETS", "CbdDecisionsProvider"]

_TREATY_CODES = {
    "cbd": ("XXVII8", "CBD"),
    "cartagena": ("XXVII8a", "CP"),
    "nagoya": ("XXVII8b", "NP"),
}

#: Aichi and GBF targets a careful secretariat would tag a paragraph of each topic with.
TOPIC_TARGETS: dict[str, tuple[tuple[int, ...], tuple[int, ...]]] = {
    "Protected areas": ((11,), (3,)),
    "Invasive alien species": ((9,), (6,)),
    "Sustainable use of biodiversity": ((4, 7), (5, 9)),
    "Resource mobilization and the financial mechanism": ((20,), (19,)),
    "Capacity-building and technical cooperation": ((19,), (20,)),
    "Pollution, including nutrients and plastics": ((8,), (7,)),
    "Marine and coastal biodiversity": ((6, 10), (3,)),
    "Forest biodiversity": ((5, 7), (10,)),
    "Biodiversity and climate change": ((10, 15), (8,)),
    "Access to genetic resources and benefit-sharing": ((16,), (13,)),
    "Traditional knowledge and customary sustainable use": ((18,), (22,)),
    "Communication, education and public awareness": ((1,), (16,)),
    "Strategic plan and national biodiversity strategies": ((17,), ()),
    "Incentive measures": ((3,), (18,)),
    "Ecosystem restoration": ((14, 15), (2,)),
    "Conservation of threatened species": ((12,), (4,)),
    "Scientific assessments and indicators": ((19,), (21,)),
    "Plant genetic resources for food and agriculture": ((13,), (4,)),
}
#: CBD thesaurus subjects (CBD-SUBJECTS) a secretariat would tag a paragraph of some topics with.
TOPIC_SUBJECTS: dict[str, tuple[str, ...]] = {
    "Protected areas": ("CBD-SUBJECT-PA",),
    "Invasive alien species": ("CBD-SUBJECT-IAS",),
    "Marine and coastal biodiversity": ("CBD-SUBJECT-MAR",),
    "Access to genetic resources and benefit-sharing": ("CBD-SUBJECT-ABS",),
}
_PROCEDURAL = re.compile(
    r"hold its next meeting|gratitude|budget|takes note of the report|rules of procedure|"
    r"agenda|elects the members|official languages",
    re.I,
)
_PARAGRAPH = re.compile(r"<p>(\d+)\. (.*?)</p>((?:<p>\([a-h]\) .*?</p>)*)", re.S)
_ITEM = re.compile(r"<p>\(([a-h])\) (.*?)</p>", re.S)


class CbdDecisionsProvider:
    """``handle(request) -> httpx.Response`` for ``httpx.MockTransport`` or the demo app.

    :param base_url: e.g. ``http://cbd.test`` (the API lives under ``/api/v2021``).
    """

    def __init__(self, dataset: Dataset, *, base_url: str, page_limit: int | None = None) -> None:
        self.dataset = dataset
        self.base_url = base_url.rstrip("/")
        self.base_path = urlsplit(self.base_url).path.rstrip("/")
        self.page_limit = page_limit
        self.requests = 0

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests += 1
        path = unquote(request.url.raw_path.decode().split("?")[0])
        if not path.startswith(self.base_path + "/api/v2021/decisions"):
            return _json({"error": "not found"}, 404)
        rest = path[len(self.base_path + "/api/v2021/decisions") :].strip("/")
        if not rest:
            return self._listing(request)
        code, _, tail = rest.rpartition("/tree") if rest.endswith("/tree") else (rest, "", "")
        decision = self._by_code().get(code)
        if decision is None:
            return _json({"error": f"decision {code} not found"}, 404)
        return _json(self._tree(decision) if rest.endswith("/tree") else _summary(decision))

    def _listing(self, request: httpx.Request) -> httpx.Response:
        items = [_summary(d) for d in self._by_code().values()]
        skip = int(request.url.params.get("skip", "0"))
        limit = int(request.url.params.get("limit", str(len(items) or 1)))
        if self.page_limit is not None:
            limit = min(limit, self.page_limit)
        return _json(items[skip : skip + limit])

    def _by_code(self) -> dict[str, Record]:
        codes: dict[str, Record] = {}
        for record in self.dataset["Decisions"].values():
            if record["treaty"] in _TREATY_CODES:
                codes[_code(record)] = record
        return codes

    def _tree(self, record: Record) -> dict[str, Any]:
        title = _english(record.get("title"))
        aichi, gbf = TOPIC_TARGETS.get(title, ((), ()))
        tags = _Tags(aichi, gbf, _gbf_goals(gbf), TOPIC_SUBJECTS.get(title, ()))
        content = _english(record.get("content"))
        nodes = list(_nodes(_code(record), content, tags))
        return {**_summary(record), "nodes": nodes}


def _json(body: Any, status: int = 200) -> httpx.Response:
    return httpx.Response(
        status,
        content=json.dumps(body, default=str).encode(),
        headers={"content-type": "application/json; charset=utf-8"},
    )


def _english(texts: Any) -> str:
    for item in texts or []:
        if item.get("language") == "en":
            return str(item.get("value") or "")
    return ""


def _code(record: Record) -> str:
    acronym = _TREATY_CODES[record["treaty"]][1]
    session, _, number = str(record["number"]).partition("/")
    digits = re.sub(r"\D", "", number) or "0"
    return f"{acronym}/COP/{_roman_or_int(session):02d}/{int(digits):02d}"


def _roman_or_int(text: str) -> int:
    match = re.search(r"([0-9]+|[IVXL]+)\s*$", text.strip().upper())
    text = match.group(1) if match else "0"
    if text.isdigit():
        return int(text)
    values = {"I": 1, "V": 5, "X": 10, "L": 50}
    total = 0
    for i, char in enumerate(text):
        value = values.get(char, 0)
        following = values.get(text[i + 1], 0) if i + 1 < len(text) else 0
        total += -value if value < following else value
    return total


def _summary(record: Record) -> dict[str, Any]:
    code = _code(record)
    treaty_code, acronym = _TREATY_CODES[record["treaty"]]
    _, _, session, decision = code.split("/")
    return {
        "_id": record["id"],
        "code": code,
        "symbol": record["number"],
        "body": "COP" if acronym == "CBD" else "CP-MOP" if acronym == "CP" else "NP-MOP",
        "session": int(session),
        "decision": int(decision),
        "treaty": treaty_code,
        "title": {i["language"]: i["value"] for i in record.get("title") or []},
        "meeting": f"{acronym}-COP-{session}",
        "updatedOn": record.get("updated") or record.get("published"),
    }


@dataclass(frozen=True)
class _Tags:
    """The tags of a decision's substantive paragraphs (procedural ones get none)."""

    aichi: tuple[int, ...] = ()
    gbf: tuple[int, ...] = ()
    goals: tuple[str, ...] = ()
    subjects: tuple[str, ...] = ()


def _gbf_goals(targets: tuple[int, ...]) -> tuple[str, ...]:
    """The GBF goals the targets most directly serve (A: 1-8, B: 9-12, C: 13, D: 19-20)."""
    goals = {"A" if t <= 8 else "B" if t <= 12 else "C" if t == 13 else "D" for t in targets
             if t <= 13 or t in (19, 20)}  # fmt: skip
    return tuple(f"GBF-GOAL-{g}" for g in sorted(goals))


def _nodes(code: str, content: str, tags: _Tags) -> Iterator[dict[str, Any]]:
    for match in _PARAGRAPH.finditer(content):
        number, text, items = int(match.group(1)), match.group(2), match.group(3)
        node_code = f"{code}/{number:02d}"
        own = _Tags() if _PROCEDURAL.search(text) else tags
        children = [
            _node(f"{node_code}.{letter}", number, letter, body, own)
            for letter, body in _ITEM.findall(items)
        ]
        yield {**_node(node_code, number, None, text, own), "nodes": children}


def _node(code: str, paragraph: int, item: str | None, text: str, tags: _Tags) -> dict[str, Any]:
    return {
        "_id": code.replace("/", "-").lower(),
        "code": code,
        "type": "operational" if tags.aichi else "informational",
        "section": None,
        "paragraph": paragraph,
        "item": item,
        "subitem": None,
        "html": {"en": f"<p>{text}</p>"},
        "actors": ["parties"],
        "statuses": ["active"],
        "aichiTargets": [f"AICHI-TARGET-{t:02d}" for t in tags.aichi],
        "gbfTargets": [f"GBF-TARGET-{t:02d}" for t in tags.gbf],
        "gbfGoals": list(tags.goals),
        "subjects": list(tags.subjects),
        "nodes": [],
    }
