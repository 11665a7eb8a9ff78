"""split_paragraphs: decision content HTML (and plain text) to numbered paragraphs."""

from __future__ import annotations

import random

import pytest

from harvester.demo import generate_dataset
from harvester.linking import Paragraph, paragraphs, split_paragraphs

P = Paragraph


@pytest.mark.parametrize(
    ("html", "expected"),
    [
        pytest.param(
            "<p>1. ADOPTS the agenda;</p><p>2. REQUESTS the Secretariat to report.</p>",
            [P("1", "ADOPTS the agenda;"), P("2", "REQUESTS the Secretariat to report.")],
            id="demo-style-p",
        ),
        pytest.param(
            "<p>2. REQUESTS the Secretariat:</p><p>(a) To compile;</p><p>(b) To report.</p>",
            [
                P("2", "REQUESTS the Secretariat:"),
                P("2(a)", "To compile;"),
                P("2(b)", "To report."),
            ],
            id="sub-items-in-p",
        ),
        pytest.param(
            "<ol><li>ADOPTS the report;</li><li>DECIDES to meet.</li></ol>",
            [P("1", "ADOPTS the report;"), P("2", "DECIDES to meet.")],
            id="ol-li",
        ),
        pytest.param(
            '<ol start="4"><li>URGES Parties;</li><li>INVITES donors.</li></ol>',
            [P("4", "URGES Parties;"), P("5", "INVITES donors.")],
            id="ol-start",
        ),
        pytest.param(
            "<ol><li>REQUESTS:<ol><li>to compile;</li><li>to report.</li></ol></li><li>NOTES.</li></ol>",
            [
                P("1", "REQUESTS:"),
                P("1(a)", "to compile;"),
                P("1(b)", "to report."),
                P("2", "NOTES."),
            ],
            id="nested-ol-as-sub-items",
        ),
        pytest.param(
            '<ol type="a"><li>first</li><li>second</li></ol>',
            [P("(a)", "first"), P("(b)", "second")],
            id="ol-type-a-without-parent",
        ),
        pytest.param(
            "<ol><li>1. ADOPTS x</li><li>2 bis. NOTES y</li></ol>",
            [P("1", "ADOPTS x"), P("2 bis", "NOTES y")],
            id="li-with-own-number-wins",
        ),
        pytest.param(
            "<ul><li>Recalling decision X/2,</li></ul>",
            [P(None, "Recalling decision X/2,")],
            id="ul-is-unnumbered",
        ),
        pytest.param(
            "1. DECIDES foo;<br>2. NOTES bar;<br/>3. URGES baz.",
            [P("1", "DECIDES foo;"), P("2", "NOTES bar;"), P("3", "URGES baz.")],
            id="br-separated",
        ),
        pytest.param(
            "1. ADOPTS the agenda.\n2. DECIDES to meet.\n\n3. THANKS the host.",
            [P("1", "ADOPTS the agenda."), P("2", "DECIDES to meet."), P("3", "THANKS the host.")],
            id="plain-text-lines",
        ),
        pytest.param(
            "1. ADOPTS the agenda. 2. DECIDES to meet in 2024.",
            [P("1", "ADOPTS the agenda."), P("2", "DECIDES to meet in 2024.")],
            id="plain-text-one-line",
        ),
        pytest.param(
            "<p>2 bis. INVITES Parties;</p><p>2ter. URGES Parties;</p><p>3 TER. NOTES</p>",
            [P("2 bis", "INVITES Parties;"), P("2 ter", "URGES Parties;"), P("3 ter", "NOTES")],
            id="bis-ter",
        ),
        pytest.param(
            "<p>4. REQUESTS the Secretariat: (a) to compile; (b) to report; and (c) to publish.</p>",
            [
                P("4", "REQUESTS the Secretariat:"),
                P("4(a)", "to compile;"),
                P("4(b)", "to report;"),
                P("4(c)", "to publish."),
            ],
            id="inline-sub-items",
        ),
        pytest.param(
            "<p>1(a) combined</p><p>(i) roman</p><p>(ii) again</p><p>(b) next</p>",
            [
                P("1(a)", "combined"),
                P("1(a)(i)", "roman"),
                P("1(a)(ii)", "again"),
                P("1(b)", "next"),
            ],
            id="combined-and-roman",
        ),
        pytest.param(
            "<p>5. LISTS:</p>" + "".join(f"<p>({c}) item {c}</p>" for c in "abcdefghij"),
            [P("5", "LISTS:")] + [P(f"5({c})", f"item {c}") for c in "abcdefghij"],
            id="letter-i-after-h-is-a-letter",
        ),
        pytest.param(
            "<p>The Conference of the Parties,</p><p><i>Recalling</i> decision X/2,</p><p>1. ADOPTS x.</p>",
            [
                P(None, "The Conference of the Parties,"),
                P(None, "Recalling decision X/2,"),
                P("1", "ADOPTS x."),
            ],
            id="preambular-unnumbered",
        ),
        pytest.param(
            "<p>1. NOTES   the\n  <b>Strategic</b>&nbsp;Plan &amp; the &lt;annex&gt; &#233;</p>",
            [P("1", "NOTES the Strategic Plan & the <annex> é")],
            id="entities-inline-tags-whitespace",
        ),
        pytest.param(
            "<p>1. ADOPTS x.</p><script>alert('1. no')</script><style>p{}</style><p>2. NOTES y.</p>",
            [P("1", "ADOPTS x."), P("2", "NOTES y.")],
            id="script-and-style-dropped",
        ),
        pytest.param(
            '<p onclick="evil()">1. ADOPTS <a href="javascript:x()">x</a>.</p><img src=x onerror=y>',
            [P("1", "ADOPTS x.")],
            id="attributes-ignored",
        ),
        pytest.param(
            "<p>17 per cent of land and 1.5 degrees</p>",
            [P(None, "17 per cent of land and 1.5 degrees")],
            id="numbers-that-are-not-markers",
        ),
        pytest.param("<div>1. ADOPTS <p>x", [P("1", "ADOPTS"), P(None, "x")], id="broken-html"),
        pytest.param("", [], id="empty"),
        pytest.param("<p> </p><br><p>&nbsp;</p>", [], id="only-whitespace"),
    ],
)
def test_split_paragraphs(html: str, expected: list[Paragraph]) -> None:
    assert split_paragraphs(html) == expected


