"""The analyst queries of sparql/queries/ (one per user story) on a small hand-written source,
with the exact rows a careful reader expects from it."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from harvester.demo import Dataset
from harvester.linking import METHOD

from .conftest import Hub, provider

QUERIES = Path(__file__).resolve().parent.parent / "sparql" / "queries"
HUB, AICHI, TREATY, COUNTRY = (
    "http://hub.test/",
    "https://w3id.org/mea/aichi/",
    "https://w3id.org/mea/treaty/",
    "https://w3id.org/mea/country/",
)


def _when(year: int, month: int = 6, day: int = 1) -> datetime:
    return datetime(year, month, day, tzinfo=UTC)


def _text(value: str) -> list[dict[str, str]]:
    return [{"language": "en", "value": value}]


def _decision(
    rid: str, treaty: str, number: str, year: int, content: str, **extra: Any
) -> dict[str, Any]:
    return {"id": rid, "treaty": treaty, "number": number, "type": "decision", "status": "active",
            "published": _when(year), "updated": _when(year), "title": _text(f"Decision {number}"),
            "content": _text(content), "keywords": [], "files": [], "meetingId": None,
            "meetingTitle": "COP", **extra}  # fmt: skip


def _fixture() -> Dataset:
    data = Dataset()
    data.add("Meetings", {"id": "m1", "treaty": "cms", "country": "BO", "city": "La Paz", "start": _when(2017, 10, 23),
                          "end": _when(2017, 10, 28), "title": _text("COP12"), "updated": _when(2017)})  # fmt: skip
    data.add("Decisions", _decision("d1", "cms", "Res.12.1", 2017,
             "<p>1. URGES Parties to designate new protected areas for migratory species.</p>"
             "<p>2. DECIDES to hold its next meeting in La Paz.</p>", meetingId="m1",
             keywords=[{"term": "Aichi Target 11"}]))  # fmt: skip
    data.add(
        "Decisions",
        _decision(
            "d2",
            "cbd",
            "XIII/5",
            2016,
            "<p>1. INVITES Parties to expand their networks of marine protected areas.</p>",
        ),
    )
    data.add("Decisions", _decision("d3", "cbd", "IX/4", 2008,
             "<p>1. REQUESTS Parties to prevent the introduction of invasive alien species and to eradicate established populations.</p>"))  # fmt: skip
    for rid, treaty, country in (("c1", "cms", "BO"), ("c2", "cbd", "PE")):
        data.add("Contacts", {"id": rid, "country": country, "treaties": [treaty], "prefix": "Ms.",
                              "firstName": "Ana", "lastName": rid.upper(), "updated": _when(2020)})  # fmt: skip
    data.add("CountryReports", {"id": "r1", "treaty": "cms", "country": "BOL", "submission": _when(2015, 3, 1),
                                "title": _text("National report of Bolivia"), "updated": _when(2015)})  # fmt: skip
    data.add("CountryReports", {"id": "r2", "treaty": "cbd", "country": "AL", "submission": _when(2019, 1, 9),
                                "title": _text("Sixth national report of Albania"), "updated": _when(2019)})  # fmt: skip
    data.add("NationalPlans", {"id": "p1", "treaty": "cbd", "country": "bo", "type": "nbsap", "submission": _when(2016, 2, 2),
                               "title": _text("NBSAP of Bolivia"), "updated": _when(2016)})  # fmt: skip
    return data


@pytest.fixture
def loaded(hub: Hub) -> Hub:
    report = hub.harvest(provider(_fixture()).handle)
    assert report.failures == []
    return hub


def _run(hub: Hub, name: str) -> list[tuple[str | None, ...]]:
    query = next(QUERIES.glob(f"{name}-*.rq")).read_text()
    return [
        tuple(None if t is None else t.value for t in row) for row in hub.runtime.store.query(query)
    ]  # type: ignore[union-attr]


def _d(rid: str) -> str:
    return f"{HUB}decision/prov/{rid}"


def test_01_decisions_linked_to_aichi_11_and_how(loaded: Hub) -> None:
    rows = _run(loaded, "01")
    meeting, d1_date, d2_date = (
        f"{HUB}meeting/prov/m1",
        "2017-06-01T00:00:00Z",
        "2016-06-01T00:00:00Z",
    )
    assert [row[:7] for row in rows] == [
        (_d("d2"), _d("d2"), "XIII/5", TREATY + "cbd", None, d2_date, METHOD),
        (_d("d2"), _d("d2") + "/paragraph/1", "1", TREATY + "cbd", None, d2_date, METHOD),
        (_d("d1"), _d("d1"), "Res.12.1", TREATY + "cms", meeting, d1_date, "source"),
        (_d("d1"), _d("d1") + "/paragraph/1", "1", TREATY + "cms", meeting, d1_date, METHOD),
    ]
    assert float(rows[2][7] or 0) == 1.0
    assert all(0.5 < float(row[7] or 0) <= 1 for row in rows)


def test_02_gap_analysis_since_2010(loaded: Hub) -> None:
    rows = _run(loaded, "02")
    counts = {(treaty, code): int(n or 0) for treaty, code, _, n in rows}
    assert len(rows) == 2 * 20
    assert {key for key, n in counts.items() if n} == {
        (TREATY + "cbd", "AT11"),
        (TREATY + "cms", "AT11"),
    }
    assert counts[(TREATY + "cbd", "AT09")] == 0  # decision IX/4 is from 2008


def test_03_country_profile_of_bolivia(loaded: Hub) -> None:
    rows = {(kind, treaty, item, date) for kind, treaty, item, _, date in _run(loaded, "03")}
    assert rows == {
        ("focal point", TREATY + "cms", f"{HUB}focal-point/prov/c1", None),
        (
            "national report",
            TREATY + "cms",
            f"{HUB}national-report/prov/r1",
            "2015-03-01T00:00:00Z",
        ),
        ("national plan", TREATY + "cbd", f"{HUB}national-plan/prov/p1", "2016-02-02T00:00:00Z"),
        ("meeting held there", TREATY + "cms", f"{HUB}meeting/prov/m1", "2017-10-23T00:00:00Z"),
    }


def test_04_reporting_overview(loaded: Hub) -> None:
    assert _run(loaded, "04") == [
        (TREATY + "cbd", COUNTRY + "ALB", "2019", "1"),
        (TREATY + "cms", COUNTRY + "BOL", "2015", "1"),
    ]


def test_05_focal_points_without_reports(loaded: Hub) -> None:
    assert _run(loaded, "05") == [(TREATY + "cbd", COUNTRY + "PER")]


def test_06_from_gbf_target_3_to_decisions(loaded: Hub) -> None:
    rows = _run(loaded, "06")
    linked = {(aichi, decision) for _, aichi, decision, *_ in rows if decision}
    assert linked == {(AICHI + "target-11", _d("d1")), (AICHI + "target-11", _d("d2"))}


def test_07_provenance_of_records(loaded: Hub) -> None:
    rows = {row[0]: row for row in _run(loaded, "07")}
    record, source, url, run, harvested, _, graph = rows[_d("d1")]
    assert (source, url) == (f"{HUB}source/prov", "http://prov.test/informea.svc/Decisions('d1')")
    assert run and run.startswith(f"{HUB}run/prov-") and harvested
    assert graph == f"{HUB}graph/prov/decisions/d1"
    assert (
        len(rows) == 9
    )  # every harvested record (1 meeting, 3 decisions, 2 focal points, 2 reports, 1 plan)


def test_08_changed_since(loaded: Hub) -> None:
    records = {row[0] for row in _run(loaded, "08")}
    assert records == {row[0] for row in _run(loaded, "07")}
