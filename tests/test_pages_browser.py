"""The analyst pages in a real browser: Debian's chromium through Playwright, against a uvicorn
server over the hand-written hub (``tests/data/pages-fixture.trig``).

Each page kind loads without a console error or policy violation, shows what the fixture says,
is usable by keyboard, has headings and table headers, and passes axe-core (from the npm
registry, copied into the virtualenv by ``make axe``). The markup injected into the fixture's
titles and content never becomes an element, an attribute handler or a dialog. Skipped, with the
reason, where chromium, Playwright or axe-core is missing.
"""

from __future__ import annotations

import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .conftest import serve_app
from .pages_site import DECISION_X, DECISION_Y, PagesSite, open_pages_site, path_of

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"]  # fmt: skip
AXE = Path(sys.prefix) / "share" / "axe-core" / "axe.min.js"
PAGES = {
    "decision": path_of(DECISION_X),
    "hostile-decision": path_of(DECISION_Y),
    "gaps": "/gaps",
    "targets": "/targets",
    "target": "/aichi/target-11",
    "country": "/country/ALB",
    "treaty": "/treaty/cms",
}

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PagesSite]:
    opened = open_pages_site(Path(tmp_path_factory.mktemp("dumps")))
    yield opened
    opened.close()


@pytest.fixture(scope="module")
def live_url(site: PagesSite) -> Iterator[str]:
    with serve_app(site.app) as base:
        yield base.rstrip("/")


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


class Opened:
    """A page, and what went wrong while it loaded: console errors, page errors, dialogs."""

    def __init__(self, browser: Any, url: str, *, bypass_csp: bool = False) -> None:
        self.context = browser.new_context(bypass_csp=bypass_csp)
        self.page = self.context.new_page()
        self.errors: list[str] = []
        self.dialogs: list[str] = []
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("dialog", self._dialog)
        response = self.page.goto(url)
        assert response is not None and response.status == 200, url

    def _dialog(self, dialog: Any) -> None:
        self.dialogs.append(dialog.message)
        dialog.dismiss()

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def opened(browser: Any) -> Iterator[Any]:
    pages: list[Opened] = []

    def open_(url: str, **options: Any) -> Opened:
        pages.append(Opened(browser, url, **options))
        return pages[-1]

    yield open_
    for page in pages:
        page.close()


@pytest.mark.parametrize("kind", list(PAGES))
def test_each_page_kind_loads_cleanly(opened: Any, live_url: str, kind: str) -> None:
    view = opened(live_url + PAGES[kind])
    page = view.page
    assert page.locator("h1").count() == 1
    assert page.locator("main h2").count() >= 1
    assert page.locator("header nav a[href='/gaps']").count() == 1
    assert view.errors == [], view.errors  # nothing blocked by the policy, no failed resource
    assert view.dialogs == []
    # markup from the data never became an element or a handler
    assert page.locator("script").count() == 0
    assert page.locator("main img, main iframe, main svg[onload]").count() == 0
    handlers = page.evaluate(
        "() => [...document.querySelectorAll('*')].flatMap(e => [...e.attributes]"
        ".filter(a => a.name.startsWith('on')).map(a => e.tagName + ' ' + a.name))"
    )
    assert handlers == []
    for table in page.locator("main table").all():
        assert table.locator("th[scope='col']").count() >= 1


def test_paragraph_3_of_decision_x_shows_target_11_inferred_with_its_score(
    opened: Any, live_url: str
) -> None:
    page = opened(live_url + path_of(DECISION_X)).page
    third = page.locator("#paragraph-3")
    text = third.inner_text()
    assert "ENCOURAGES Parties to strengthen protected areas" in text
    link = third.locator("ul.target-links li")
    assert link.count() == 1
    assert "Aichi Biodiversity Target 11" in link.inner_text()
    assert "inferred" in link.inner_text() and "score 0.7" in link.inner_text()
    numbers = page.locator("ol.paragraphs .paragraph-number").all_inner_texts()
    assert numbers == ["preamble", "1", "2", "3", "3(a)", "10"]


