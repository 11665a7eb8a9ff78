"""The analyst pages (issue 16), server side: httpx against the in-process ASGI app over the
hand-written hub of ``tests/data/pages-fixture.trig`` (and the generated demo hub for the gap
numbers): what each page shows, content negotiation, escaping and sanitising, the gap numbers
against ``sparql/queries/02-gap-analysis.rq``, and the per-generation cache."""

from __future__ import annotations

import csv
import html
import io
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyoxigraph as ox
import pytest
import rdflib

from harvester.store.embedded import ChangeSet
from sparql.pages.model import paragraph_key
from sparql.pages.sanitize import sanitize
from sparql.query_page import QUERIES_DIR

from .pages_site import (
    DECISION_W,
    DECISION_X,
    DECISION_Y,
    DECISION_Z,
    HTML,
    PagesSite,
    open_pages_site,
    path_of,
)
from .public_site import Site, open_site

GAP_QUERY = (QUERIES_DIR / "02-gap-analysis.rq").read_text(encoding="utf-8")
TREATY = "https://w3id.org/mea/treaty/"
AICHI = "https://w3id.org/mea/aichi/target-"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PagesSite]:
    opened = open_pages_site(Path(tmp_path_factory.mktemp("dumps")))
    yield opened
    opened.close()


def _main(text: str) -> str:
    return text.split('<main id="content">', 1)[1].split("</main>", 1)[0]


def _paragraph(text: str, anchor: str) -> str:
    match = re.search(rf'<li id="{anchor}" class="paragraph">(.*?)</li>\n', text, re.S)
    assert match, anchor
    return match.group(1)


# -- the decision page ---------------------------------------------------------------------------


def test_decision_page_shows_the_paragraphs_in_published_order(site: PagesSite) -> None:
    text = _main(site.get(path_of(DECISION_X), HTML).text)
    order = re.findall(r'<li id="(paragraph-[^"]+)" class="paragraph">', text)
    assert order == [
        "paragraph-u1",
        "paragraph-1",
        "paragraph-2",
        "paragraph-3",
        "paragraph-3-a",
        "paragraph-10",
    ]
    assert "ENCOURAGES Parties to strengthen protected areas" in _paragraph(text, "paragraph-3")


def test_paragraph_3_shows_target_11_inferred_with_score_and_evidence(site: PagesSite) -> None:
    third = _paragraph(site.get(path_of(DECISION_X), HTML).text, "paragraph-3")
    assert 'href="/aichi/target-11"' in third and "Aichi Biodiversity Target 11" in third
    assert '<span class="method inferred">inferred</span>' in third
    assert "score 0.7<" in third and "lexical-v1" in third
    assert "<q>protected areas</q>" in third and "<q>ecological networks</q>" in third
    second = _paragraph(site.get(path_of(DECISION_X), HTML).text, "paragraph-2")
    assert 'href="/aichi/target-9"' in second and "given by the source" in second
    assert "inferred" not in second
    first = _paragraph(site.get(path_of(DECISION_X), HTML).text, "paragraph-1")
    assert "target-links" not in first


def test_decision_page_facts_files_and_provenance(site: PagesSite) -> None:
    response = site.get(path_of(DECISION_X), HTML)
    assert response.status_code == 200
    text = _main(response.text)
    assert '<h1 lang="en">The role of ecological networks' in text
    assert "UNEP/CMS/Resolution 12.7" in text
    assert '<a href="/treaty/cms" lang="en">CMS</a>' in text
    assert 'href="/meeting/fx/cms-cop12"' in text and 'datetime="2017-10-23"' in text
    assert '<time datetime="2017-10-28">2017-10-28</time>' in text  # the date of adoption
    assert "<dt>Status</dt><dd>active</dd>" in text
    assert "<dt>Type</dt><dd>resolution</dd>" in text
    assert (
        'href="https://www.cms.int/sites/default/files/document/cms_cop12_res.12.7_e.pdf"' in text
    )
    assert f'href="{path_of(DECISION_X)}/file/1"' in text
    assert 'href="http://prov.test/informea.svc/Decisions(&#x27;cms-12-7&#x27;)"' in text
    assert 'href="/run/fx-1"' in text and "<time>2026-01-01T10:00:00Z</time>" in text
    assert 'href="/source/fx"' in text
    assert "server-timing" in response.headers


