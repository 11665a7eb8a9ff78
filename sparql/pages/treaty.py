"""The treaty page (``/treaty/cms``): its meetings, its decisions per year (each year's listed,
one click away) and its reporting statistics (national reports per year, the countries that
reported, national plans and focal points).

Aggregate queries only: decisions per year, reports per year, and the few totals; the meetings
in one query; a year's decisions in one query when asked (``?year=``).
"""

from __future__ import annotations

from dataclasses import dataclass

import pyoxigraph as ox

from harvester.vocab import DCTERMS, MEA, RDFS

from ..html import esc
from .layout import PageContext, date_text, definition_list, render_page, section, table, text_in
from .model import Properties, group_rows
from .reading import Reader, integer, labels

__all__ = ["TreatyData", "load_latest", "load_treaty", "load_year", "render_treaty"]

#: Decisions listed under a year.
MAX_YEAR_DECISIONS = 1000
#: The latest decisions listed when no year is asked for.
LATEST = 50

_PREFIXES = """PREFIX mea: <https://w3id.org/mea/ontology#>
PREFIX dcterms: <http://purl.org/dc/terms/>
"""
_OWN = "SELECT ?t ?p ?o WHERE { ?t ?p ?o }"
_DECISIONS_PER_YEAR = (
    _PREFIXES
    + """SELECT ?t ?year (COUNT(DISTINCT ?d) AS ?n) WHERE {
  ?d mea:treaty ?t ; a mea:Decision .
  OPTIONAL { ?d dcterms:issued ?issued }
  BIND(YEAR(?issued) AS ?year)
} GROUP BY ?t ?year"""
)
_REPORTS_PER_YEAR = (
    _PREFIXES
    + """SELECT ?t ?year (COUNT(DISTINCT ?r) AS ?reports) (COUNT(DISTINCT ?country) AS ?countries)
WHERE {
  ?r mea:treaty ?t ; a mea:NationalReport .
  OPTIONAL { ?r mea:country ?country }
  OPTIONAL { ?r dcterms:issued ?issued }
  BIND(YEAR(?issued) AS ?year)
} GROUP BY ?t ?year"""
)
_TOTALS = (
    _PREFIXES
    + """SELECT ?t ?kind (COUNT(DISTINCT ?x) AS ?n) WHERE {
  { ?r mea:treaty ?t ; a mea:NationalReport ; mea:country ?x . BIND("reporting" AS ?kind) }
  UNION { ?x mea:treaty ?t ; a mea:NationalPlan . BIND("plans" AS ?kind) }
  UNION { ?x mea:treaty ?t ; a mea:FocalPoint . BIND("focal" AS ?kind) }
} GROUP BY ?t ?kind"""
)
_MEETINGS = (
    _PREFIXES
    + """SELECT ?s ?p ?o WHERE {
  ?s mea:treaty ?t ; a mea:Meeting ; ?p ?o
  FILTER(?p IN (dcterms:title, mea:startDate, mea:endDate, mea:city, mea:country, mea:meetingType))
}"""
)
_LATEST = (
    _PREFIXES
    + f"""SELECT ?t ?d ?number ?issued WHERE {{
  ?d mea:treaty ?t ; a mea:Decision .
  OPTIONAL {{ ?d dcterms:issued ?issued }}
  OPTIONAL {{ ?d mea:number ?number }}
}} ORDER BY DESC(?issued) ?number LIMIT {LATEST}"""
)
_YEAR = (
    _PREFIXES
    + """SELECT ?t ?y ?d ?number ?issued ?title WHERE {
  ?d mea:treaty ?t ; a mea:Decision ; dcterms:issued ?issued .
  FILTER(YEAR(?issued) = ?y)
  OPTIONAL { ?d mea:number ?number }
  OPTIONAL { ?d dcterms:title ?title }
}"""
)


@dataclass
class YearCount:
    year: int | None
    count: int