def test_demo_decisions_split_into_numbered_paragraphs() -> None:
    dataset = generate_dataset(treaties=("cbd", "cms"), seed=3, decisions=20, meetings=2,
                               contacts=0, reports=0, plans=0)  # fmt: skip
    for record in dataset["Decisions"].values():
        html = record["content"][0]["value"]
        paragraphs = split_paragraphs(html)
        assert paragraphs, html
        assert paragraphs[0].number == "1"
        assert all(p.number and "<" not in p.text for p in paragraphs)


# -- the bare-tag reader gives what html.parser gives -------------------------------------------

_FRAGMENTS = [
    *"<p> </p> <P> <br> <br/> <BR/> <p/> <li> </li> <ol> </ol> <ul> </ul> <b> </b> <i>".split(),
    "<br />",
    *"<span> </span> <div> </div> <h2> <td> <tr> <table> <pre> </pre> <hr>".split(),
    *["&amp;", "&nbsp;", "&#233;", "&lt;p&gt;", "&", "&am", "&#", ">", "\n", "\n\n", "  ", "\t"],
    *["1. ", "2 bis. ", "3ter) ", "(a) ", "(ii) ", "b) ", "DECIDES ", "to act; ", "the Parties: "],
    *["17 per cent ", "1.5 ", "4(a) ", ". 2. NOTES X", " and (c) ", "; or (d) ", "\u00a0", "\u2003"],
]  # fmt: skip
_OTHER_HTML = [
    '<p class="x">', "<a href='y'>", '<ol start="3">', "<!-- c -->", "<!DOCTYPE html>", "<?x?>",
    "a < b", "x<3", "<", "</p/>", "<p >", "</ pre>", "<script>", "<style>", "<title>", "<head>",
    "<textarea>", "<img src=x>",
]  # fmt: skip


def _parsed_blocks(html: str) -> list[object]:
    blocks = paragraphs._Blocks()
    parser = paragraphs._BlockParser(blocks)
    parser.feed(html)
    parser.close()
    blocks.flush()
    return list(blocks.blocks)


def test_bare_reader_gives_the_blocks_of_the_html_parser() -> None:
    rng = random.Random(5)
    for _ in range(3000):
        html = "".join(rng.choice(_FRAGMENTS) for _ in range(rng.randint(0, 25)))
        blocks = paragraphs._Blocks()
        assert paragraphs._read_bare(html, blocks), html
        blocks.flush()
        assert blocks.blocks == _parsed_blocks(html), html


@pytest.mark.parametrize("other", _OTHER_HTML)
def test_bare_reader_leaves_other_html_to_the_parser(other: str) -> None:
    blocks = paragraphs._Blocks()
    assert not paragraphs._read_bare(f"<p>1. ADOPTS{other} x</p>", blocks)
    blocks.flush()
    assert blocks.blocks == []