def test_title_follows_accept_language_and_links_the_others(site: PagesSite) -> None:
    english = site.get(path_of(DECISION_X), {**HTML, "Accept-Language": "en"}).text
    french = site.get(path_of(DECISION_X), {**HTML, "Accept-Language": "fr-CH, fr;q=0.9"}).text
    assert '<h1 lang="fr">Le rôle des réseaux écologiques' in french
    assert 'href="?lang=en" hreflang="en" lang="en">The role of ecological networks' in french
    assert 'href="?lang=fr" hreflang="fr" lang="fr">Le rôle' in english
    by_parameter = site.get(path_of(DECISION_X) + "?lang=fr", HTML).text
    assert '<h1 lang="fr">' in by_parameter
    # paragraphs follow the reader too
    assert "ENCOURAGE les Parties" in _paragraph(french, "paragraph-3")


def test_source_html_is_sanitised_and_never_shown_as_source(site: PagesSite) -> None:
    text = site.get(path_of(DECISION_X), HTML).text
    content = text.split('<div class="content" lang="en">', 1)[1].split("</div>", 1)[0]
    assert "<p>1. URGES Parties to designate sites;</p>" in content  # markup kept, as markup
    assert "<b>INVITES</b>" in content
    assert "&lt;p&gt;" not in text  # never escaped source
    lowered = text.lower()
    assert "<script" not in lowered and "onerror" not in lowered and "onclick" not in lowered
    assert "<img" not in lowered and "alert(&#x27;content&#x27;)" not in lowered
    # paragraph text is plain text: its markup is shown escaped, never run
    assert "&lt;script&gt;alert(&#x27;paragraph&#x27;)&lt;/script&gt;" in text


def test_injected_titles_are_escaped(site: PagesSite) -> None:
    text = site.get(path_of(DECISION_Y), HTML).text
    lowered = text.lower()
    assert "<script" not in lowered and "<img" not in lowered and "<svg onload" not in lowered
    assert html.escape("<script>alert(1)</script>") in text
    assert html.escape("<img src=x onerror=alert(1)>") in text  # the French title, one click away
    # and where the title is shown on other pages
    target = site.get("/aichi/target-11", HTML).text
    assert "<script" not in target.lower() and html.escape("<script>alert(1)</script>") in target


def test_pages_keep_the_strict_policy(site: PagesSite) -> None:
    for path in (path_of(DECISION_X), "/gaps", "/aichi/target-11", "/country/ALB", "/treaty/cms"):
        response = site.get(path, HTML)
        policy = response.headers["content-security-policy"]
        assert policy.startswith("default-src 'none';"), path
        assert "script-src" not in policy and "unsafe-inline" not in policy, path
        assert response.headers["x-content-type-options"] == "nosniff"


def test_decision_page_is_also_rdf(site: PagesSite) -> None:
    turtle = site.get(path_of(DECISION_X), {"Accept": "text/turtle"})
    assert turtle.headers["content-type"].startswith("text/turtle")
    graph = rdflib.Graph().parse(data=turtle.text, format="turtle")
    paragraph = rdflib.URIRef(DECISION_X + "/paragraph/3")
    assert (rdflib.URIRef(DECISION_X), rdflib.URIRef(MEA + "paragraph"), paragraph) in graph


