"""The country page (``/country/ALB``): focal points per convention with their roles, national
reports and plans (NBSAPs...) with their dates, and the meetings held there.

Focal-point roles are read in both shapes: a plain ``mea:role`` text, or a role node
``<fp> mea:role <r>. <r> a mea:FocalPointRole; mea:treaty <t>; mea:roleName "..."; mea:order n``
(a node's role is shown under its treaty, in its order). The page works without either.

Four queries, one per kind of record, each over the country's records at once.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from urllib.parse import unquote

import pyoxigraph as ox

from harvester.vocab import DCTERMS, MEA, RDFS, VCARD

from ..html import esc
from .layout import PageContext, date_text, definition_list, render_page, section, table, text_in
from .model import Properties, group_rows
from .reading import Reader, labels

__all__ = ["CountryData", "Role", "load_country", "render_country"]

_PREFIXES = """PREFIX mea: <https://w3id.org/mea/ontology#>
PREFIX dcterms: <http://purl.org/dc/terms/>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
PREFIX vcard: <http://www.w3.org/2006/vcard/ns#>
PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
"""
_COUNTRY = _PREFIXES + "SELECT ?c ?p ?o WHERE { ?c ?p ?o }"
_FOCAL_POINTS = (
    _PREFIXES
    + """SELECT ?s ?p ?o WHERE {
  ?s mea:country ?c ; a mea:FocalPoint ; ?p ?o
  FILTER(?p IN (mea:treaty, rdfs:label, vcard:title, vcard:organization-name, mea:department,
                mea:focalPointType, mea:isPrimary, vcard:hasEmail, mea:role))
}"""
)
_ROLES = (
    _PREFIXES
    + """SELECT ?s ?p ?o WHERE {
  ?fp mea:country ?c ; a mea:FocalPoint ; mea:role ?s .
  ?s ?p ?o FILTER(?p IN (mea:treaty, mea:roleName, mea:order))
}"""
)
_DOCUMENTS = (
    _PREFIXES
    + """SELECT ?s ?p ?o WHERE {
  ?s mea:country ?c .
  { ?s a mea:NationalReport } UNION { ?s a mea:NationalPlan }
  ?s ?p ?o
  FILTER(?p IN (<http://www.w3.org/1999/02/22-rdf-syntax-ns#type>, mea:treaty, dcterms:title,
                dcterms:issued, mea:planType))
}"""
)
_MEETINGS = (
    _PREFIXES
    + """SELECT ?s ?p ?o WHERE {
  ?s mea:country ?c ; a mea:Meeting ; ?p ?o
  FILTER(?p IN (mea:treaty, dcterms:title, mea:startDate, mea:endDate, mea:city, mea:meetingType))
}"""
)


@dataclass(frozen=True)
class Role:
    name: str
    treaty: str | None
    order: int


@dataclass
class CountryData:
    iri: str
    country: Properties
    focal_points: dict[str, Properties]
    roles: dict[str, Role]
    documents: dict[str, Properties]
    meetings: dict[str, Properties]
    treaty_labels: dict[str, list[ox.Literal]] = field(default_factory=dict)


def load_country(reader: Reader, iri: str) -> CountryData | None:
    """The country at ``iri``, or None when the store knows nothing about it."""
    node = {"c": ox.NamedNode(iri)}
    own = group_rows(reader.select(_COUNTRY, node), "c").get(iri)
    if own is None:
        return None
    focal = group_rows(reader.select(_FOCAL_POINTS, node))
    roles = _roles(group_rows(reader.select(_ROLES, node)))
    documents = group_rows(reader.select(_DOCUMENTS, node))
    meetings = group_rows(reader.select(_MEETINGS, node))
    data = CountryData(iri, own, focal, roles, documents, meetings)
    treaties = {
        t
        for group in (focal, documents, meetings)
        for p in group.values()
        for t in p.iris(MEA + "treaty")
    }
    treaties |= {r.treaty for r in roles.values() if r.treaty}
    data.treaty_labels = labels(reader, sorted(treaties))
    return data


def _roles(nodes: dict[str, Properties]) -> dict[str, Role]:
    roles = {}
    for iri, props in nodes.items():
        name = props.text(MEA + "roleName")
        if not name:
            continue
        order = props.text(MEA + "order")
        roles[iri] = Role(
            name,
            next(iter(props.iris(MEA + "treaty")), None),
            int(order) if order and order.lstrip("-").isdigit() else 10_000,
        )
    return roles


# -- the page ------------------------------------------------------------------------------------


def render_country(data: CountryData, ctx: PageContext) -> str:
    own = data.country
    names = [
        *own.literals(RDFS + "label"),
        *own.literals("http://www.w3.org/2004/02/skos/core#prefLabel"),
    ]
    title, lang = ctx.label({data.iri: names}, data.iri, data.iri.rsplit("/", 1)[-1])
    code = own.text(DCTERMS + "identifier") or data.iri.rsplit("/", 1)[-1]
    official = text_in(own.literals(MEA + "officialName"), ctx)
    facts = definition_list([("ISO 3166-1 code", esc(code)), ("Official name", official)])
    counts = (
        f"<p>{len(data.focal_points)} focal point{'s' if len(data.focal_points) != 1 else ''}, "
        f"{_count(data.documents, MEA + 'NationalReport')} national reports, "
        f"{_count(data.documents, MEA + 'NationalPlan')} national plans, "
        f"{len(data.meetings)} meeting{'s' if len(data.meetings) != 1 else ''} held here.</p>"
    )
    parts = [facts, counts, _focal_points(data, ctx), _documents(data, ctx), _meetings(data, ctx)]
    return render_page(title, "\n".join(p for p in parts if p), ctx, title_lang=lang)


def _count(records: dict[str, Properties], cls: str) -> int:
    return sum(1 for r in records.values() if r.has_type(cls))


def _treaty_name(data: CountryData, iri: str, ctx: PageContext) -> str:
    return ctx.label(data.treaty_labels, iri, iri.rsplit("/", 1)[-1])[0]


def _by_treaty(
    data: CountryData, records: dict[str, Properties], ctx: PageContext
) -> list[tuple[str, list[Properties]]]:
    groups: dict[str, list[Properties]] = defaultdict(list)
    for record in records.values():
        for treaty in record.iris(MEA + "treaty") or [""]:
            groups[treaty].append(record)
    return sorted(
        groups.items(),
        key=lambda item: _treaty_name(data, item[0], ctx).lower() if item[0] else "~",
    )


def _focal_points(data: CountryData, ctx: PageContext) -> str:
    if not data.focal_points:
        return section("focal-points", "Focal points", "<p>No focal point is recorded.</p>")
    blocks = []
    for treaty, people in _by_treaty(data, data.focal_points, ctx):
        rows = [
            _focal_point_row(p, treaty, data, ctx)
            for p in sorted(
                people,
                key=lambda p: (
                    p.text(MEA + "isPrimary") != "true",
                    p.text(RDFS + "label") or p.iri,
                ),
            )
        ]
        heading = _treaty_heading(data, treaty, ctx)
        blocks.append(
            f"<h3>{heading}</h3>\n"
            + table(["Name", "Role", "Position", "Institution", "Contact"], rows)
        )
    return section("focal-points", "Focal points per convention", "\n".join(blocks))


def _treaty_heading(data: CountryData, treaty: str, ctx: PageContext) -> str:
    if not treaty:
        return "No treaty given"
    return ctx.link_labelled(data.treaty_labels, treaty, treaty.rsplit("/", 1)[-1])


def _focal_point_row(
    person: Properties, treaty: str, data: CountryData, ctx: PageContext
) -> list[str]:
    name = person.text(RDFS + "label") or person.iri.rsplit("/", 1)[-1]
    primary = (
        ' <small class="primary">(primary)</small>'
        if person.text(MEA + "isPrimary") == "true"
        else ""
    )
    emails = [
        ctx.paths.link(e, unquote(e.removeprefix("mailto:")))
        for e in person.iris(VCARD + "hasEmail")
    ]
    institution = " — ".join(
        esc(v)
        for v in (person.text(VCARD + "organization-name"), person.text(MEA + "department"))
        if v
    )
    return [
        ctx.paths.link(person.iri, name.strip() or person.iri) + primary,
        _roles_of(person, treaty, data),
        esc(person.text(VCARD + "title") or ""),
        institution,
        ", ".join(emails),
    ]


def _roles_of(person: Properties, treaty: str, data: CountryData) -> str:
    texts: list[tuple[int, str]] = []
    for value in person.all(MEA + "role"):
        if isinstance(value, ox.Literal):
            texts.append((10_000, value.value))
            continue
        role = data.roles.get(value.value)
        if role is not None and (role.treaty is None or role.treaty == treaty):
            texts.append((role.order, role.name))
    kind = person.text(MEA + "focalPointType")
    if kind:
        texts.append((20_000, kind))
    shown = [text for _, text in sorted(dict.fromkeys(texts))]
    return "<br>".join(esc(t) for t in dict.fromkeys(shown))


def _documents(data: CountryData, ctx: PageContext) -> str:
    if not data.documents:
        return section("reports", "National reports and plans", "<p>None recorded.</p>")
    blocks = []
    for treaty, documents in _by_treaty(data, data.documents, ctx):
        ordered = sorted(documents, key=lambda d: d.text(DCTERMS + "issued") or "", reverse=True)
        rows = [_document_row(d, ctx) for d in ordered]
        blocks.append(
            f"<h3>{_treaty_heading(data, treaty, ctx)}</h3>\n"
            + table(["Submitted", "Kind", "Title"], rows)
        )
    return section("reports", "National reports and plans", "\n".join(blocks))


def _document_row(document: Properties, ctx: PageContext) -> list[str]:
    if document.has_type(MEA + "NationalPlan"):
        plan = document.text(MEA + "planType")
        kind = f"national plan ({plan.upper()})" if plan else "national plan"
    else:
        kind = "national report"
    title = ctx.text(document.literals(DCTERMS + "title"))
    text, lang = title if title is not None else (document.iri.rsplit("/", 1)[-1], None)
    return [
        date_text(document.first(DCTERMS + "issued")) or "undated",
        esc(kind),
        ctx.paths.link(document.iri, text, lang=lang),
    ]


def _meetings(data: CountryData, ctx: PageContext) -> str:
    if not data.meetings:
        return section("meetings", "Meetings held here", "<p>None recorded.</p>")
    ordered = sorted(
        data.meetings.values(), key=lambda m: m.text(MEA + "startDate") or "", reverse=True
    )
    rows = [_meeting_row(m, data, ctx) for m in ordered]
    return section(
        "meetings",
        "Meetings held here",
        table(["Dates", "Meeting", "Convention", "City"], rows),
    )


def _meeting_row(meeting: Properties, data: CountryData, ctx: PageContext) -> list[str]:
    title = ctx.text(meeting.literals(DCTERMS + "title"))
    text, lang = title if title is not None else (meeting.iri.rsplit("/", 1)[-1], None)
    start, end = (
        date_text(meeting.first(MEA + "startDate")),
        date_text(meeting.first(MEA + "endDate")),
    )
    dates = f"{start} – {end}" if start and end else start or "undated"
    treaties = ", ".join(
        ctx.link_labelled(data.treaty_labels, t, t.rsplit("/", 1)[-1])
        for t in meeting.iris(MEA + "treaty")
    )
    return [
        dates,
        ctx.paths.link(meeting.iri, text, lang=lang),
        treaties,
        esc(meeting.text(MEA + "city") or ""),
    ]