@dataclass
class TreatyData:
    iri: str
    treaty: Properties
    decisions: list[YearCount]
    reports: list[tuple[int | None, int, int]]
    totals: dict[str, int]
    meetings: dict[str, Properties]
    labels: dict[str, list[ox.Literal]]


def load_treaty(reader: Reader, iri: str) -> TreatyData | None:
    """The treaty at ``iri``, or None when the store knows nothing about it."""
    node = {"t": ox.NamedNode(iri)}
    own = group_rows(reader.select(_OWN, node), "t").get(iri)
    if own is None:
        return None
    decisions = [
        YearCount(_year(row.get("year")), int(row["n"].value))
        for row in reader.select(_DECISIONS_PER_YEAR, node)
    ]
    reports = [
        (_year(row.get("year")), int(row["reports"].value), int(row["countries"].value))
        for row in reader.select(_REPORTS_PER_YEAR, node)
    ]
    totals = {row["kind"].value: int(row["n"].value) for row in reader.select(_TOTALS, node)}
    meetings = group_rows(reader.select(_MEETINGS, node))
    countries = {c for m in meetings.values() for c in m.iris(MEA + "country")}
    return TreatyData(
        iri,
        own,
        sorted(decisions, key=lambda y: -(y.year or 0)),
        sorted(reports, key=lambda r: -(r[0] or 0)),
        totals,
        meetings,
        labels(reader, sorted(countries)),
    )


def load_year(reader: Reader, iri: str, year: int) -> dict[str, Properties]:
    """The decisions of the treaty dated in ``year`` (``mea:number``, date and titles)."""
    rows = reader.select(_YEAR, {"t": ox.NamedNode(iri), "y": integer(year)})
    grouped: dict[str, Properties] = {}
    for row in rows:
        iri_ = row["d"].value
        entry = grouped.setdefault(iri_, Properties(iri_))
        for name in ("number", "issued", "title"):
            value = row.get(name)
            if value is not None and value not in entry.values[name]:
                entry.values[name].append(value)
    return grouped


def load_latest(reader: Reader, iri: str) -> dict[str, Properties]:
    """The treaty's :data:`LATEST` latest decisions, as :func:`load_year` gives a year's."""
    rows = reader.select(_LATEST, {"t": ox.NamedNode(iri)})
    titles = labels(reader, [row["d"].value for row in rows])
    grouped: dict[str, Properties] = {}
    for row in rows:
        iri_ = row["d"].value
        entry = grouped.setdefault(iri_, Properties(iri_))
        for name in ("number", "issued"):
            value = row.get(name)
            if value is not None and value not in entry.values[name]:
                entry.values[name].append(value)
        entry.values["title"] = list(titles.get(iri_, []))
    return grouped


def _year(term: ox.NamedNode | ox.BlankNode | ox.Literal | None) -> int | None:
    return (
        int(term.value)
        if isinstance(term, ox.Literal) and term.value.lstrip("-").isdigit()
        else None
    )


# -- the page ------------------------------------------------------------------------------------


def render_treaty(
    data: TreatyData, ctx: PageContext, year: int | None, year_decisions: dict[str, Properties]
) -> str:
    own = data.treaty
    names = own.literals(RDFS + "label")
    title, lang = ctx.label({data.iri: names}, data.iri, data.iri.rsplit("/", 1)[-1])
    full = text_in(own.literals(DCTERMS + "title"), ctx)
    short = own.text(DCTERMS + "identifier") or data.iri.rsplit("/", 1)[-1]
    gaps = f'<a href="/gaps#row-{esc(short)}">its row in the gap matrix</a>'
    facts = definition_list(
        [("Full title", full), ("Short name", esc(short)), ("Aichi targets", gaps)]
    )
    parts = [
        facts,
        _decisions(data, ctx, year, year_decisions),
        _reporting(data),
        _meetings(data, ctx),
    ]
    return render_page(title, "\n".join(p for p in parts if p), ctx, title_lang=lang)