def test_decision_page_reads_with_a_fixed_number_of_queries(
    site: PagesSite, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = _record_queries(site, monkeypatch)
    site.get(path_of(DECISION_X), HTML)
    with_paragraphs = len(calls)
    calls.clear()
    site.get(path_of(DECISION_Z), HTML)
    assert with_paragraphs == len(calls) <= 4  # no query per paragraph, link or label


# -- the gap matrix ------------------------------------------------------------------------------


def _cell(text: str, treaty: str, target: int) -> str:
    match = re.search(rf'<td id="cell-{treaty}-{target}" class="[a-z]+">(.*?)</td>', text, re.S)
    assert match, (treaty, target)
    return match.group(1)


def test_gap_cell_shows_the_count_and_links_to_those_decisions(site: PagesSite) -> None:
    text = site.get("/gaps", HTML).text
    cell = _cell(text, "cms", 11)
    assert re.search(r">2</text>", cell), cell  # drawn in SVG
    assert "CMS, target 11: 2 decisions, 1 paragraph" in cell
    href = html.unescape(re.search(r'href="([^"]+)"', cell).group(1))  # type: ignore[union-attr]
    assert href == "/aichi/target-11?since=2010&treaty=cms#decisions"
    listed = site.get(href.split("#")[0], HTML).text
    linked = set(re.findall(r'<span class="decision"><a href="([^"]+)"', listed))
    assert linked == {path_of(DECISION_X), path_of(DECISION_Y)}
    assert "<svg" in cell and "<script" not in text.lower()


def test_gap_cells_without_decisions_say_so(site: PagesSite) -> None:
    text = site.get("/gaps", HTML).text
    assert "not addressed" in _cell(text, "ramsar", 11)
    assert "not addressed" in _cell(text, "cms", 1)
    assert '<tr id="row-ramsar">' in text  # a convention with decisions but no link has a row
    assert '<th scope="col">Convention</th>' in text and '<th scope="row">' in text
    assert '<form class="since" method="get" action="/gaps">' in text


def test_since_changes_the_counts(site: PagesSite) -> None:
    old = site.get("/gaps?since=2005", HTML).text
    assert re.search(r">3</text>", _cell(old, "cms", 11))  # decision Z (2008) counts now
    assert 'value="2005"' in old
    late = site.get("/gaps?since=2018", HTML).text
    assert "not addressed" in _cell(late, "cms", 11)
    assert site.get("/gaps?since=tomorrow").status_code == 400
    assert site.get("/gaps?since=1066").status_code == 400


def test_gaps_as_csv_and_json(site: PagesSite) -> None:
    answer = site.get("/gaps", {"Accept": "text/csv"})
    assert answer.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(answer.text)))
    assert [r["treaty"] for r in rows] == ["cbd", "cms", "ramsar"]
    assert list(rows[0])[1:] == [f"target-{n}" for n in range(1, 21)]
    by_treaty = {r["treaty"]: r for r in rows}
    assert by_treaty["cms"]["target-11"] == "2" and by_treaty["cms"]["target-9"] == "1"
    assert by_treaty["cbd"]["target-11"] == "1" and by_treaty["ramsar"]["target-11"] == "0"
    data = site.get("/gaps?since=2005", {"Accept": "application/json"}).json()
    assert data["since"] == 2005
    cms = next(r for r in data["rows"] if r["treaty"] == "cms")
    assert cms["decisions"]["target-11"] == 3 and cms["paragraphs"]["target-11"] == 1
    assert "target-11" not in cms["not_addressed"] and "target-1" in cms["not_addressed"]
    assert site.get("/gaps?format=csv").text == site.get("/gaps", {"Accept": "text/csv"}).text


def test_gaps_as_rdf_data_cube(site: PagesSite) -> None:
    turtle = site.get("/gaps?since=2010", {"Accept": "text/turtle"})
    graph = rdflib.Graph().parse(data=turtle.text, format="turtle")
    qb = rdflib.Namespace("http://purl.org/linked-data/cube#")
    observations = list(graph.subjects(rdflib.RDF.type, qb.Observation))
    assert len(observations) == 3 * 20
    decisions = rdflib.URIRef("http://hub.test/gaps#decisions")
    counts = {
        (
            str(graph.value(o, rdflib.URIRef(MEA + "treaty"))),
            str(graph.value(o, rdflib.URIRef(MEA + "aichiTarget"))),
        ): int(graph.value(o, decisions))  # type: ignore[arg-type]
        for o in observations
    }
    assert counts[(TREATY + "cms", AICHI + "11")] == 2
    jsonld = site.get("/gaps", {"Accept": "application/ld+json"})
    assert jsonld.headers["content-type"].startswith("application/ld+json")
    assert site.get("/gaps", {"Accept": "image/png"}).status_code == 406


