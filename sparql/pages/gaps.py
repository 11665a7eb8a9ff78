"""The gap matrix: conventions x the 20 Aichi targets, decisions (and paragraphs) since a year.

A decision counts for a target when it, or one of its paragraphs, is linked to the target
(``mea:aichiTarget``), exactly as ``sparql/queries/02-gap-analysis.rq`` counts; rows are the
treaties with decisions in the hub, whether or not they addressed any target. Each decision has
one date, so counts per year add up: one aggregate query per store generation gives every
``?since`` (:class:`GapData`), and the matrix of a year is a sum.

Shown as an HTML table whose cells are drawn in SVG on the server (a colour scale, no script),
each a link to the decisions it counts; and as CSV, JSON or RDF (an RDF Data Cube) by content
negotiation.
"""

from __future__ import annotations

import csv
import io
import json
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

import pyoxigraph as ox

from harvester.mapping.countries import TREATY_NS
from harvester.vocab import DCTERMS, MEA, RDF, RDFS, XSD

from ..html import esc
from .layout import PageContext, render_page, section
from .reading import Reader, labels
from .scheme import AichiTarget, aichi_targets, target_number

__all__ = [
    "DEFAULT_SINCE",
    "GapData",
    "GapMatrix",
    "gap_csv",
    "gap_json",
    "gap_triples",
    "load_gap_data",
    "render_gaps",
]

DEFAULT_SINCE = 2010
QB = "http://purl.org/linked-data/cube#"

_TREATIES = """PREFIX mea: <https://w3id.org/mea/ontology#>
SELECT DISTINCT ?treaty WHERE { ?any a mea:Decision ; mea:treaty ?treaty }"""
_CELLS = """PREFIX mea: <https://w3id.org/mea/ontology#>
PREFIX dcterms: <http://purl.org/dc/terms/>
SELECT ?treaty ?target ?year (COUNT(DISTINCT ?decision) AS ?decisions)
       (COUNT(DISTINCT ?paragraph) AS ?paragraphs)
WHERE {
  ?decision a mea:Decision ; mea:treaty ?treaty ; dcterms:issued ?issued .
  { ?decision mea:aichiTarget ?target }
  UNION { ?decision mea:paragraph ?paragraph . ?paragraph mea:aichiTarget ?target }
  BIND(YEAR(?issued) AS ?year)
}
GROUP BY ?treaty ?target ?year"""


@dataclass(frozen=True)
class Cell:
    decisions: int = 0
    paragraphs: int = 0


@dataclass(frozen=True)
class Treaty:
    iri: str
    name: str  # the short name: "cms"
    label: list[ox.Literal] = field(default_factory=list)


@dataclass
class GapData:
    """Per (treaty, target number, year): decisions and paragraphs linked. One per store
    generation; :meth:`matrix` sums it for a year."""

    treaties: list[Treaty]
    targets: list[AichiTarget]
    counts: dict[tuple[str, int, int], Cell]

    def matrix(self, since: int) -> GapMatrix:
        cells: dict[tuple[str, int], Cell] = defaultdict(Cell)
        for (treaty, number, year), cell in self.counts.items():
            if year >= since:
                old = cells[(treaty, number)]
                cells[(treaty, number)] = Cell(
                    old.decisions + cell.decisions, old.paragraphs + cell.paragraphs
                )
        return GapMatrix(since, self.treaties, self.targets, dict(cells))


@dataclass(frozen=True)
class GapMatrix:
    """The matrix for one ``since`` year."""

    since: int
    treaties: list[Treaty]
    targets: list[AichiTarget]
    cells: dict[tuple[str, int], Cell]

    def cell(self, treaty: Treaty, target: AichiTarget) -> Cell:
        return self.cells.get((treaty.iri, target.number), Cell())

    def largest(self) -> int:
        return max((c.decisions for c in self.cells.values()), default=0)