def _decisions(
    data: TreatyData, ctx: PageContext, year: int | None, year_decisions: dict[str, Properties]
) -> str:
    if not data.decisions:
        return section("decisions", "Decisions", "<p>No decision has been harvested.</p>")
    total = sum(y.count for y in data.decisions)
    rows = []
    for entry in data.decisions:
        label = str(entry.year) if entry.year is not None else "undated"
        if entry.year is not None:
            href = ctx.with_params(year=str(entry.year))
            label = f'<a href="{esc(href)}#year-{entry.year}">{label}</a>'
        rows.append([label, str(entry.count)])
    body = f"<p>{total} decisions.</p>" + table(
        ["Year", "Decisions"], rows, caption="Decisions per year"
    )
    body += _year_list(year, year_decisions, ctx)
    return section("decisions", "Decisions per year", body)


def _year_list(year: int | None, decisions: dict[str, Properties], ctx: PageContext) -> str:
    """The decisions of ``year``, or the latest ones (newest first) when None."""
    if year is None:
        ordered = sorted(decisions.values(), key=lambda d: d.text("issued") or "", reverse=True)
    else:
        ordered = sorted(decisions.values(), key=lambda d: (d.text("number") or "", d.iri))
    items = []
    for decision in ordered[:MAX_YEAR_DECISIONS]:
        number = decision.text("number") or decision.iri.rsplit("/", 1)[-1]
        title = text_in(decision.literals("title"), ctx)
        date = date_text(decision.first("issued"))
        items.append(
            f"<li>{ctx.paths.link(decision.iri, number)} {title} <small>{date}</small></li>"
        )
    more = (
        f"<p>The first {MAX_YEAR_DECISIONS} of {len(ordered)}; query the endpoint for all.</p>"
        if len(ordered) > MAX_YEAR_DECISIONS
        else ""
    )
    listed = f'<ul class="linked">{"".join(items)}</ul>' if items else "<p>None.</p>"
    anchor = f"year-{year}" if year is not None else "latest"
    heading = f"Decisions of {year}" if year is not None else f"The {LATEST} latest decisions"
    return (
        f'<section id="{anchor}" aria-labelledby="{anchor}-h"><h3 id="{anchor}-h">'
        f"{esc(heading)}</h3>{listed}{more}</section>"
    )


def _reporting(data: TreatyData) -> str:
    totals = data.totals
    facts = definition_list(
        [
            ("Countries that reported", str(totals.get("reporting", 0))),
            ("National plans", str(totals.get("plans", 0))),
            ("Focal points", str(totals.get("focal", 0))),
        ]
    )
    rows = [
        [str(year) if year is not None else "undated", str(reports), str(countries)]
        for year, reports, countries in data.reports
    ]
    body = facts + (
        table(["Year", "National reports", "Countries"], rows, caption="National reports per year")
        if rows
        else "<p>No national report has been harvested.</p>"
    )
    return section("reporting", "Reporting", body)


def _meetings(data: TreatyData, ctx: PageContext) -> str:
    if not data.meetings:
        return section("meetings", "Meetings", "<p>No meeting has been harvested.</p>")
    ordered = sorted(
        data.meetings.values(), key=lambda m: m.text(MEA + "startDate") or "", reverse=True
    )
    rows = []
    for meeting in ordered:
        title = ctx.text(meeting.literals(DCTERMS + "title"))
        text, lang = title if title is not None else (meeting.iri.rsplit("/", 1)[-1], None)
        where = ", ".join(
            [esc(meeting.text(MEA + "city") or "")]
            + [
                ctx.link_labelled(data.labels, c, c.rsplit("/", 1)[-1])
                for c in meeting.iris(MEA + "country")
            ]
        ).strip(", ")
        rows.append(
            [
                date_text(meeting.first(MEA + "startDate")) or "undated",
                ctx.paths.link(meeting.iri, text, lang=lang),
                esc(meeting.text(MEA + "meetingType") or ""),
                where,
            ]
        )
    return section("meetings", "Meetings", table(["Starts", "Meeting", "Type", "Where"], rows))