def test_gaps_revalidate_per_store_generation(site: PagesSite) -> None:
    first = site.get("/gaps", {"Accept": "text/csv"})
    etag = first.headers["etag"]
    again = site.get("/gaps", {"Accept": "text/csv", "If-None-Match": etag})
    assert again.status_code == 304
    other_year = site.get("/gaps?since=2011", {"Accept": "text/csv"})
    assert other_year.headers["etag"] != etag
    html_tag = site.get("/gaps", HTML).headers["etag"]
    assert html_tag != etag
    assert first.headers["vary"] == "Accept, Accept-Language"


def _json_matrix(get: Any, since: str = "") -> dict[tuple[str, str], int]:
    data = get("/gaps" + since, {"Accept": "application/json"}).json()
    return {
        (row["iri"], target["iri"]): row["decisions"][target["column"]]
        for row in data["rows"]
        for target in data["targets"]
    }


def _query_matrix(store: Any) -> dict[tuple[str, str], int]:
    return {
        (row["treaty"].value, row["target"].value): int(row["decisions"].value)
        for row in store.query(GAP_QUERY)
    }


def test_gap_numbers_equal_the_user_story_query(site: PagesSite) -> None:
    expected = _query_matrix(site.runtime.store)
    assert expected[(TREATY + "cms", AICHI + "11")] == 2  # the query itself agrees with the fixture
    assert _json_matrix(site.get) == expected


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    opened = open_site(Path(tmp_path_factory.mktemp("demo-dumps")))
    yield opened
    opened.close()


def test_gap_numbers_equal_the_query_on_a_harvested_hub(demo: Site) -> None:
    def get(path: str, headers: dict[str, str]) -> Any:
        return demo.client.get(path, headers=headers)

    expected = _query_matrix(demo.runtime.store)
    assert sum(expected.values()) > 10  # the demo data links many decisions
    assert _json_matrix(get) == expected
    html_text = demo.client.get("/gaps", headers=HTML).text
    for (treaty, target), count in expected.items():
        cell = _cell(html_text, treaty[len(TREATY) :], int(target[len(AICHI) :]))
        assert (f">{count}</text>" in cell) if count else ("not addressed" in cell)


def test_the_cache_follows_the_store(tmp_path: Path) -> None:
    fresh = open_pages_site(tmp_path)
    try:
        before = _json_matrix(fresh.get)
        changes = ChangeSet()
        graph = "http://hub.test/graph/fx/decisions/extra"
        decision = ox.NamedNode("http://hub.test/decision/fx/extra")
        quads = [
            (ox.NamedNode(RDF_TYPE), ox.NamedNode(MEA + "Decision")),
            (ox.NamedNode(MEA + "treaty"), ox.NamedNode(TREATY + "cms")),
            (
                ox.NamedNode(DCTERMS_ISSUED),
                ox.Literal("2020-01-01", datatype=ox.NamedNode(XSD_DATE)),
            ),
            (ox.NamedNode(MEA + "aichiTarget"), ox.NamedNode(AICHI + "11")),
        ]
        changes.put_graph(graph, [ox.Quad(decision, p, o, ox.NamedNode(graph)) for p, o in quads])
        fresh.runtime.store.apply(changes)
        after = _json_matrix(fresh.get)
        key = (TREATY + "cms", AICHI + "11")
        assert after[key] == before[key] + 1
        assert "UNEP" not in fresh.get("/aichi/target-11?treaty=cms&since=2019", HTML).text
    finally:
        fresh.close()


# -- the target page -----------------------------------------------------------------------------


def test_target_page_text_goal_gbf_and_sdg(site: PagesSite) -> None:
    text = _main(site.get("/aichi/target-11", HTML).text)
    assert '<h1 lang="en">Aichi Biodiversity Target 11</h1>' in text
    assert "By 2020, at least 17 per cent of terrestrial and inland water" in text
    assert "Strategic Goal C" in text
    assert 'href="/resource?iri=https%3A%2F%2Fw3id.org%2Fmea%2Fgbf%2Ftarget-3"' in text
    assert 'href="http://metadata.un.org/sdg/15.4">SDG 15.4</a>' in text