def load_gap_data(reader: Reader) -> GapData:
    """Two aggregate queries (and the scheme and labels): never one per row."""
    targets = aichi_targets(reader)
    iris = sorted({row["treaty"].value for row in reader.select(_TREATIES)})
    names = labels(reader, iris)
    treaties = sorted(
        (Treaty(iri, _short_name(iri), names.get(iri, [])) for iri in iris),
        key=lambda t: t.name,
    )
    counts: dict[tuple[str, int, int], Cell] = {}
    known = {t.number for t in targets}
    for row in reader.select(_CELLS):
        number = target_number(row["target"].value)
        year = row.get("year")
        if number not in known or number is None or year is None:
            continue
        key = (row["treaty"].value, number, int(year.value))
        counts[key] = Cell(int(row["decisions"].value), int(row["paragraphs"].value))
    return GapData(treaties, targets, counts)


def _short_name(iri: str) -> str:
    return (
        iri[len(TREATY_NS) :] if iri.startswith(TREATY_NS) else iri.rstrip("/").rsplit("/", 1)[-1]
    )


# -- CSV, JSON, RDF -----------------------------------------------------------------------------


def _column(target: AichiTarget) -> str:
    return f"target-{target.number}"


def gap_csv(matrix: GapMatrix) -> str:
    """One row per treaty short name, one column per target: the decisions since the year."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["treaty", *(_column(t) for t in matrix.targets)])
    for treaty in matrix.treaties:
        writer.writerow(
            [_csv_safe(treaty.name), *(matrix.cell(treaty, t).decisions for t in matrix.targets)]
        )
    return out.getvalue()


def _csv_safe(value: str) -> str:
    """A cell a spreadsheet will not read as a formula."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def gap_json(matrix: GapMatrix) -> str:
    """The matrix as JSON: decisions and paragraphs per treaty and target."""
    rows = []
    for treaty in matrix.treaties:
        cells = {_column(t): matrix.cell(treaty, t) for t in matrix.targets}
        rows.append(
            {
                "treaty": treaty.name,
                "iri": treaty.iri,
                "label": treaty.label[0].value if treaty.label else treaty.name,
                "decisions": {k: c.decisions for k, c in cells.items()},
                "paragraphs": {k: c.paragraphs for k, c in cells.items()},
                "not_addressed": [k for k, c in cells.items() if c.decisions == 0],
            }
        )
    body = {
        "since": matrix.since,
        "counts": "decisions dated in or after `since` linked to the target, by the decision "
        "or one of its paragraphs (as sparql/queries/02-gap-analysis.rq)",
        "targets": [{"column": _column(t), "iri": t.iri, "code": t.code} for t in matrix.targets],
        "rows": rows,
    }
    return json.dumps(body, ensure_ascii=False, indent=1)


def gap_triples(matrix: GapMatrix, base: str) -> list[ox.Triple]:
    """The matrix as an RDF Data Cube: one ``qb:Observation`` per cell, zero cells included."""
    dataset = ox.NamedNode(f"{base}gaps?since={matrix.since}")
    decisions, paragraphs = (
        ox.NamedNode(base + "gaps#decisions"),
        ox.NamedNode(base + "gaps#paragraphs"),
    )
    triples = [
        _t(dataset, RDF + "type", ox.NamedNode(QB + "DataSet")),
        _t(
            dataset,
            DCTERMS + "title",
            ox.Literal(
                f"Decisions since {matrix.since} per convention and Aichi target", language="en"
            ),
        ),
    ]
    for measure, label in ((decisions, "decisions"), (paragraphs, "paragraphs")):
        triples.append(_t(measure, RDF + "type", ox.NamedNode(QB + "MeasureProperty")))
        triples.append(_t(measure, RDFS + "label", ox.Literal(f"linked {label}", language="en")))
    for treaty in matrix.treaties:
        for target in matrix.targets:
            cell = matrix.cell(treaty, target)
            obs = ox.NamedNode(f"{dataset.value}#{_slug(treaty.name)}-{target.number}")
            triples += [
                _t(obs, RDF + "type", ox.NamedNode(QB + "Observation")),
                _t(obs, QB + "dataSet", dataset),
                _t(obs, MEA + "treaty", ox.NamedNode(treaty.iri)),
                _t(obs, MEA + "aichiTarget", ox.NamedNode(target.iri)),
                _t(obs, decisions.value, _integer(cell.decisions)),
                _t(obs, paragraphs.value, _integer(cell.paragraphs)),
            ]
    return triples


