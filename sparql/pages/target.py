"""The Aichi target page and the list of targets.

A target's page shows its official text, its strategic goal, the GBF targets that continue it
(``skos:relatedMatch``) with their SDG links, and every decision and paragraph linked to it
across conventions, grouped by treaty and year, links given by the source before inferred ones,
with scores. ``?treaty=cms`` and ``?since=2010`` narrow the list (the gap matrix links so).

The decisions linked to a target come from two queries per store generation (cached by the
caller): the links with their decision, treaty, date, number, paragraph and method; and the
decisions' titles.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pyoxigraph as ox

from harvester.vocab import SKOS

from ..html import esc
from .layout import (
    PageContext,
    date_text,
    definition_list,
    render_page,
    section,
    table,
    text_in,
    year_of,
)
from .model import paragraph_anchor, score_text
from .reading import Reader, labels, values_block
from .scheme import AichiTarget

__all__ = [
    "LinkedDecision",
    "TargetData",
    "load_target_data",
    "render_target",
    "render_targets",
]

GBF_SCHEME = "https://w3id.org/mea/scheme/gbf"
SDG_NS = "http://metadata.un.org/sdg/"
#: Decisions listed per treaty when the list is not narrowed to one treaty.
PER_TREATY = 50
#: Decisions listed per page once narrowed to one treaty.
PER_PAGE = 500

_PREFIXES = """PREFIX mea: <https://w3id.org/mea/ontology#>
PREFIX dcterms: <http://purl.org/dc/terms/>
"""
# The patterns are written most selective first, and joined here rather than in one query:
# the engine's plan for a union joined with the decision's properties is far slower.
_SUBJECTS = (
    _PREFIXES
    + "SELECT ?s ?d WHERE { {values} ?s mea:aichiTarget ?t . OPTIONAL { ?d mea:paragraph ?s } }"
)
_DECISIONS = (
    _PREFIXES
    + """SELECT ?x ?treaty ?issued ?number WHERE {
  {values} ?x a mea:Decision ; mea:treaty ?treaty .
  OPTIONAL { ?x dcterms:issued ?issued }
  OPTIONAL { ?x mea:number ?number }
}"""
)
_TITLES = _PREFIXES + "SELECT ?x ?title WHERE { {values} ?x dcterms:title ?title }"
_NUMBERS = _PREFIXES + "SELECT ?x ?number WHERE { {values} ?x mea:number ?number }"
# ``{target}`` is the one target (written by pyoxigraph): links to the others stay out.
_LINKS = (
    _PREFIXES
    + """SELECT ?x ?method ?score WHERE {
  {values} ?x mea:targetLink ?link . ?link mea:target ?target ; mea:method ?method .
  FILTER(?target = {target})
  OPTIONAL { ?link mea:score ?score }
}"""
)
_GBF = """PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
SELECT ?gbf ?p ?o WHERE {
  {values} ?gbf skos:relatedMatch ?t ; skos:inScheme ?scheme .
  ?gbf ?p ?o FILTER(?p IN (skos:prefLabel, skos:altLabel, skos:notation, skos:relatedMatch))
}"""


@dataclass
class Mention:
    """One link of a decision or one of its paragraphs to the target."""

    paragraph: str | None  # the paragraph IRI; None for the decision itself
    number: str | None
    method: str | None
    score: float | None

    @property
    def inferred(self) -> bool:
        return self.method is not None and self.method != "source"


@dataclass
class LinkedDecision:
    iri: str
    treaty: str
    issued: ox.Literal | None
    number: str | None
    titles: list[ox.Literal] = field(default_factory=list)
    mentions: list[Mention] = field(default_factory=list)

    @property
    def year(self) -> int | None:
        return year_of(self.issued)

    @property
    def given(self) -> bool:
        """Linked by the source (a link given with the record), not only inferred."""
        return any(not m.inferred for m in self.mentions)

    @property
    def best_score(self) -> float:
        return max((m.score for m in self.mentions if m.score is not None), default=0.0)

    def sort_key(self) -> tuple[int, int, float, str]:
        """Latest year first; within a year, source links before inferred, then by score."""
        return (-(self.year or 0), 0 if self.given else 1, -self.best_score, self.number or "")

    def paragraphs(self) -> list[Mention]:
        return [m for m in self.mentions if m.paragraph is not None]


@dataclass
class TargetData:
    """What the page shows about one target (one store generation)."""

    target: AichiTarget
    decisions: list[LinkedDecision]
    treaty_labels: dict[str, list[ox.Literal]]
    gbf: dict[str, dict[str, list[ox.NamedNode | ox.BlankNode | ox.Literal]]]


def load_target_data(reader: Reader, target: AichiTarget) -> TargetData:
    """The decisions and paragraphs linked to ``target``, with how; a handful of queries
    whatever the number of links (``VALUES`` blocks of the IRIs found)."""
    node = ox.NamedNode(target.iri)
    block = values_block("t", [node])
    subjects: dict[str, str] = {}  # linked subject -> its decision
    for row in reader.select(_SUBJECTS.replace("{values}", block)):
        owner = row.get("d")
        subjects[row["s"].value] = owner.value if owner is not None else row["s"].value
    decisions = _load_decisions(reader, sorted(set(subjects.values())))
    paragraphs = sorted(s for s, d in subjects.items() if s != d and d in decisions)
    numbers = {
        row["x"].value: row["number"].value
        for row in reader.select_values(_NUMBERS, "x", [ox.NamedNode(p) for p in paragraphs])
    }
    how = _methods(reader, target.iri, [s for s, d in subjects.items() if d in decisions])
    for subject, owner_iri in sorted(subjects.items()):
        entry = decisions.get(owner_iri)
        if entry is None:
            continue  # linked, but not a decision (nothing to list)
        method, score = how.get(subject, (None, None))
        paragraph = None if subject == owner_iri else subject
        entry.mentions.append(
            Mention(paragraph, numbers.get(subject) if paragraph else None, method, score)
        )
    treaty_labels = labels(reader, {d.treaty for d in decisions.values()})
    gbf_rows = reader.select(
        _GBF.replace("{values}", block + " " + values_block("scheme", [ox.NamedNode(GBF_SCHEME)]))
    )
    gbf: dict[str, dict[str, list[ox.NamedNode | ox.BlankNode | ox.Literal]]] = defaultdict(
        lambda: defaultdict(list)
    )
    for row in gbf_rows:
        gbf[row["gbf"].value][row["p"].value].append(row["o"])
    ordered = sorted(decisions.values(), key=LinkedDecision.sort_key)
    return TargetData(target, ordered, treaty_labels, {k: dict(v) for k, v in gbf.items()})


def _load_decisions(reader: Reader, iris: Sequence[str]) -> dict[str, LinkedDecision]:
    """The ``mea:Decision`` among ``iris``, with treaty, date, number and titles."""
    nodes = [ox.NamedNode(i) for i in iris]
    found: dict[str, LinkedDecision] = {}
    for row in reader.select_values(_DECISIONS, "x", nodes):
        iri = row["x"].value
        if iri in found:
            continue  # a second treaty, date or number: the first is shown
        issued = row.get("issued")
        found[iri] = LinkedDecision(
            iri,
            row["treaty"].value,
            issued if isinstance(issued, ox.Literal) else None,
            row["number"].value if "number" in row else None,
        )
    for row in reader.select_values(_TITLES, "x", [ox.NamedNode(i) for i in found]):
        title = row.get("title")
        entry = found[row["x"].value]
        if isinstance(title, ox.Literal) and title not in entry.titles:
            entry.titles.append(title)
    return found


def _methods(
    reader: Reader, target: str, subjects: Sequence[str]
) -> dict[str, tuple[str | None, float | None]]:
    """How each subject's link to ``target`` was made: the best of its qualified links (the
    source's first), or nothing when it has only the ``mea:aichiTarget`` shortcut."""
    best: dict[str, tuple[str | None, float | None]] = {}
    query = _LINKS.replace("{target}", str(ox.NamedNode(target)))
    for row in reader.select_values(query, "x", [ox.NamedNode(s) for s in subjects]):
        subject, method = row["x"].value, row["method"].value
        score_term = row.get("score")
        score = _float(score_term.value) if score_term is not None else None
        old = best.get(subject)
        if old is None or (
            old[0] != "source" and (method == "source" or (score or 0) > (old[1] or 0))
        ):
            best[subject] = (method, score)
    return best


