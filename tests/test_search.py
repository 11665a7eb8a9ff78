"""Full-text search (issue 17): analysis per language, the query syntax, ranking, and the
index kept in step with the store's generations through real harvests."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from harvester.exceptions import SearchSyntaxError, SearchUnavailableError
from harvester.search import SearchRequest, attach, reader_generation, reindex, search
from harvester.search.analysis import plain_text, terms
from harvester.search.evaluate import HUB, fixture_dataset, harvest_fixture
from harvester.search.index import INFERRED_SUFFIX
from harvester.search.syntax import parse
from harvester.service.runtime import Runtime
from harvester.settings import settings_from_mapping

DECISION = "http://hub.test/decision/fixture/"


def ids(runtime: Runtime, text: str, **options: object) -> list[str]:
    index = attach(runtime.store)
    assert index is not None
    request = SearchRequest(text, limit=50, **options)  # type: ignore[arg-type]
    hits = search(index, reader_generation(runtime.store), request).hits
    return [hit.iri.removeprefix(DECISION) for hit in hits]


@pytest.fixture(scope="module")
def harvested() -> Iterator[Runtime]:
    settings = settings_from_mapping({"server": {"base_iri": HUB}})
    with Runtime.open(settings, in_memory=True) as runtime:
        harvest_fixture(runtime, fixture_dataset())
        yield runtime


def on_disk(tmp_path: Path) -> Runtime:
    store = {"path": str(tmp_path / "store"), "state_dir": str(tmp_path / "state")}
    return Runtime.open(settings_from_mapping({"server": {"base_iri": HUB}, "store": store}))


# -- analysis ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("bucket", "one", "other"),
    [
        pytest.param("en", "protected areas", "protecting area", id="en"),
        pytest.param("fr", "zones humides protégées", "zone humide protegee", id="fr"),
        pytest.param("es", "especies exóticas invasoras", "especie exotica invasora", id="es"),
        pytest.param("ru", "охраняемые районы", "охраняемых районов", id="ru"),
    ],
)
def test_word_forms_meet_on_their_stem(bucket: str, one: str, other: str) -> None:
    assert terms(bucket, one) == terms(bucket, other)


def test_arabic_is_stemmed_and_not_folded() -> None:
    # the article and the feminine ending go: المحمية and محمية, الرطبة and رطبة meet
    assert terms("ar", "المناطق المحمية") == terms("ar", "مناطق محمية")
    assert terms("ar", "الأراضي الرطبة") == terms("ar", "أراضي رطبة")
    assert terms("ar", "café") == ["café"]  # no accent folding for Arabic
    assert terms("en", "café") == ["cafe"]


def test_chinese_is_cut_into_characters_and_latin_words_stay_words() -> None:
    assert terms("zh", "保护湿地 Wetlands 2010") == ["保", "护", "湿", "地", "wetlands", "2010"]


def test_html_is_text_once_stripped() -> None:
    assert plain_text("<p>1. URGES</p><p>2. &lt;script&gt; &amp; more</p>") == (
        "1. URGES\n2. <script> & more"
    )


# -- query syntax ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "position"),
    [
        pytest.param('wetland "zones', 8, id="unclosed-quote"),
        pytest.param("(wetland OR", 9, id="dangling-or-in-group"),
        pytest.param("(wetland", 0, id="unclosed-parenthesis"),
        pytest.param("wetland)", 7, id="stray-parenthesis"),
        pytest.param("OR wetland", 0, id="leading-or"),
        pytest.param("-wetland", 0, id="only-exclusions"),
        pytest.param("   ", 0, id="empty"),
    ],
)
def test_malformed_queries_say_where(text: str, position: int) -> None:
    with pytest.raises(SearchSyntaxError) as caught:
        parse(text)
    assert caught.value.position == position


def test_words_are_anded_phrases_quoted_or_and_exclusion(harvested: Runtime) -> None:
    assert set(ids(harvested, "migratory corridors")) == {"s11", "s12", "s13", "s14"}
    assert ids(harvested, '"ecological networks"') != []
    assert set(ids(harvested, '"networks ecological"')) == set()
    assert set(ids(harvested, "pollinators OR ivory")) == {"s08", "s09", "s31"}
    assert "s12" not in ids(harvested, "migratory corridors -wind")


def test_syntax_in_harvested_text_is_only_text(harvested: Runtime) -> None:
    # s40's content holds "<script>" as text: it is found as a word and nothing breaks
    assert ids(harvested, "script") == ["s40"]


# -- languages ------------------------------------------------------------------------------


def test_stemmed_search_finds_other_word_forms(harvested: Runtime) -> None:
    assert set(ids(harvested, "protecting area")) >= {"s01", "s02"}
    assert "s05" in ids(harvested, "especie exotica invasora", language="es")
    assert set(ids(harvested, "zone humide", language="fr")) == {"s18", "s19", "s20"}


def test_lang_searches_that_language_only(harvested: Runtime) -> None:
    assert ids(harvested, "humides", language="en") == []
    assert set(ids(harvested, "humides")) == {"s18", "s19", "s20"}


def test_arabic_russian_and_chinese_queries(harvested: Runtime) -> None:
    assert ids(harvested, "المناطق المحمية", language="ar") == ["s25"]
    assert ids(harvested, "инвазивных видов", language="ru") == ["s24"]
    assert ids(harvested, "湿地") == ["s28"]
    assert ids(harvested, "入侵") == ["s30"]  # a substring of the text's words


# -- ranking and results -----------------------------------------------------------------------


def test_a_title_match_outranks_a_passing_mention(harvested: Runtime) -> None:
    found = ids(harvested, "protected areas")
    assert found.index("s01") < found.index("s03")  # s03 mentions protected areas in passing
    assert found.index("s02") < found.index("s39")


def test_total_counts_every_match_and_pages_move_through_them(harvested: Runtime) -> None:
    index = attach(harvested.store)
    assert index is not None
    generation = reader_generation(harvested.store)
    whole = search(index, generation, SearchRequest("wetlands", limit=50))
    page = search(index, generation, SearchRequest("wetlands", limit=2, offset=2))
    assert whole.total == len(whole.hits) == page.total
    assert [h.iri for h in page.hits] == [h.iri for h in whole.hits[2:4]]


def test_filters_and_facets(harvested: Runtime) -> None:
    assert set(ids(harvested, "wetlands", treaty="AEWA")) == {"s34", "s35"}
    assert set(ids(harvested, "protected", year=2012)) == {"s02"}
    assert ids(harvested, "wetlands", type="Meeting") == []
    index = attach(harvested.store)
    assert index is not None
    request = SearchRequest("wetlands", facets=True)
    facets = search(index, reader_generation(harvested.store), request).facets
    assert dict(facets["treaty"]) == {"ramsar": 3, "aewa": 2, "cbd": 1}
    assert sum(n for _, n in facets["type"]) == 6


def test_snippets_are_escaped_html_with_the_words_marked(harvested: Runtime) -> None:
    index = attach(harvested.store)
    assert index is not None
    hit = search(index, reader_generation(harvested.store), SearchRequest("script")).hits[0]
    assert "&lt;<mark>script</mark>&gt;" in hit.snippet
    assert hit.title == "Capacity-building and technical and scientific cooperation"


# -- consistency with the store ----------------------------------------------------------------


def _revise(data: object) -> None:
    from harvester.demo import Dataset

    assert isinstance(data, Dataset)
    record = dict(data["Decisions"]["s10"])
    record["content"] = [{"language": "en", "value": "<p>1. PROTECTS migratory corridors.</p>"}]
    record["updated"] = datetime(2024, 1, 1, tzinfo=UTC)
    data.add("Decisions", record)
    data.delete("Decisions", "s12")


def test_a_harvest_update_or_delete_is_searched_right_after_its_commit() -> None:
    settings = settings_from_mapping({"server": {"base_iri": HUB}})
    with Runtime.open(settings, in_memory=True) as runtime:
        data = fixture_dataset()
        harvest_fixture(runtime, data)
        assert "s12" in ids(runtime, "migratory corridors")
        _revise(data)
        harvest_fixture(runtime, data)
        found = ids(runtime, "migratory corridors")
        assert "s10" in found and "s12" not in found
        assert ids(runtime, "budget") == []  # s10's old text is gone


def test_on_disk_readers_of_the_previous_generation_keep_their_view(tmp_path: Path) -> None:
    with on_disk(tmp_path) as runtime:
        data = fixture_dataset()
        harvest_fixture(runtime, data)
        before = reader_generation(runtime.store)
        _revise(data)
        harvest_fixture(runtime, data)
        index = attach(runtime.store)
        assert index is not None
        now = reader_generation(runtime.store)
        assert now > before
        request = SearchRequest("migratory corridors", limit=50)
        old = {h.iri.removeprefix(DECISION) for h in search(index, before, request).hits}
        new = {h.iri.removeprefix(DECISION) for h in search(index, now, request).hits}
        assert "s12" in old and "s10" not in old
        assert "s10" in new and "s12" not in new


def test_an_index_behind_the_store_answers_nothing_until_reindexed(tmp_path: Path) -> None:
    with on_disk(tmp_path) as runtime:
        harvest_fixture(runtime, fixture_dataset())
    (tmp_path / "store" / "SEARCH.json").unlink()  # as if harvested before the index existed
    with on_disk(tmp_path) as runtime:
        with pytest.raises(SearchUnavailableError, match="meahub reindex"):
            ids(runtime, "wetlands")
        assert reindex(runtime.store) == 40
        assert "s19" in ids(runtime, "wetlands")


def test_the_index_survives_a_reopen(tmp_path: Path) -> None:
    with on_disk(tmp_path) as runtime:
        harvest_fixture(runtime, fixture_dataset())
    with on_disk(tmp_path) as runtime:
        assert ids(runtime, "ivory") == ["s31"]


def test_what_a_publish_captures_indexes_as_reading_the_store_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A publish indexes each written graph from the lines its write carried (spooled on disk
    # beside the stage), never by reading it back from the new generation; the index is the
    # same as a rebuild from the store (reindex reads every graph back).
    from harvester.search import sync

    back: list[str] = []
    store_reader = sync._store_reader

    def counting(store: object) -> object:
        read = store_reader(store)  # type: ignore[arg-type]

        def counted(graph: str) -> object:
            back.append(graph)
            return read(graph)

        return counted

    monkeypatch.setattr(sync, "_store_reader", counting)
    queries = ["wetlands", "migratory corridors", "ivory", "zones humides", "especies"]
    with on_disk(tmp_path) as runtime:
        data = fixture_dataset()
        harvest_fixture(runtime, data)
        _revise(data)
        harvest_fixture(runtime, data)
        captured = {q: ids(runtime, q) for q in queries}
        assert any(captured.values())
        # read back: only graphs no write touched (inferred graphs of records that have none)
        assert all(graph.endswith(INFERRED_SUFFIX) for graph in back), back[:3]
        monkeypatch.setattr(sync, "_store_reader", store_reader)
        assert reindex(runtime.store) == len(data["Decisions"])
        assert {q: ids(runtime, q) for q in queries} == captured


def test_the_capture_spool_keeps_the_last_write_of_each_graph(tmp_path: Path) -> None:
    from harvester.store.capture import CaptureSpool

    spool = CaptureSpool(tmp_path)
    spool.put("g1", "first é\n")
    spool.put("g2", "second\n")
    spool.put("g1", "again ü\n")
    spool.drop("g2")
    spool.put("g3", "")
    assert dict(spool) == {"g1": "again ü\n".encode(), "g2": b"", "g3": b""}
    assert "g4" not in spool and spool.size == len("first é\nsecond\nagain ü\n".encode())
    assert list(tmp_path.iterdir()) == []  # anonymous: nothing left behind
    spool.close()
    assert len(spool) == 0


def test_capture_keeps_each_indexed_line_once_in_order() -> None:
    from harvester.search.sync import PublishHook

    title = "<http://purl.org/dc/terms/title>"
    lines = [
        f'<http://h/d/1> {title} "one"@en <http://h/g> .\n',
        '<http://h/d/1> <http://h/other> "skipped" <http://h/g> .\n',
        f'<http://h/d/1> {title} "mentions {title} inside" <http://h/g> .\n',
        '<http://h/d/1> <https://w3id.org/mea/ontology#text> "para" <http://h/g> .\n',
    ]
    kept = PublishHook.capture("http://h/graph/decision/1", "".join(lines))
    assert kept == lines[0] + lines[2] + lines[3]
    # the feed's and the run history's graphs hold no record: nothing of them is kept
    assert PublishHook.capture("http://h/feed/member/1", "".join(lines)) is None