def _slug(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "-" for c in name)


def _t(s: ox.NamedNode, p: str, o: ox.NamedNode | ox.Literal) -> ox.Triple:
    return ox.Triple(s, ox.NamedNode(p), o)


def _integer(value: int) -> ox.Literal:
    return ox.Literal(str(value), datatype=ox.NamedNode(XSD + "integer"))


# -- HTML ----------------------------------------------------------------------------------------

#: The colour scale, lightest first, with a text colour that reads on each (WCAG AA).
SCALE = (
    ("#d9f0d3", "#1b1b1b"),
    ("#a6dba0", "#1b1b1b"),
    ("#5aae61", "#1b1b1b"),
    ("#1b7837", "#ffffff"),
    ("#00441b", "#ffffff"),
)
_CELL_W, _CELL_H = 40, 30


def bucket(count: int, largest: int) -> int:
    """The colour of ``count`` on a scale up to ``largest`` in equal steps (-1 for none); the
    legend shows the same steps."""
    if count <= 0 or largest <= 0:
        return -1
    for index in range(len(SCALE)):
        if count <= (index + 1) * largest // len(SCALE):
            return index
    return len(SCALE) - 1


def render_gaps(matrix: GapMatrix, ctx: PageContext) -> str:
    intro = (
        f"<p>For each convention (rows) and each of the 20 Aichi Biodiversity Targets "
        f"(columns): how many of its decisions adopted since {matrix.since} are linked to the "
        "target, by the decision itself or by one of its paragraphs (given by the source or "
        "inferred), and how many paragraphs are. A cell links to those decisions. "
        "The same numbers as the example query <code>02-gap-analysis</code>.</p>"
    )
    body = "\n".join(
        [
            intro,
            _form(matrix.since),
            _legend(matrix.largest()),
            section("matrix", f"Decisions since {matrix.since}", _table(matrix, ctx)),
        ]
    )
    return render_page(f"Gap analysis: decisions since {matrix.since}", body, ctx)


def _form(since: int) -> str:
    return (
        '<form class="since" method="get" action="/gaps">'
        '<label for="since">Decisions adopted in or after</label> '
        f'<input id="since" name="since" type="number" min="1900" max="2100" value="{since}"> '
        '<button type="submit">Show</button></form>'
    )


def _goal_row(targets: Sequence[AichiTarget], ctx: PageContext) -> str:
    groups: list[tuple[str, int, str]] = []
    for target in targets:
        name = target.goal_code or "?"
        if groups and groups[-1][0] == name:
            groups[-1] = (name, groups[-1][1] + 1, groups[-1][2])
        else:
            groups.append((name, 1, target.goal))
    cells = "".join(
        f'<th scope="colgroup" colspan="{span}">{ctx.paths.link(goal, f"Goal {name}")}</th>'
        for name, span, goal in groups
    )
    return f'<tr><td class="corner"></td>{cells}<td class="corner"></td></tr>'


def _table(matrix: GapMatrix, ctx: PageContext) -> str:
    if not matrix.treaties:
        return "<p>No decisions have been harvested yet.</p>"
    largest = matrix.largest()
    head = "".join(
        f'<th scope="col" class="target">{_target_heading(t, ctx)}</th>' for t in matrix.targets
    )
    rows = [_row(treaty, matrix, largest, ctx) for treaty in matrix.treaties]
    return (
        '<div class="matrix-wrap"><table class="matrix">'
        f"<caption>Decisions (and paragraphs) since {matrix.since} linked to each Aichi target, "
        "per convention</caption>\n<thead>"
        + _goal_row(matrix.targets, ctx)
        + f'<tr><th scope="col">Convention</th>{head}<th scope="col">Targets addressed</th></tr>'
        "</thead>\n<tbody>\n" + "\n".join(rows) + "\n</tbody></table></div>"
    )


