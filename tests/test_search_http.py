"""``/search`` (JSON and HTML), ``SERVICE <urn:meahub:search>`` in SPARQL, and ``meahub search``
/ ``meahub reindex``, over the labelled fixture harvested through the real pipeline."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from harvester.search.evaluate import HUB, fixture_dataset, harvest_fixture
from harvester.service.cli import main
from harvester.service.runtime import Runtime
from harvester.settings import settings_from_mapping
from sparql import create_app

DECISION = "http://hub.test/decision/fixture/"
PREFIXES = """PREFIX mea: <https://w3id.org/mea/ontology#>
PREFIX dcterms: <http://purl.org/dc/terms/>
PREFIX xsd: <http://www.w3.org/2001/XMLSchema#>
"""
CMS_SINCE_2010 = (
    PREFIXES
    + """SELECT ?record ?score WHERE {
  SERVICE <urn:meahub:search> { ?record mea:matches "migratory corridors" ; mea:score ?score . }
  ?record a mea:Decision ; mea:treaty <https://w3id.org/mea/treaty/cms> ; dcterms:issued ?issued .
  FILTER(?issued >= "2010-01-01T00:00:00Z"^^xsd:dateTime)
} ORDER BY DESC(?score)"""
)
JSON = {"accept": "application/sparql-results+json"}


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient]:
    settings = settings_from_mapping({"server": {"base_iri": HUB}})
    with Runtime.open(settings, in_memory=True) as runtime:
        harvest_fixture(runtime, fixture_dataset())
        yield TestClient(create_app(runtime.store, settings.server))


def hit_ids(data: dict[str, object]) -> list[str]:
    hits = data["hits"]
    assert isinstance(hits, list)
    return [h["iri"].removeprefix(DECISION) for h in hits]


def sparql_ids(client: TestClient, query: str) -> list[str]:
    response = client.post("/sparql", data={"query": query}, headers=JSON)
    assert response.status_code == 200, response.text
    rows = response.json()["results"]["bindings"]
    return [row["record"]["value"].removeprefix(DECISION) for row in rows]


# -- /search ---------------------------------------------------------------------------------


def test_search_answers_json_best_first(client: TestClient) -> None:
    response = client.get("/search", params={"q": "protected areas"})
    assert response.status_code == 200
    data = response.json()
    assert data["total"] == 4
    scores = [h["score"] for h in data["hits"]]
    assert scores == sorted(scores, reverse=True)
    first = data["hits"][0]
    assert set(first) == {"iri", "score", "type", "title", "snippet"}
    assert first["type"] == "Decision" and first["title"] == "Protected areas"
    assert "<mark>" in first["snippet"]


def test_limit_offset_and_total(client: TestClient) -> None:
    whole = client.get("/search", params={"q": "wetlands", "limit": 50}).json()
    page = client.get("/search", params={"q": "wetlands", "limit": 2, "offset": 1}).json()
    assert page["total"] == whole["total"] == 6
    assert hit_ids(page) == hit_ids(whole)[1:3]


def test_filters_type_treaty_year_and_lang(client: TestClient) -> None:
    assert set(hit_ids(client.get("/search?q=wetlands&treaty=aewa").json())) == {"s34", "s35"}
    ramsar = client.get("/search?q=wetlands&type=Decision&treaty=Ramsar").json()
    assert set(hit_ids(ramsar)) == {"s18", "s19", "s38"}  # resolutions are mea:Decision too
    assert hit_ids(client.get("/search?q=wetlands&type=Meeting").json()) == []
    assert hit_ids(client.get("/search?q=protected&year=2012").json()) == ["s02"]
    assert client.get("/search?q=humides&lang=en").json()["total"] == 0
    assert client.get("/search?q=humides&lang=fr").json()["total"] == 3


def test_facets_in_json_on_request(client: TestClient) -> None:
    data = client.get("/search", params={"q": "wetlands", "facets": "1"}).json()
    treaties = {f["value"]: f["count"] for f in data["facets"]["treaty"]}
    assert treaties == {"ramsar": 3, "aewa": 2, "cbd": 1}


def test_html_page_with_escaped_snippets_and_facets(client: TestClient) -> None:
    response = client.get("/search", params={"q": "script"}, headers={"accept": "text/html"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    page = response.text
    assert "&lt;<mark>script</mark>&gt;" in page and "<script>" not in page.split("</head>")[1]
    assert "<h2>Treaty</h2>" in page and "Content-Security-Policy" in response.headers


@pytest.mark.parametrize(
    ("text", "position"),
    [pytest.param("(wetland OR", 9, id="dangling-or"), pytest.param('"zones', 0, id="quote")],
)
def test_syntax_errors_are_400_with_the_position(
    client: TestClient, text: str, position: int
) -> None:
    response = client.get("/search", params={"q": text})
    assert response.status_code == 400
    assert response.json()["position"] == position and response.json()["error"]


def test_long_queries_are_refused_and_the_server_goes_on(client: TestClient) -> None:
    huge = "wetland " * 262_144  # 2 MB
    assert client.post("/search", data={"q": huge}).status_code == 413
    assert client.get("/search", params={"q": "wetland", "type": "x" * 20_000}).status_code == 414
    assert client.post("/search", data={"q": "wetland " * 700}).status_code == 400
    assert client.get("/search", params={"q": "ivory"}).json()["total"] == 1


def test_long_searches_may_be_posted(client: TestClient) -> None:
    response = client.post("/search", data={"q": "zones humides", "lang": "fr"})
    assert set(hit_ids(response.json())) == {"s18", "s19", "s20"}


def test_bad_parameters_are_400(client: TestClient) -> None:
    assert client.get("/search").status_code == 400
    assert client.get("/search?q=x&year=twenty").status_code == 400
    assert client.get("/search?q=x&limit=0").status_code == 400


# -- SPARQL --------------------------------------------------------------------------------


def test_search_combined_with_a_graph_pattern(client: TestClient) -> None:
    # s13 is a CMS resolution of 2008 about migratory corridors: the graph pattern drops it
    assert set(sparql_ids(client, CMS_SINCE_2010)) == {"s11", "s12", "s14"}


def test_score_is_numeric_and_limit_honoured(client: TestClient) -> None:
    query = (
        PREFIXES
        + """SELECT ?record ?score WHERE { SERVICE <urn:meahub:search> {
  ?record mea:matches "wetlands" ; mea:score ?score ; mea:limit 2 } } ORDER BY DESC(?score)"""
    )
    response = client.post("/sparql", data={"query": query}, headers=JSON)
    rows = response.json()["results"]["bindings"]
    assert len(rows) == 2
    assert rows[0]["score"]["datatype"] == "http://www.w3.org/2001/XMLSchema#double"
    assert float(rows[0]["score"]["value"]) >= float(rows[1]["score"]["value"]) > 0


def test_language_in_the_service_pattern(client: TestClient) -> None:
    query = PREFIXES + (
        'SELECT ?record WHERE { SERVICE <urn:meahub:search> { ?record mea:matches "humides" ;'
        ' mea:language "en" } }'
    )
    assert sparql_ids(client, query) == []


def test_search_errors_inside_sparql(client: TestClient) -> None:
    bad = PREFIXES + 'SELECT * WHERE { SERVICE <urn:meahub:search> { ?r mea:matches "(a OR" } }'
    response = client.post("/sparql", data={"query": bad}, headers=JSON)
    assert response.status_code == 400 and "character" in response.text
    huge = PREFIXES + 'SELECT * WHERE { SERVICE <urn:meahub:search> { ?r mea:matches "%s" } }'
    response = client.post("/sparql", data={"query": huge % ("w " * 1_048_576)}, headers=JSON)
    assert response.status_code in (400, 413)
    assert sparql_ids(client, CMS_SINCE_2010) != []


# -- on disk: the query workers, after a harvest ------------------------------------------------


def on_disk_settings(tmp_path: Path) -> tuple[Path, object]:
    config = tmp_path / "meahub.toml"
    config.write_text(
        f'[server]\nbase_iri = "{HUB}"\nquery_workers = 1\n'
        f'[store]\npath = "{tmp_path / "store"}"\nstate_dir = "{tmp_path / "state"}"\n',
        encoding="utf-8",
    )
    from harvester.settings import load_settings

    return config, load_settings(config)


def test_workers_answer_the_search_on_the_generation_they_read(tmp_path: Path) -> None:
    _, settings = on_disk_settings(tmp_path)
    data = fixture_dataset()
    with Runtime.open(settings) as runtime:  # type: ignore[arg-type]
        harvest_fixture(runtime, data)
        with TestClient(create_app(runtime.store, runtime.settings.server)) as client:
            assert set(sparql_ids(client, CMS_SINCE_2010)) == {"s11", "s12", "s14"}
            data.delete("Decisions", "s12")
            record = dict(data["Decisions"]["s13"])
            record["published"] = record["updated"] = datetime(2021, 5, 1, tzinfo=UTC)
            data.add("Decisions", record)
            harvest_fixture(runtime, data)
            assert set(sparql_ids(client, CMS_SINCE_2010)) == {"s11", "s13", "s14"}
            found = client.get("/search", params={"q": "migratory corridors"}).json()
            assert set(hit_ids(found)) == {"s11", "s13", "s14"}


def test_cli_search_prints_iris_and_reindex_rebuilds(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config, settings = on_disk_settings(tmp_path)
    with Runtime.open(settings) as runtime:  # type: ignore[arg-type]
        harvest_fixture(runtime, fixture_dataset())
    assert main(["search", "--config", str(config), "ivory"]) == 0
    assert capsys.readouterr().out == DECISION + "s31\n"
    assert main(["search", "--config", str(config), '"ivory']) == 2
    assert "character 0" in capsys.readouterr().err
    assert main(["reindex", "--config", str(config)]) == 0
    assert main(["search", "--config", str(config), "--treaty", "aewa", "wetlands"]) == 0
    assert sorted(capsys.readouterr().out.split()) == [DECISION + "s34", DECISION + "s35"]


def test_a_2mb_get_through_a_real_server(client: TestClient) -> None:
    """httpx refuses such a URL itself: the request goes over a raw socket to uvicorn."""
    import socket
    from urllib.parse import urlsplit

    from tests.conftest import serve_app

    with serve_app(client.app) as base:
        address = urlsplit(base)
        statuses = []
        for target in ("/search?q=" + "wetland+" * 262_144, "/search?q=ivory"):
            with socket.create_connection((address.hostname, address.port), timeout=30) as sock:
                sock.sendall(
                    f"GET {target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode()
                )
                statuses.append(int(sock.recv(64).split()[1]))
    assert statuses[0] in (400, 413, 414) and statuses[1] == 200


def test_the_query_page_links_to_search(client: TestClient) -> None:
    assert 'href="/search"' in client.get("/").text


def test_a_hit_with_an_unsafe_iri_is_shown_but_not_linked() -> None:
    from harvester.search import Hit
    from sparql.search import _hit

    evil = Hit(iri="javascript:alert(1)", score=1.0, type="Decision", title="<b>t</b>", snippet="s")
    safe = Hit(
        iri="https://hub.test/decision/x", score=1.0, type="Decision", title="t", snippet="s"
    )
    assert "href" not in _hit(evil) and "&lt;b&gt;t&lt;/b&gt;" in _hit(evil)
    assert 'href="https://hub.test/decision/x"' in _hit(safe)