def _float(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


# -- narrowing -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Filters:
    """``?treaty=`` (a short name) and ``?since=`` (a year), both optional; ``?page=``."""

    treaty: str | None = None
    since: int | None = None
    page: int = 1

    def keep(self, decision: LinkedDecision) -> bool:
        if (
            self.treaty is not None
            and decision.treaty.rstrip("/").rsplit("/", 1)[-1] != self.treaty
        ):
            return False
        return self.since is None or (decision.year is not None and decision.year >= self.since)


# -- the page ------------------------------------------------------------------------------------


def render_target(data: TargetData, ctx: PageContext, filters: Filters) -> str:
    target = data.target
    title, lang = ctx.label(
        {target.iri: target.labels}, target.iri, f"Aichi target {target.number}"
    )
    short = text_in(target.short, ctx)
    parts = [
        _about(target, ctx),
        _gbf(data, ctx),
        _decisions(data, ctx, filters),
    ]
    lead = short if short else ""
    return render_page(title, "\n".join(p for p in parts if p), ctx, title_lang=lang, lead=lead)


def _about(target: AichiTarget, ctx: PageContext) -> str:
    text = text_in(target.definition, ctx)
    goal_name = text_in(target.goal_labels, ctx) or esc(f"Goal {target.goal_code}")
    goal_href = ctx.paths.href(target.goal)
    goal = f'<a href="{esc(goal_href)}">{goal_name}</a>' if goal_href else goal_name
    goal_text = text_in(target.goal_definition, ctx)
    items = [
        ("Code", esc(target.code)),
        ("Strategic goal", goal + (f": {goal_text}" if goal_text else "")),
    ]
    official = f'<blockquote class="official"><p>{text}</p></blockquote>' if text else ""
    return section("target", "The target", official + definition_list(items))


def _gbf(data: TargetData, ctx: PageContext) -> str:
    if not data.gbf:
        return ""
    rows = []
    for iri in sorted(data.gbf, key=_gbf_order):
        props = data.gbf[iri]
        names = [v for v in props.get(SKOS + "prefLabel", []) if isinstance(v, ox.Literal)]
        shorts = [v for v in props.get(SKOS + "altLabel", []) if isinstance(v, ox.Literal)]
        name, lang = ctx.label({iri: names}, iri, iri.rsplit("/", 1)[-1])
        sdgs = sorted(
            v.value for v in props.get(SKOS + "relatedMatch", []) if v.value.startswith(SDG_NS)
        )
        sdg_links = ", ".join(ctx.paths.link(s, "SDG " + s[len(SDG_NS) :]) for s in sdgs)
        short = text_in(shorts[:1], ctx)
        rows.append([ctx.paths.link(iri, name, lang=lang), short, sdg_links or "none recorded"])
    body = (
        "<p>Targets of the Kunming-Montreal Global Biodiversity Framework that continue this one, "
        "and the SDG targets they relate to.</p>\n"
        + table(["GBF target", "In short", "SDG targets"], rows)
    )
    return section("gbf", "Continued by", body)


def _gbf_order(iri: str) -> tuple[int, str]:
    tail = iri.rsplit("-", 1)[-1]
    return (int(tail), iri) if tail.isdigit() else (999, iri)


def _decisions(data: TargetData, ctx: PageContext, filters: Filters) -> str:
    kept = [d for d in data.decisions if filters.keep(d)]
    by_treaty: dict[str, list[LinkedDecision]] = defaultdict(list)
    for decision in kept:
        by_treaty[decision.treaty].append(decision)
    narrowed = _narrowing(filters, ctx)
    if not kept:
        body = narrowed + "<p>No decision or paragraph is linked to this target"
        body += " with these filters.</p>" if filters.treaty or filters.since else ".</p>"
        return section("decisions", "Decisions linked", body)
    order = sorted(by_treaty, key=lambda t: ctx.label(data.treaty_labels, t, t)[0].lower())
    summary = _summary(order, by_treaty, data, ctx)
    blocks = [_treaty_block(t, by_treaty[t], data, ctx, filters) for t in order]
    body = narrowed + summary + "\n".join(blocks)
    return section("decisions", "Decisions linked", body)


def _narrowing(filters: Filters, ctx: PageContext) -> str:
    shown = []
    if filters.treaty:
        shown.append(f"treaty <strong>{esc(filters.treaty)}</strong>")
    if filters.since:
        shown.append(f"adopted in or after <strong>{filters.since}</strong>")
    if not shown:
        return ""
    clear = ctx.with_params(treaty=None, since=None, page=None)
    return (
        f'<p class="filters">Showing decisions of {" and ".join(shown)}. '
        f'<a href="{esc(clear)}">Show all</a></p>'
    )


def _summary(
    order: Sequence[str],
    by_treaty: Mapping[str, list[LinkedDecision]],
    data: TargetData,
    ctx: PageContext,
) -> str:
    rows = []
    for treaty in order:
        decisions = by_treaty[treaty]
        paragraphs = sum(len(d.paragraphs()) for d in decisions)
        given = sum(1 for d in decisions if d.given)
        rows.append(
            [
                f'<a href="#{esc(_anchor(treaty))}">'
                f"{esc(ctx.label(data.treaty_labels, treaty, treaty)[0])}</a>",
                str(len(decisions)),
                str(paragraphs),
                str(given),
                str(len(decisions) - given),
            ]
        )
    return table(
        ["Convention", "Decisions", "Paragraphs", "Given by the source", "Inferred only"],
        rows,
        caption="Linked decisions per convention",
    )


def _anchor(treaty: str) -> str:
    return "treaty-" + "".join(c if c.isalnum() else "-" for c in treaty.rsplit("/", 1)[-1])


def _treaty_block(
    treaty: str,
    decisions: list[LinkedDecision],
    data: TargetData,
    ctx: PageContext,
    filters: Filters,
) -> str:
    name, lang = ctx.label(data.treaty_labels, treaty, treaty.rsplit("/", 1)[-1])
    short = treaty.rstrip("/").rsplit("/", 1)[-1]
    if filters.treaty:
        start = (max(filters.page, 1) - 1) * PER_PAGE
        shown = decisions[start : start + PER_PAGE]
    else:
        start, shown = 0, decisions[:PER_TREATY]
    years: dict[int | None, list[LinkedDecision]] = defaultdict(list)
    for decision in shown:
        years[decision.year].append(decision)
    parts = []
    for year in sorted(years, key=lambda y: -(y or 0)):
        items = "\n".join(_decision_item(d, ctx) for d in years[year])
        heading = str(year) if year else "Undated"
        parts.append(f'<h4>{esc(heading)}</h4>\n<ul class="linked">\n{items}\n</ul>')
    more = _more(decisions, shown, start, short, name, ctx, filters)
    lang_attr = f' lang="{esc(lang)}"' if lang else ""
    return (
        f'<section id="{esc(_anchor(treaty))}" class="treaty">\n'
        f"<h3><span{lang_attr}>{esc(name)}</span>: {len(decisions)} decision"
        f"{'s' if len(decisions) != 1 else ''}</h3>\n" + "\n".join(parts) + more + "\n</section>"
    )


def _more(
    decisions: list[LinkedDecision],
    shown: list[LinkedDecision],
    start: int,
    short: str,
    name: str,
    ctx: PageContext,
    filters: Filters,
) -> str:
    if len(shown) == len(decisions):
        return ""
    if not filters.treaty:
        href = ctx.with_params(treaty=short, page=None)
        text = f"All {len(decisions)} decisions of {name}"
        return f'<p class="more"><a href="{esc(href)}">{esc(text)}</a></p>'
    links = []
    if start > 0:
        links.append(f'<a href="{esc(ctx.with_params(page=str(filters.page - 1)))}">Previous</a>')
    if start + len(shown) < len(decisions):
        links.append(f'<a href="{esc(ctx.with_params(page=str(filters.page + 1)))}">Next</a>')
    shown_range = f"{start + 1}–{start + len(shown)} of {len(decisions)}"
    return f'<p class="more">Decisions {shown_range}. {" · ".join(links)}</p>'


def _decision_item(decision: LinkedDecision, ctx: PageContext) -> str:
    number = decision.number or decision.iri.rsplit("/", 1)[-1]
    title = text_in(decision.titles, ctx)
    link = ctx.paths.link(decision.iri, number)
    whole = [m for m in decision.mentions if m.paragraph is None]
    paragraphs = sorted(decision.paragraphs(), key=lambda m: (m.inferred, -(m.score or 0)))
    how = []
    if whole:
        how.append("the decision as a whole " + _how(whole[0]))
    if paragraphs:
        listed = ", ".join(_paragraph_mention(decision, m, ctx) for m in paragraphs)
        how.append(f"paragraph{'s' if len(paragraphs) != 1 else ''} {listed}")
    date = date_text(decision.issued)
    return (
        f'<li><span class="decision">{link}</span> {title}'
        + (f" <small>{date}</small>" if date else "")
        + (f'<br><span class="how">{"; ".join(how)}</span>' if how else "")
        + "</li>"
    )


def _paragraph_mention(decision: LinkedDecision, mention: Mention, ctx: PageContext) -> str:
    number = mention.number or "(unnumbered)"
    href = ctx.paths.href(decision.iri)
    anchor = paragraph_anchor(mention.number)
    target = (
        f'<a href="{esc(href)}#{esc(anchor)}">{esc(number)}</a>'
        if href and mention.number
        else esc(number)
    )
    return f"{target} {_how(mention)}"


def _how(mention: Mention) -> str:
    if not mention.inferred:
        return '<span class="method source">(source)</span>'
    return (
        f'<span class="method inferred">(inferred, score {esc(score_text(mention.score))})</span>'
    )


# -- the list of targets -------------------------------------------------------------------------


def render_targets(
    targets: Sequence[AichiTarget], totals: Mapping[int, int], ctx: PageContext
) -> str:
    """``/targets``: the 20 targets by strategic goal, with the decisions linked to each."""
    goals: dict[str, list[AichiTarget]] = defaultdict(list)
    for target in targets:
        goals[target.goal].append(target)
    blocks = []
    for members in goals.values():
        first = members[0]
        code = esc(first.goal_code)
        name = text_in(first.goal_labels, ctx) or esc(f"Goal {first.goal_code}")
        text = text_in(first.goal_definition, ctx)
        rows = [
            [
                ctx.paths.link(t.iri, f"Target {t.number}"),
                text_in(t.short, ctx),
                str(totals.get(t.number, 0)),
            ]
            for t in members
        ]
        blocks.append(
            f'<section id="goal-{code}" aria-labelledby="goal-{code}-h">'
            f'<h2 id="goal-{code}-h">{name}</h2><p>{text}</p>'
            + table(["Target", "In short", "Decisions linked"], rows)
            + "</section>"
        )
    intro = (
        "<p>The 20 Aichi Biodiversity Targets of the Strategic Plan for Biodiversity 2011-2020, "
        "by strategic goal, with the number of decisions of any year linked to each. See the "
        '<a href="/gaps">gap matrix</a> for the same per convention.</p>'
    )
    return render_page("Aichi Biodiversity Targets", intro + "\n".join(blocks), ctx)
