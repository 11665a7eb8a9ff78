import pytest

from harvester.exceptions import SourceFormatError
from harvester.sources.odata import entity_url, parse_page, rebase


def test_verbose_page_with_next_and_string_count() -> None:
    page = parse_page(
        {"d": {"results": [{"id": 1}], "__next": "http://h/x?$skiptoken=1", "__count": "7"}}
    )
    assert page.items == [{"id": 1}]
    assert page.next_link == "http://h/x?$skiptoken=1"
    assert page.count == 7


@pytest.mark.parametrize(
    "body",
    [
        pytest.param({"d": [{"id": 1}]}, id="wcf-bare-array"),
        pytest.param([{"id": 1}], id="top-level-array"),
        pytest.param({"value": [{"id": 1}]}, id="odata-v4"),
        pytest.param({"d": {"id": 1}}, id="single-entity"),
    ],
)
def test_envelopes(body: object) -> None:
    assert parse_page(body).items == [{"id": 1}]


@pytest.mark.parametrize(
    "body",
    [
        pytest.param("text", id="string"),
        pytest.param({"error": "x"}, id="no-envelope"),
        pytest.param({"d": {"results": "x"}}, id="results-not-list"),
        pytest.param({"d": 3}, id="d-number"),
    ],
)
def test_bad_envelopes(body: object) -> None:
    with pytest.raises(SourceFormatError):
        parse_page(body)


@pytest.mark.parametrize(
    ("link", "root", "expected"),
    [
        pytest.param(
            "http://localhost:8081/informea.svc/Meetings?$skiptoken=100",
            "https://odata.cites.org/informea.svc",
            "https://odata.cites.org/informea.svc/Meetings?$skiptoken=100",
            id="leaked-host",
        ),
        pytest.param(
            "http://internal/aewa/informea.svc/Decisions('x')/title",
            "http://mock.test/cms/aewa/informea.svc",
            "http://mock.test/cms/aewa/informea.svc/Decisions('x')/title",
            id="prefix-differs",
        ),
        pytest.param(
            "Decisions?$skiptoken=5",
            "http://a.test/informea.svc",
            "http://a.test/informea.svc/Decisions?$skiptoken=5",
            id="relative",
        ),
    ],
)
def test_rebase_points_links_back_at_the_configured_root(
    link: str, root: str, expected: str
) -> None:
    assert rebase(link, root) == expected


def test_entity_url_quotes_and_guid_form() -> None:
    assert entity_url("http://a/s.svc", "Decisions", "o'k") == "http://a/s.svc/Decisions('o''k')"
    guid = "8fc906c1-820c-4a38-ad7c-00879971fee8"
    assert entity_url("http://a/s.svc", "Decisions", guid, guid=True).endswith(f"(guid'{guid}')")
