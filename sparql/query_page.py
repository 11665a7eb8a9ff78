"""The query page at ``/``: an editor, the example queries one click away, results as a table.

The editor is YASGUI (``@zazuko/yasgui``, MIT) when its files are in ``sparql/static/yasgui/``
(``make install`` copies them from the npm registry; the repository does not hold them). Without
them the page is a plain textarea whose small script (``static/query.js``) runs the query and
draws the table itself; without scripts at all the form posts to ``/sparql``.

The examples are ``sparql/queries/*.rq``; the first line of each is ``# title: ...``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from .html import esc, html_response, page

__all__ = [
    "QUERIES_DIR",
    "QUERY_PAGE_CSP",
    "STATIC_DIR",
    "ExampleQuery",
    "load_examples",
    "query_page_routes",
    "yasgui_available",
]

PACKAGE_DIR = Path(__file__).resolve().parent
QUERIES_DIR = PACKAGE_DIR / "queries"
STATIC_DIR = PACKAGE_DIR / "static"
YASGUI_DIR = STATIC_DIR / "yasgui"
_TITLE_PREFIX = "# title:"
_FORMATS = ("json", "xml", "csv", "tsv", "turtle", "ntriples", "jsonld")

#: Scripts from us only (YASGUI and query.js); YASGUI's editor sets inline styles, hence
#: ``'unsafe-inline'`` for styles on this page (and only for styles).
QUERY_PAGE_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)


@dataclass(frozen=True)
class ExampleQuery:
    """One example: its file stem, its title (from ``# title:``) and its text."""

    slug: str
    title: str
    text: str


def load_examples(directory: Path = QUERIES_DIR) -> list[ExampleQuery]:
    """The example queries, in file-name order.

    :raises ValueError: when a file does not start with ``# title:``.
    """
    return [_example(path) for path in sorted(directory.glob("*.rq"))]


def _example(path: Path) -> ExampleQuery:
    text = path.read_text(encoding="utf-8")
    first = text.split("\n", 1)[0]
    if not first.startswith(_TITLE_PREFIX):
        raise ValueError(f"{path}: the first line must be '{_TITLE_PREFIX} ...'")
    return ExampleQuery(path.stem, first[len(_TITLE_PREFIX) :].strip(), text)


def yasgui_available(directory: Path = YASGUI_DIR) -> bool:
    """Whether the YASGUI files were bundled (``make install``)."""
    return (directory / "yasgui.min.js").is_file() and (directory / "yasgui.min.css").is_file()


def query_page_routes() -> list[BaseRoute]:
    """``/`` and the static files under ``/static``."""
    examples = load_examples()
    return [
        Route("/", lambda request: _home(request, examples), methods=["GET"], name="query-page"),
        Mount("/static", StaticFiles(directory=STATIC_DIR), name="static"),
    ]


def _home(request: Request, examples: list[ExampleQuery]) -> Response:
    yasgui = yasgui_available()
    head = ['<link rel="stylesheet" href="/static/query.css">']
    if yasgui:
        head.insert(0, '<link rel="stylesheet" href="/static/yasgui/yasgui.min.css">')
    body = "\n".join((_editor(examples, yasgui), _examples(examples), _scripts(yasgui)))
    html = page("SPARQL query", body, head=head)
    return html_response(html, csp=QUERY_PAGE_CSP)


def _editor(examples: list[ExampleQuery], yasgui: bool) -> str:
    first = examples[0].text if examples else "SELECT * WHERE { ?s ?p ?o } LIMIT 10"
    options = "".join(f"<option>{esc(f)}</option>" for f in _FORMATS)
    mount = '<div id="yasgui" hidden></div>\n' if yasgui else ""
    return (
        "<p>Endpoint: <code>/sparql</code> (SPARQL 1.1 Protocol, read-only; the default graph is "
        'the union of all graphs). <a href="/.well-known/void">Dataset description and dumps</a>. '
        '<a href="/search">Full-text search</a> (also inside a query: '
        "<code>SERVICE &lt;urn:meahub:search&gt;</code>).</p>\n"
        f"{mount}"
        '<form method="post" action="/sparql">\n'
        f'<textarea id="query" name="query" rows="14" spellcheck="false">{esc(first)}</textarea>\n'
        f'<p><label>Format <select name="format">{options}</select></label>\n'
        '<button type="submit" id="run">Run query</button></p>\n</form>\n'
        '<div id="results" aria-live="polite"></div>'
    )


def _examples(examples: list[ExampleQuery]) -> str:
    items = "\n".join(_example_item(e) for e in examples)
    return f'<section id="examples">\n<h2>Example queries</h2>\n<ol>\n{items}\n</ol>\n</section>'


def _example_item(example: ExampleQuery) -> str:
    href = "/sparql?" + urlencode({"query": example.text})
    return (
        f'<li><button type="button" class="example" data-query="example-{esc(example.slug)}">'
        f"{esc(example.title)}</button> "
        f'<a class="raw" href="{esc(href)}">results as JSON</a>'
        f'<details><summary>Query</summary><pre id="example-{esc(example.slug)}">'
        f"{esc(example.text)}</pre></details></li>"
    )


def _scripts(yasgui: bool) -> str:
    tags = ['<script src="/static/query.js"></script>']
    if yasgui:
        tags.insert(0, '<script src="/static/yasgui/yasgui.min.js"></script>')
    return "\n".join(tags)
