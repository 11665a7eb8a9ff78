"""The decision page: a decision as a document.

Title in the reader's language (the others one click away), number, treaty, meeting, date,
status and type; the paragraphs in published order with their text and, for each, its Aichi and
GBF target links and how they were made (given by the source, or inferred with the score and the
cues matched); the decision's own links; its files and source; its provenance. The content HTML
from the source is shown sanitised (:mod:`sparql.pages.sanitize`), never as source.

Three queries, none per row: the decision's statements; the statements of the nodes it owns
(paragraphs, files, target-link nodes, those of its paragraphs); labels and dates of the IRIs
the page names.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import pyoxigraph as ox

from harvester.vocab import DCTERMS, FOAF, MEA, PROV

from ..html import esc
from .layout import (
    PageContext,
    date_text,
    definition_list,
    other_languages,
    render_page,
    section,
    table,
    text_in,
)
from .model import (
    Properties,
    TargetLink,
    group_rows,
    links_of,
    ordered_paragraphs,
    paragraph_anchor,
    score_text,
)
from .reading import Reader, preferred_labels
from .sanitize import sanitize

__all__ = ["DecisionView", "load_decision", "render_decision"]

_PREFIXES = (
    "PREFIX mea: <https://w3id.org/mea/ontology#>\n"
    "PREFIX prov: <http://www.w3.org/ns/prov#>\n"
    "PREFIX dcterms: <http://purl.org/dc/terms/>\n"
    "PREFIX skos: <http://www.w3.org/2004/02/skos/core#>\n"
    "PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>\n"
)
_OWN = "SELECT ?d ?p ?o WHERE { ?d ?p ?o }"
# Two plain queries rather than one union: the engine answers them several times faster.
_NODES = _PREFIXES + (
    "SELECT ?n ?p ?o WHERE { ?d mea:paragraph|mea:file|mea:targetLink ?n . ?n ?p ?o }"
)
_PARAGRAPH_LINKS = _PREFIXES + (
    "SELECT ?n ?p ?o WHERE { ?d mea:paragraph/mea:targetLink ?n . ?n ?p ?o }"
)
_FACTS = (
    _PREFIXES
    + """SELECT ?x ?p ?o WHERE { {values} ?x ?p ?o
  FILTER(?p IN (skos:prefLabel, rdfs:label, dcterms:title, skos:notation, skos:altLabel,
                mea:startDate, mea:endDate, prov:startedAtTime, prov:endedAtTime, mea:runStatus))
}"""
)


@dataclass
class DecisionView:
    """What the page shows about one decision."""

    decision: Properties
    paragraphs: list[Properties]
    nodes: dict[str, Properties]
    related: dict[str, Properties]
    _links: dict[str, list[TargetLink]] = field(default_factory=dict)

    def links(self, subject: Properties) -> list[TargetLink]:
        found = self._links.get(subject.iri)
        if found is None:
            found = self._links[subject.iri] = links_of(subject, self.nodes)
        return found

    def labels(self) -> dict[str, list[ox.Literal]]:
        out: dict[str, list[ox.Literal]] = {}
        for iri, props in self.related.items():
            found = [v for v in preferred_labels(props.values) if isinstance(v, ox.Literal)]
            if found:
                out[iri] = found
        return out


def load_decision(reader: Reader, iri: str) -> DecisionView | None:
    """The decision at ``iri``, or None when the store has no ``mea:Decision`` there."""
    node = ox.NamedNode(iri)
    own = group_rows(reader.select(_OWN, {"d": node}), "d").get(iri)
    if own is None or not own.has_type(MEA + "Decision"):
        return None
    rows = [*reader.select(_NODES, {"d": node}), *reader.select(_PARAGRAPH_LINKS, {"d": node})]
    nodes = group_rows(rows, "n")
    paragraphs = ordered_paragraphs([nodes[p] for p in own.iris(MEA + "paragraph") if p in nodes])
    view = DecisionView(own, paragraphs, nodes, {})
    named = _named(view)
    rows = reader.select_values(_FACTS, "x", [ox.NamedNode(i) for i in named])
    view.related = group_rows(rows, "x")
    return view


def _named(view: DecisionView) -> list[str]:
    """The IRIs whose labels and dates the page shows."""
    own = view.decision
    names = [
        *own.iris(MEA + "treaty"),
        *own.iris(MEA + "meeting"),
        *own.iris(PROV + "wasGeneratedBy"),
    ]
    for subject in (own, *view.paragraphs):
        for link in view.links(subject):
            names.append(link.target)
            if link.run:
                names.append(link.run)
    return list(dict.fromkeys(names))


# -- the page ------------------------------------------------------------------------------------


def render_decision(view: DecisionView, ctx: PageContext) -> str:
    own = view.decision
    labels = view.labels()
    titles = own.literals(DCTERMS + "title")
    best = ctx.text(titles)
    number = own.text(MEA + "number")
    title, title_lang = best if best is not None else (number or "Decision", None)
    parts = [
        _other_titles(titles, ctx),
        _facts(view, labels, ctx),
        _paragraphs(view, labels, ctx),
        _decision_links(view, labels, ctx),
        _content(own, ctx, open_=not view.paragraphs),
        _files(view, ctx),
        _provenance(view, ctx),
    ]
    kind = (own.text(MEA + "decisionType") or "decision").capitalize()
    if number and kind.lower() in number.lower():
        lead = esc(number)
    else:
        lead = esc(f"{kind} {number}") if number else esc(kind)
    body = "\n".join(p for p in parts if p)
    return render_page(title, body, ctx, title_lang=title_lang, lead=lead)


def _other_titles(titles: Sequence[ox.Literal], ctx: PageContext) -> str:
    others = other_languages(titles, ctx)
    if not others:
        return ""
    items = ", ".join(
        f'<a href="{esc(ctx.with_params(lang=t.language))}" hreflang="{esc(t.language)}" '
        f'lang="{esc(t.language)}">{esc(t.value)}</a> '
        f'<small class="language">({esc(t.language)})</small>'
        for t in others
        if t.language
    )
    return f'<p class="languages">Also in: {items}</p>'


def _facts(view: DecisionView, labels: dict[str, list[ox.Literal]], ctx: PageContext) -> str:
    own = view.decision
    treaties = ", ".join(
        ctx.link_labelled(labels, iri, iri.rsplit("/", 1)[-1]) for iri in own.iris(MEA + "treaty")
    )
    meetings = [_meeting(iri, view, labels, ctx) for iri in own.iris(MEA + "meeting")]
    if not meetings and own.text(MEA + "meetingTitle"):
        meetings = [esc(own.text(MEA + "meetingTitle"))]
    pages = [ctx.paths.link(iri, "on the source's site") for iri in own.iris(FOAF + "page")]
    keywords = ", ".join(sorted(esc(k.value) for k in own.literals(MEA + "keyword")))
    long_title = text_in(own.literals(MEA + "longTitle"), ctx)
    items = [
        ("Number", esc(own.text(MEA + "number") or "")),
        ("Long title", long_title),
        ("Treaty", treaties),
        ("Meeting", "; ".join(meetings)),
        ("Date", date_text(own.first(DCTERMS + "issued"))),
        ("Status", esc(own.text(MEA + "status") or "")),
        ("Type", esc(own.text(MEA + "decisionType") or "")),
        ("Keywords", keywords),
        ("Published at", " · ".join(pages)),
    ]
    return definition_list(items)


def _meeting(
    iri: str, view: DecisionView, labels: dict[str, list[ox.Literal]], ctx: PageContext
) -> str:
    linked = ctx.link_labelled(labels, iri, "the meeting")
    facts = view.related.get(iri)
    start = date_text(facts.first(MEA + "startDate")) if facts else ""
    return f"{linked} ({start})" if start else linked


def _paragraphs(view: DecisionView, labels: dict[str, list[ox.Literal]], ctx: PageContext) -> str:
    if not view.paragraphs:
        return ""
    items = [_paragraph(p, n, view, labels, ctx) for n, p in enumerate(view.paragraphs, start=1)]
    count = len(view.paragraphs)
    linked = sum(1 for p in view.paragraphs if view.links(p))
    summary = (
        f'<p class="summary">{count} paragraph{"s" if count != 1 else ""} in published order; '
        f"{linked} linked to a target.</p>"
    )
    body = summary + '\n<ol class="paragraphs">\n' + "\n".join(items) + "\n</ol>"
    return section("paragraphs", "Paragraphs", body)


def _paragraph(
    para: Properties,
    position: int,
    view: DecisionView,
    labels: dict[str, list[ox.Literal]],
    ctx: PageContext,
) -> str:
    number = para.text(MEA + "number")
    anchor = paragraph_anchor(number, position)
    shown = esc(number) if number else '<span class="unnumbered">preamble</span>'
    text = text_in(para.literals(MEA + "text"), ctx) or '<span class="empty">(no text)</span>'
    links = view.links(para)
    link_list = _link_list(links, labels, ctx) if links else ""
    local = ctx.paths.href(para.iri)
    number_html = f'<a class="number" href="{esc(local)}">{shown}</a>' if local else shown
    return (
        f'<li id="{esc(anchor)}" class="paragraph"><p><span class="paragraph-number">'
        f"{number_html}</span> {text}</p>{link_list}</li>"
    )


def _link_list(
    links: Sequence[TargetLink], labels: dict[str, list[ox.Literal]], ctx: PageContext
) -> str:
    items = "".join(f"<li>{_link(link, labels, ctx)}</li>" for link in links)
    return f'<ul class="target-links" aria-label="Target links">{items}</ul>'


def _link(link: TargetLink, labels: dict[str, list[ox.Literal]], ctx: PageContext) -> str:
    target = ctx.link_labelled(labels, link.target, link.target.rsplit("/", 1)[-1])
    if link.method is None:
        how = '<span class="method source">given by the source</span>'
    elif not link.inferred:
        how = '<span class="method source">given by the source</span>'
        if link.score is not None and link.score < 1:
            how += f' <span class="score">score {esc(score_text(link.score))}</span>'
    else:
        how = (
            f'<span class="method inferred">inferred</span> '
            f'<span class="score">score {esc(score_text(link.score))}</span> '
            f'<small class="by">by {esc(link.method)}</small>'
        )
    evidence = ""
    if link.evidence:
        cues = ", ".join(f"<q>{esc(e)}</q>" for e in link.evidence)
        evidence = f' <span class="evidence">matched {cues}</span>'
    return f"{target} · {how}{evidence}"


def _decision_links(
    view: DecisionView, labels: dict[str, list[ox.Literal]], ctx: PageContext
) -> str:
    links = view.links(view.decision)
    if not links:
        return ""
    body = (
        "<p>Targets the decision as a whole is linked to (inferred links of the whole text, or "
        "given by the source).</p>\n" + _link_list(links, labels, ctx)
    )
    return section("decision-targets", "Targets of the whole decision", body)


def _content(own: Properties, ctx: PageContext, *, open_: bool) -> str:
    found = ctx.text(own.literals(MEA + "content"))
    if found is None:
        return ""
    value, lang = found
    lang_attr = f' lang="{esc(lang)}"' if lang else ""
    opened = " open" if open_ else ""
    body = (
        f"<details{opened}><summary>The text as the source publishes it</summary>"
        f'<div class="content"{lang_attr}>{sanitize(value)}</div></details>'
    )
    return section("full-text", "Full text", body)


def _files(view: DecisionView, ctx: PageContext) -> str:
    rows = []
    for iri in view.decision.iris(MEA + "file"):
        file = view.nodes.get(iri)
        if file is None:
            continue
        name = file.text(MEA + "fileName") or iri.rsplit("/", 1)[-1]
        urls = file.iris(MEA + "url")
        download = ctx.paths.link(urls[0], name) if urls else esc(name)
        record = ctx.paths.link(iri, "record")
        rows.append(
            [
                download,
                esc(file.text(DCTERMS + "language") or ""),
                esc(file.text(DCTERMS + "format") or ""),
                record,
            ]
        )
    if not rows:
        return ""
    return section("files", "Files", table(["File", "Language", "Format", "Details"], rows))


def _provenance(view: DecisionView, ctx: PageContext) -> str:
    own = view.decision
    derived = " ".join(ctx.paths.link(iri, iri) for iri in own.iris(PROV + "wasDerivedFrom"))
    sources = " ".join(
        ctx.paths.link(iri, iri.rstrip("/").rsplit("/", 1)[-1])
        for iri in own.iris(MEA + "harvestSource")
    )
    runs = []
    for run in own.iris(PROV + "wasGeneratedBy"):
        facts = view.related.get(run)
        started = date_time(facts.first(PROV + "startedAtTime")) if facts else ""
        runs.append(
            ctx.paths.link(run, run.rsplit("/", 1)[-1]) + (f" {started}" if started else "")
        )
    items = [
        ("Harvested from", derived),
        ("Source", sources),
        ("Harvest run", "; ".join(runs)),
        ("Modified at the source", date_time(own.first(DCTERMS + "modified"))),
    ]
    body = definition_list(items)
    return section("provenance", "Provenance", body) if body else ""


def date_time(term: ox.NamedNode | ox.BlankNode | ox.Literal | None) -> str:
    """A date-time shown whole, as ``<time>`` (an ISO 8601 value is valid ``<time>`` text)."""
    if not isinstance(term, ox.Literal) or not term.value:
        return ""
    return f"<time>{esc(term.value)}</time>"
