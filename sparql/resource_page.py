"""The HTML page of one resource: title, properties, parts, inverse links, provenance, formats.

Everything shown is escaped (:func:`sparql.html.esc`); IRIs link to our own pages where we serve
them (:class:`sparql.links.Linker`) and out otherwise.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import pyoxigraph as ox

from harvester.vocab import DCTERMS, MEA, PREFIXES, PROV, RDF, XSD

from .describe import LABEL_PROPERTIES, LABELLED_INVERSE, Description, Statement, Term
from .html import esc, link, page
from .languages import best_literal, rank_literals
from .links import Linker

__all__ = ["Alternate", "PageContext", "compact", "render_resource"]

#: Inverse links listed per property (the rest are counted, and reachable by SPARQL).
INVERSE_SHOWN = LABELLED_INVERSE

_EXTRA_PREFIXES = {
    "treaty": "https://w3id.org/mea/treaty/",
    "country": "https://w3id.org/mea/country/",
    "gbf": "https://w3id.org/mea/gbf/",
    "void": "http://rdfs.org/ns/void#",
}
_TYPE = RDF + "type"
_PROVENANCE = (PROV + "wasDerivedFrom", MEA + "harvestSource", PROV + "wasGeneratedBy")


@dataclass(frozen=True)
class Alternate:
    """A link to the same description in another format."""

    label: str
    media_type: str
    href: str


@dataclass(frozen=True)
class PageContext:
    """How to show a description: links, the reader's languages, the other formats."""

    linker: Linker
    languages: Sequence[str]
    alternates: Sequence[Alternate] = ()


def compact(iri: str) -> str:
    """``mea:Decision`` for a known namespace, else the IRI."""
    for prefix, namespace in (*PREFIXES.items(), *_EXTRA_PREFIXES.items()):
        if iri.startswith(namespace) and len(iri) > len(namespace):
            return f"{prefix}:{iri[len(namespace) :]}"
    return iri


def title_of(desc: Description, iri: str, languages: Sequence[str]) -> tuple[str, str | None]:
    """The best label of ``iri`` for the reader and its language; the compact IRI if none."""
    best = best_literal(desc.labels.get(iri, ()), languages)
    if best is None:
        return compact(iri), None
    return best.value, best.language


def render_resource(desc: Description, ctx: PageContext) -> str:
    """The whole page of ``desc``."""
    title, title_lang = title_of(desc, desc.iri, ctx.languages)
    sections = [
        _summary(desc, ctx),
        _properties(desc, ctx),
        _parts(desc, ctx),
        _inverse(desc, ctx),
        _provenance(desc, ctx),
        _formats(ctx.alternates),
    ]
    head = [
        f'<link rel="alternate" type="{esc(a.media_type)}" href="{esc(a.href)}">'
        for a in ctx.alternates
    ]
    body = "\n".join(s for s in sections if s)
    return page(title, body, head=head, title_lang=title_lang)


def _summary(desc: Description, ctx: PageContext) -> str:
    types = [_term(t, desc, ctx) for t in desc.values(_TYPE)]
    kind = "Named graph" if desc.is_graph else ", ".join(types) or "Resource"
    return f'<p class="iri"><code>{esc(desc.iri)}</code></p>\n<p class="types">{kind}</p>'


def _properties(desc: Description, ctx: PageContext) -> str:
    if desc.is_graph:
        return _graph_table(desc.outgoing, desc, ctx)
    shown = [s for s in desc.outgoing if s.predicate.value not in _PROVENANCE]
    if not shown:
        return ""
    return (
        '<section id="properties">\n<h2>Properties</h2>\n' + _table(shown, desc, ctx) + "</section>"
    )


def _table(statements: Iterable[Statement], desc: Description, ctx: PageContext) -> str:
    groups: dict[str, list[Term]] = defaultdict(list)
    for statement in statements:
        groups[statement.predicate.value].append(statement.object)
    rows = [_row(p, groups[p], desc, ctx) for p in sorted(groups, key=_property_order)]
    return "<table>\n" + "\n".join(rows) + "\n</table>\n"


def _row(predicate: str, values: list[Term], desc: Description, ctx: PageContext) -> str:
    label = _term(ox.NamedNode(predicate), desc, ctx)
    return f"<tr><th>{label}</th><td>{_values(values, desc, ctx)}</td></tr>"


def _property_order(predicate: str) -> tuple[int, str]:
    if predicate == _TYPE:
        return 0, ""
    if predicate in LABEL_PROPERTIES:
        return 1, predicate
    return 2, compact(predicate)


def _values(values: list[Term], desc: Description, ctx: PageContext) -> str:
    literals = rank_literals([v for v in values if isinstance(v, ox.Literal)], ctx.languages)
    others = sorted((v for v in values if not isinstance(v, ox.Literal)), key=str)
    items = [f"<li>{_term(v, desc, ctx)}</li>" for v in (*literals, *others)]
    return "<ul>" + "".join(items) + "</ul>"


def _term(term: Term, desc: Description, ctx: PageContext) -> str:
    if isinstance(term, ox.Literal):
        return _literal(term)
    if isinstance(term, ox.BlankNode):
        return f'<a href="#{esc(_anchor(term))}">{esc("_:" + term.value)}</a>'
    text, lang = title_of(desc, term.value, ctx.languages)
    return link(ctx.linker.href(term.value), text, lang=lang)


