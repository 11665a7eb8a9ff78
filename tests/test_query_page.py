"""The query page at /: examples that really run, a strict policy, and a real browser using it.

The browser tests drive Debian's chromium (``/usr/bin/chromium``, installed by ``make install``)
through Playwright, against a real uvicorn server on a free loopback port. Where chromium or
Playwright is missing they are skipped, with the reason.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sparql import create_app
from sparql.query_page import QUERIES_DIR, load_examples, yasgui_available

from .conftest import serve_app
from .public_site import Site, open_site

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
EXAMPLES = load_examples()


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    opened = open_site(Path(tmp_path_factory.mktemp("dumps")))
    yield opened
    opened.close()


def test_every_example_has_a_title_and_parses(tmp_path: Path) -> None:
    assert len(EXAMPLES) >= 8
    assert all(e.title and not e.title.startswith("#") for e in EXAMPLES)
    (tmp_path / "bad.rq").write_text("SELECT * WHERE {}\n", encoding="utf-8")
    with pytest.raises(ValueError, match="title"):
        load_examples(tmp_path)


@pytest.mark.parametrize("example", EXAMPLES, ids=[e.slug for e in EXAMPLES])
def test_every_example_runs_over_the_endpoint(site: Site, example: Any) -> None:
    response = site.client.post(
        "/sparql",
        data={"query": example.text},
        headers={"Accept": "application/sparql-results+json"},
    )
    assert response.status_code == 200, response.text
    assert "results" in response.json()


def test_examples_answer_what_the_data_says(site: Site) -> None:
    def rows(slug: str) -> list[dict[str, Any]]:
        text = (QUERIES_DIR / f"{slug}.rq").read_text(encoding="utf-8")
        answer = site.client.post(
            "/sparql", data={"query": text}, headers={"Accept": "application/json"}
        )
        return answer.json()["results"]["bindings"]  # type: ignore[no-any-return]

    assert rows("00-count-decisions")[0]["n"]["value"] == str(len(site.dataset["Decisions"]))
    gbf = rows("06-gbf-to-aichi-to-decisions")
    assert {r["aichi"]["value"] for r in gbf} == {"https://w3id.org/mea/aichi/target-11"}
    assert rows("07-provenance") and rows("04-reporting-overview")


def test_page_offers_examples_and_a_plain_form(site: Site) -> None:
    response = site.client.get("/")
    assert response.status_code == 200
    text = response.text
    assert '<form method="post" action="/sparql">' in text
    for example in EXAMPLES:
        assert f'data-query="example-{example.slug}"' in text
    assert "&lt;https://w3id.org/mea/ontology#&gt;" in text  # query text is escaped
    policy = response.headers["content-security-policy"]
    assert "script-src 'self';" in policy and "connect-src 'self'" in policy
    assert ("/static/yasgui/yasgui.min.js" in text) == yasgui_available()
    assert site.client.get("/static/query.js").status_code == 200


# -- a real browser ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def live_url(site: Site) -> Iterator[str]:
    with serve_app(create_app(site.runtime.store, site.server)) as base:
        yield base


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    playwright_api = pytest.importorskip(
        "playwright.sync_api", reason="Playwright is not installed (make install)"
    )
    if not Path(CHROMIUM).exists():
        pytest.skip(f"chromium not found at {CHROMIUM} (make install installs Debian's chromium)")
    with playwright_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        yield launched
        launched.close()


def _open(browser: Any, url: str, *, block_yasgui: bool = False) -> tuple[Any, list[str]]:
    """A fresh page at ``url`` and the list its console errors and CSP violations go to."""
    page = browser.new_context().new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    if block_yasgui:
        page.route("**/static/yasgui/**", lambda route: route.abort())
    page.goto(url)
    return page, errors


@pytest.mark.slow
def test_browser_runs_an_example_and_sees_rows(browser: Any, live_url: str, site: Site) -> None:
    page, errors = _open(browser, live_url)
    page.click('button[data-query="example-04-reporting-overview"]')
    cells = page.locator("#yasgui table tbody tr, #results table tbody tr")
    cells.first.wait_for(timeout=20_000)
    assert cells.count() >= 1
    assert "https://w3id.org/mea/treaty/" in page.inner_text("body")
    assert not [e for e in errors if "Content Security Policy" in e]


@pytest.mark.slow
def test_browser_without_yasgui_uses_the_plain_editor(
    browser: Any, live_url: str, site: Site
) -> None:
    page, _ = _open(browser, live_url, block_yasgui=True)
    assert page.is_visible("#query")
    page.click('button[data-query="example-00-count-decisions"]')
    page.locator("#results table tbody tr").first.wait_for(timeout=20_000)
    assert page.inner_text("#results table tbody td") == str(len(site.dataset["Decisions"]))