def _target_heading(target: AichiTarget, ctx: PageContext) -> str:
    short = ctx.text(target.short)
    title = f' title="{esc(short[0])}"' if short else ""
    href = ctx.paths.href(target.iri) or "#"
    return f'<a href="{esc(href)}"{title}><span class="sr">Aichi target </span>{target.number}</a>'


def _row(treaty: Treaty, matrix: GapMatrix, largest: int, ctx: PageContext) -> str:
    name, lang = ctx.label({treaty.iri: treaty.label}, treaty.iri, treaty.name.upper())
    heading = ctx.paths.link(treaty.iri, name, lang=lang)
    cells = [_cell(treaty, name, t, matrix, largest, ctx) for t in matrix.targets]
    addressed = sum(1 for t in matrix.targets if matrix.cell(treaty, t).decisions)
    return (
        f'<tr id="row-{esc(_slug(treaty.name))}"><th scope="row">{heading}</th>'
        + "".join(cells)
        + f'<td class="addressed">{addressed} of {len(matrix.targets)}</td></tr>'
    )


def _cell(
    treaty: Treaty,
    name: str,
    target: AichiTarget,
    matrix: GapMatrix,
    largest: int,
    ctx: PageContext,
) -> str:
    cell = matrix.cell(treaty, target)
    anchor = f"cell-{esc(_slug(treaty.name))}-{target.number}"
    if cell.decisions == 0:
        return f'<td id="{anchor}" class="gap"><span class="none">not addressed</span></td>'
    fill, ink = SCALE[bucket(cell.decisions, largest)]
    href = ctx.with_params(
        ctx.paths.href(target.iri) or "", since=str(matrix.since), treaty=treaty.name, lang=None
    )
    label = (
        f"{cell.decisions} decision{'s' if cell.decisions != 1 else ''}, "
        f"{cell.paragraphs} paragraph{'s' if cell.paragraphs != 1 else ''}"
    )
    svg = (
        f'<svg class="swatch" width="{_CELL_W}" height="{_CELL_H}" viewBox="0 0 {_CELL_W} '
        f'{_CELL_H}" aria-hidden="true" focusable="false"><rect width="{_CELL_W}" '
        f'height="{_CELL_H}" rx="3" fill="{fill}"/><text x="{_CELL_W // 2}" y="14" '
        f'text-anchor="middle" font-size="13" font-weight="bold" fill="{ink}">{cell.decisions}'
        f'</text><text x="{_CELL_W // 2}" y="26" text-anchor="middle" font-size="10" '
        f'fill="{ink}">{cell.paragraphs} ¶</text></svg>'
    )
    return (
        f'<td id="{anchor}" class="count"><a href="{esc(href + "#decisions")}">{svg}'
        f'<span class="sr">{esc(name)}, target {target.number}: {esc(label)}</span></a></td>'
    )


def _legend(largest: int) -> str:
    if largest <= 0:
        return ""
    steps: list[tuple[str, str, str]] = []
    for index, (fill, ink) in enumerate(SCALE):
        low = index * largest // len(SCALE) + 1
        high = (index + 1) * largest // len(SCALE)
        if high < low:
            continue
        steps.append((fill, ink, f"{low}" if low == high else f"{low}\u2013{high}"))
    # wide enough for the longest range at 12 px (about 7 px a character): "2332–2914" fits
    step = max(60, 7 * max(len(text) for _, _, text in steps) + 16)
    boxes: list[str] = []
    for fill, ink, text in steps:
        x = len(boxes) * step
        boxes.append(
            f'<rect x="{x}" y="0" width="{step - 4}" height="22" rx="3" fill="{fill}"/>'
            f'<text x="{x + (step - 4) // 2}" y="15" text-anchor="middle" font-size="12" '
            f'fill="{ink}">{esc(text)}</text>'
        )
    width = step * len(boxes)
    return (
        '<figure class="legend"><svg width="{w}" height="24" viewBox="0 0 {w} 24" role="img" '
        'aria-labelledby="legend-caption">{boxes}</svg><figcaption id="legend-caption">'
        "Colour scale: decisions per cell, from 1 to {largest}; an empty cell is not addressed."
        "</figcaption></figure>"
    ).format(w=width, boxes="".join(boxes), largest=largest)