def test_target_page_groups_by_treaty_and_year_source_first(site: PagesSite) -> None:
    text = _main(site.get("/aichi/target-11", HTML).text)
    treaties = re.findall(r'<section id="treaty-([a-z]+)" class="treaty">', text)
    assert treaties == ["cbd", "cms"]
    cms = text.split('<section id="treaty-cms"', 1)[1].split("</section>", 1)[0]
    years = re.findall(r"<h4>(\d{4})</h4>", cms)
    assert years == ["2017", "2008"]
    listed = re.findall(r'<span class="decision"><a href="([^"]+)"', cms)
    assert listed == [path_of(DECISION_Y), path_of(DECISION_X), path_of(DECISION_Z)]  # source first
    assert "(inferred, score 0.7)" in cms
    assert f'href="{path_of(DECISION_X)}#paragraph-3"' in cms
    cbd = text.split('<section id="treaty-cbd"', 1)[1].split("</section>", 1)[0]
    assert path_of(DECISION_W) in cbd


def test_target_page_filters_and_the_list_of_targets(site: PagesSite) -> None:
    assert site.get("/aichi/target-11?treaty=c%3Cb", HTML).status_code == 400
    assert site.get("/aichi/target-11?since=2999", HTML).status_code == 400
    assert site.get("/aichi/target-21", HTML).status_code == 404
    none = site.get("/aichi/target-5", HTML).text
    assert "No decision or paragraph is linked to this target." in none
    same = site.get("/resource?iri=https%3A%2F%2Fw3id.org%2Fmea%2Faichi%2Ftarget-11", HTML).text
    assert "By 2020, at least 17 per cent" in same
    index = site.get("/targets", HTML).text
    assert index.count('href="/aichi/target-') == 20
    assert re.search(r'href="/aichi/target-11">Target 11</a></th><td>.*?</td><td>4</td>', index)
    turtle = site.get("/aichi/target-11", {"Accept": "text/turtle"})
    assert turtle.status_code == 200 and "skos:definition" in turtle.text


# -- the country and treaty pages ----------------------------------------------------------------


def test_country_page_focal_points_roles_reports_and_meetings(site: PagesSite) -> None:
    for path in (
        "/country/ALB",
        "/country/al",
        "/resource?iri=https%3A%2F%2Fw3id.org%2Fmea%2Fcountry%2FALB",
    ):
        response = site.get(path, HTML)
        assert response.status_code == 200, path
    text = _main(site.get("/country/ALB", HTML).text)
    assert '<h1 lang="en">Albania</h1>' in text
    cms = text.split('<a href="/treaty/cms" lang="en">CMS</a></h3>', 1)[1].split("</table>", 1)[0]
    assert "Ms Elira Hoxha" in cms and "CMS National Focal Point" in cms
    assert "CBD Clearing-House Mechanism" not in cms  # the role of her other treaty
    assert "(primary)" in cms and 'href="mailto:elira.hoxha@example.org"' in cms
    assert "Ramsar Administrative Authority" in text  # a plain role text
    assert "Sixth national report of Albania" in text and 'datetime="2019-02-28"' in text
    assert "national plan (NBSAP)" in text and 'datetime="2016-05-10"' in text
    assert "58th meeting of the Ramsar Standing Committee" in text and "Tirana" in text
    assert site.get("/country/ZZ", HTML).status_code == 404


def test_country_page_works_without_any_record(site: PagesSite) -> None:
    text = site.get("/country/NOR", HTML).text
    assert '<h1 lang="en">Norway</h1>' in text and "No focal point is recorded." in text
    turtle = site.get("/country/NOR", {"Accept": "text/turtle"})
    assert turtle.status_code == 200 and "Norway" in turtle.text


def test_treaty_page_meetings_decisions_per_year_and_reporting(site: PagesSite) -> None:
    text = _main(site.get("/treaty/cms", HTML).text)
    assert '<h1 lang="en">CMS</h1>' in text
    assert "Convention on the Conservation of Migratory Species" in text
    assert re.search(r"2017</a></th><td>2</td>", text) and re.search(
        r"2008</a></th><td>1</td>", text
    )
    assert "Twelfth Meeting of the Conference of the Parties to CMS" in text and "Manila" in text
    assert "Countries that reported" in text and "<dt>Focal points</dt><dd>1</dd>" in text
    assert f'href="{path_of(DECISION_Y)}"' in text  # the latest decisions
    year = site.get("/treaty/cms?year=2008", HTML).text
    assert '<section id="year-2008"' in year and path_of(DECISION_Z) in year
    assert site.get("/treaty/cms?year=20x8", HTML).status_code == 400
    assert site.get("/treaty/nosuchtreaty", HTML).status_code == 404
    cbd = _main(site.get("/treaty/cbd", HTML).text)
    assert re.search(r"<th scope=\"row\">2019</th><td>1</td><td>1</td>", cbd)  # reports per year