def test_hostile_titles_are_text(opened: Any, live_url: str) -> None:
    view = opened(live_url + path_of(DECISION_Y))
    assert view.page.inner_text("h1") == "<script>alert(1)</script>"
    assert "<img src=x onerror=alert(1)>" in view.page.inner_text("p.languages")
    view.page.click("p.languages a")  # the French title, one click away
    view.page.wait_for_url("**lang=fr")
    assert view.page.inner_text("h1") == "<img src=x onerror=alert(1)>"
    assert view.dialogs == [] and view.page.locator("main img").count() == 0


def test_gap_cell_cms_target_11_shows_2_and_leads_to_those_decisions(
    opened: Any, live_url: str
) -> None:
    page = opened(live_url + "/gaps").page
    cell = page.locator("#cell-cms-11")
    assert cell.locator("svg text").first.text_content() == "2"
    assert "2 decisions" in cell.locator(".sr").text_content()
    assert page.locator("#cell-ramsar-11").inner_text().strip() == "not addressed"
    cell.locator("a").click()
    page.wait_for_url("**/aichi/target-11?since=2010&treaty=cms#decisions")
    listed = page.locator("#decisions span.decision a").all_inner_texts()
    assert sorted(listed) == ["UNEP/CMS/Resolution 12.21", "UNEP/CMS/Resolution 12.7"]


def test_gap_matrix_by_keyboard(opened: Any, live_url: str) -> None:
    page = opened(live_url + "/gaps").page
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip"
    assert page.locator("a.skip").is_visible()  # shown when focused
    page.keyboard.press("Enter")
    assert page.url.endswith("#content")
    # the since form is reachable and works by keyboard
    for _ in range(40):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.id") == "since":
            break
    else:
        pytest.fail("the year field was never focused")
    page.keyboard.press("Control+A")
    page.keyboard.type("2005")
    page.keyboard.press("Enter")
    page.wait_for_url("**/gaps?since=2005")
    assert page.locator("#cell-cms-11 svg text").first.text_content() == "3"
    # and every cell link is in the tab order: tab to the CMS x 11 cell, follow it
    for _ in range(200):
        page.keyboard.press("Tab")
        focused = page.evaluate(
            "document.activeElement.closest('td') && document.activeElement.closest('td').id"
        )
        if focused == "cell-cms-11":
            break
    else:
        pytest.fail("the CMS x target 11 cell was never focused")
    page.keyboard.press("Enter")
    page.wait_for_url("**/aichi/target-11?since=2005&treaty=cms#decisions")
    assert page.locator("#decisions span.decision a").count() == 3


def test_headings_and_table_headers(opened: Any, live_url: str) -> None:
    page = opened(live_url + "/gaps").page
    headers = page.locator("table.matrix thead th[scope='col']").all_inner_texts()
    assert headers[0] == "Convention" and len(headers) == 22  # convention, 20 targets, total
    assert page.locator("table.matrix tbody th[scope='row']").all_inner_texts() == [
        "CBD",
        "CMS",
        "Ramsar Convention",
    ]
    levels = page.evaluate(
        "() => [...document.querySelectorAll('h1,h2,h3,h4')].map(h => Number(h.tagName[1]))"
    )
    assert levels[0] == 1
    assert all(b - a <= 1 for a, b in zip(levels, levels[1:], strict=False))  # no level skipped


@pytest.mark.parametrize("kind", list(PAGES))
def test_axe_core_finds_no_violation(opened: Any, live_url: str, kind: str) -> None:
    if not AXE.is_file():
        pytest.skip(f"axe-core not found at {AXE} (make axe copies it from the npm registry)")
    # axe is injected as a script: this context alone lets it past the pages' policy
    page = opened(live_url + PAGES[kind], bypass_csp=True).page
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    violations = [
        (v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3]) for v in result["violations"]
    ]
    assert violations == [], violations