def _literal(literal: ox.Literal) -> str:
    lang = f' lang="{esc(literal.language)}"' if literal.language else ""
    datatype = literal.datatype.value
    plain = literal.language or datatype == XSD + "string"
    note = "" if plain else f' <small class="datatype">{esc(compact(datatype))}</small>'
    badge = f' <small class="language">{esc(literal.language)}</small>' if literal.language else ""
    return f'<span class="literal"{lang}>{esc(literal.value)}</span>{badge}{note}'


def _anchor(node: ox.NamedNode | ox.BlankNode) -> str:
    return "node-" + "".join(c if c.isalnum() else "-" for c in node.value)[-80:]


def _parts(desc: Description, ctx: PageContext) -> str:
    by_node: dict[ox.NamedNode | ox.BlankNode, list[Statement]] = defaultdict(list)
    for statement in desc.owned:
        by_node[statement.subject].append(statement)
    if not by_node:
        return ""
    blocks = [_part(node, by_node[node], desc, ctx) for node in sorted(by_node, key=str)]
    return '<section id="parts">\n<h2>Parts</h2>\n' + "\n".join(blocks) + "</section>"


def _part(
    node: ox.NamedNode | ox.BlankNode, rows: list[Statement], desc: Description, ctx: PageContext
) -> str:
    heading = esc("_:" + node.value) if isinstance(node, ox.BlankNode) else _term(node, desc, ctx)
    return f'<h3 id="{esc(_anchor(node))}">{heading}</h3>\n' + _table(rows, desc, ctx)


def _inverse(desc: Description, ctx: PageContext) -> str:
    groups: dict[str, list[Term]] = defaultdict(list)
    for statement in desc.inverse:
        groups[statement.predicate.value].append(statement.subject)
    if not groups:
        return ""
    rows = [_inverse_row(p, groups[p], desc, ctx) for p in sorted(groups, key=_property_order)]
    more = "<p>Only the first links are listed; query the SPARQL endpoint for all.</p>"
    note = more if desc.inverse_truncated else ""
    body = "<table>\n" + "\n".join(rows) + "\n</table>\n" + note
    return '<section id="inverse">\n<h2>Referenced by</h2>\n' + body + "</section>"


def _inverse_row(predicate: str, subjects: list[Term], desc: Description, ctx: PageContext) -> str:
    unique = list(dict.fromkeys(subjects))  # the first ones fetched are the labelled ones
    first = sorted(unique[:INVERSE_SHOWN], key=lambda s: title_of(desc, s.value, ctx.languages)[0])
    shown = _values(first, desc, ctx)
    rest = len(unique) - INVERSE_SHOWN
    extra = f'<p class="more">and {rest} more</p>' if rest > 0 else ""
    label = _term(ox.NamedNode(predicate), desc, ctx)
    return f"<tr><th>is {label} of</th><td>{shown}{extra}</td></tr>"


def _graph_table(statements: list[Statement], desc: Description, ctx: PageContext) -> str:
    rows = [
        f"<tr><td>{_term(s.subject, desc, ctx)}</td><td>{_term(s.predicate, desc, ctx)}</td>"
        f"<td>{_term(s.object, desc, ctx)}</td></tr>"
        for s in statements
    ]
    header = "<tr><th>Subject</th><th>Property</th><th>Value</th></tr>"
    table = "<table>\n" + header + "\n" + "\n".join(rows) + "\n</table>\n"
    return '<section id="contents">\n<h2>Contents</h2>\n' + table + "</section>"


def _provenance(desc: Description, ctx: PageContext) -> str:
    items = [_provenance_item(p, desc, ctx) for p in _PROVENANCE[:2]]
    items += [_run_item(run, started, desc, ctx) for run, started in desc.runs]
    items += [
        f"<dt>Named graph</dt><dd>{_term(ox.NamedNode(g), desc, ctx)}</dd>" for g in desc.graphs()
    ]
    modified = desc.values(DCTERMS + "modified")
    items += [f"<dt>Modified at the source</dt><dd>{_term(m, desc, ctx)}</dd>" for m in modified]
    body = "".join(i for i in items if i)
    return (
        f'<section id="provenance">\n<h2>Provenance</h2>\n<dl>{body}</dl>\n</section>'
        if body
        else ""
    )


def _provenance_item(predicate: str, desc: Description, ctx: PageContext) -> str:
    values = desc.values(predicate)
    if not values:
        return ""
    label = _term(ox.NamedNode(predicate), desc, ctx)
    return f"<dt>{label}</dt><dd>{_values(values, desc, ctx)}</dd>"


def _run_item(run: str, started: str | None, desc: Description, ctx: PageContext) -> str:
    when = f" started <time>{esc(started)}</time>" if started else ""
    return f"<dt>Harvest run</dt><dd>{_term(ox.NamedNode(run), desc, ctx)}{when}</dd>"


def _formats(alternates: Sequence[Alternate]) -> str:
    if not alternates:
        return ""
    items = "".join(
        f'<li><a href="{esc(a.href)}" type="{esc(a.media_type)}">{esc(a.label)}</a></li>'
        for a in alternates
    )
    return f'<section id="formats">\n<h2>Other formats</h2>\n<ul>{items}</ul>\n</section>'