def test_every_page_has_one_h1_headings_and_table_headers(site: PagesSite) -> None:
    for path in (
        path_of(DECISION_X),
        "/gaps",
        "/targets",
        "/aichi/target-11",
        "/country/ALB",
        "/treaty/cms",
    ):
        text = site.get(path, HTML).text
        assert text.count("<h1") == 1, path
        assert "<h2" in text, path
        assert '<a class="skip" href="#content">' in text and 'id="content"' in text
        assert text.count('id="content"') == 1, path
        for table in re.findall(r"<table.*?</table>", text, re.S):
            assert '<th scope="col"' in table, path
        for label, href in (("Gap matrix", "/gaps"), ("Aichi targets", "/targets"), ("Query", "/")):
            assert f'<a href="{href}">{label}</a>' in text


# -- units ---------------------------------------------------------------------------------------


def test_sanitiser_keeps_structure_and_drops_everything_active() -> None:
    dirty = (
        '<h2>Title</h2><p class="x" style="color:red" onclick="alert(1)">1. <b>ADOPTS</b> '
        '<a href="javascript:alert(1)">bad</a> <a href="https://cbd.int/x">good</a> '
        '<a href="/relative">rel</a><script>alert(1)</script><style>p{}</style>'
        '<img src=x onerror=alert(1)><iframe src="https://evil"></iframe></p>'
        "<ol><li>(a) item</li></ol><!-- comment --><form><input></form>"
    )
    clean = sanitize(dirty)
    assert clean.startswith("Title<p>1. <b>ADOPTS</b>")
    assert '<a href="https://cbd.int/x" rel="noopener noreferrer nofollow">good</a>' in clean
    assert "javascript" not in clean and "/relative" not in clean
    for banned in ("<script", "<style", "<img", "<iframe", "onclick", "onerror", "style=",
                   "class=", "<!--", "<form", "<input", "<h2", "alert"):  # fmt: skip
        assert banned not in clean, banned
    assert "<ol><li>(a) item</li></ol>" in clean


@pytest.mark.parametrize(
    "numbers",
    [
        ["1", "2", "2 bis", "2(a)", "2(a)(ii)", "2(a)(ix)", "10"],
        ["1", "1(a)", "1(b)", "1(i)", "2", "A.1"],
    ],
)
def test_paragraph_numbers_sort_as_published(numbers: list[str]) -> None:
    shuffled = list(reversed(numbers))
    ranked = sorted(shuffled, key=lambda n: paragraph_key(n, None, None, 0))
    assert ranked == numbers
    preamble = paragraph_key(None, None, "x#p2", 5)
    assert preamble < paragraph_key("1", None, None, 0)
    assert paragraph_key("9", 1, None, 0) < paragraph_key(
        None, None, "x#p1", 0
    )  # displayOrder wins


# -- helpers -------------------------------------------------------------------------------------

MEA = "https://w3id.org/mea/ontology#"
RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
DCTERMS_ISSUED = "http://purl.org/dc/terms/issued"
XSD_DATE = "http://www.w3.org/2001/XMLSchema#date"


def _record_queries(site: PagesSite, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    store = site.runtime.store
    original = store.query
    calls: list[str] = []

    def counting(sparql: str, **kwargs: Any) -> Any:
        calls.append(sparql)
        return original(sparql, **kwargs)

    monkeypatch.setattr(store, "query", counting)
    return calls


def test_json_matrix_is_valid_json_for_any_since(site: PagesSite) -> None:
    for since in ("", "?since=1900", "?since=2100"):
        json.loads(site.get("/gaps" + since, {"Accept": "application/json"}).text)
