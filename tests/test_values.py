from datetime import UTC, date, datetime

import pytest

from harvester.mapping import values


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        pytest.param(
            "/Date(1206271611000)/", datetime(2008, 3, 23, 11, 26, 51, tzinfo=UTC), id="ms"
        ),
        pytest.param(
            "\\/Date(1206271611000)\\/", datetime(2008, 3, 23, 11, 26, 51, tzinfo=UTC), id="escaped"
        ),
        pytest.param(
            "/Date(1206271611000+0100)/", datetime(2008, 3, 23, 11, 26, 51, tzinfo=UTC), id="offset"
        ),
        pytest.param("/Date(-86400000)/", datetime(1969, 12, 31, tzinfo=UTC), id="negative"),
        pytest.param("2012-01-01", date(2012, 1, 1), id="date"),
        pytest.param("2015-06-10T00:00:00", datetime(2015, 6, 10, tzinfo=UTC), id="naive-iso"),
        pytest.param("2021-03-04T10:00:00Z", datetime(2021, 3, 4, 10, tzinfo=UTC), id="solr-z"),
        pytest.param(
            "2021-03-04T12:00:00+02:00", datetime(2021, 3, 4, 10, tzinfo=UTC), id="offset-iso"
        ),
        pytest.param("2015/06/10", datetime(2015, 6, 10, tzinfo=UTC), id="slashes"),
        pytest.param("20150610", datetime(2015, 6, 10, tzinfo=UTC), id="compact"),
        pytest.param(
            "Wed, 10 Jun 2015 08:00:00 GMT", datetime(2015, 6, 10, 8, tzinfo=UTC), id="rfc2822"
        ),
        pytest.param(None, None, id="none"),
        pytest.param("  ", None, id="blank"),
    ],
)
def test_parse_date(raw: object, expected: object) -> None:
    assert values.parse_date(raw) == expected


@pytest.mark.parametrize("raw", ["not-a-date", "/Date(abc)/", "31/12/2020"])
def test_parse_date_rejects(raw: str) -> None:
    with pytest.raises(ValueError, match="not a date"):
        values.parse_date(raw)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        pytest.param(
            {"results": [{"language": "en", "value": " A "}]}, [("A", "en")], id="verbose"
        ),
        pytest.param([{"language": "FR", "value": "B"}], [("B", "fr")], id="inline"),
        pytest.param({"en": "C", "fr": "D"}, [("C", "en"), ("D", "fr")], id="drupal-object"),
        pytest.param({"en": [{"value": "E"}]}, [("E", "en")], id="drupal-d7"),
        pytest.param("plain", [("plain", "und")], id="plain-string"),
        pytest.param([{"language": "en", "value": ""}], [], id="empty-dropped"),
        pytest.param({"__deferred": {"uri": "x"}}, [], id="unresolved-deferred"),
        pytest.param([{"Language": "zh_Hans", "Value": "F"}], [("F", "zh-hans")], id="key-case"),
        pytest.param([{"language": "??", "value": "G"}], [("G", "und")], id="bad-tag"),
        pytest.param([{"lang": "es", "value": "H"}], [("H", "es")], id="lang-key"),
    ],
)
def test_parse_langstrings(raw: object, expected: list[tuple[str, str]]) -> None:
    assert values.parse_langstrings(raw) == expected


def test_parse_langstrings_rejects_a_number() -> None:
    with pytest.raises(ValueError, match="expected text"):
        values.parse_langstrings(42)


def test_clean_text_strips_control_characters() -> None:
    assert values.clean_text(" a\x00b\x1fc\n ") == "abc"


class _Text(str):
    pass


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (" x ", "x"),
        (_Text(" x "), "x"),
        (12, "12"),
        (" \x00 ", None),
        ({"a": 1}, None),
        ([1], None),
    ],
)
def test_clean_text_of_any_value(raw: object, expected: str | None) -> None:
    assert values.clean_text(raw) == expected
    assert type(values.clean_text(raw)) in (str, type(None))


def test_as_list() -> None:
    items = [1, 2]
    assert values.as_list(items) is items
    assert values.as_list({"results": items}) is items
    assert values.as_list(None) == values.as_list({"__deferred": {}}) == []
    assert values.as_list({"a": 1}) == [{"a": 1}]
    assert values.as_list("x") == ["x"]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("-0.81667", -0.81667), (12, 12.0), ("1,5", 1.5), ("", None), (None, None)],
)
def test_parse_float(raw: object, expected: float | None) -> None:
    assert values.parse_float(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"), [(1, True), ("0", False), ("yes", True), (True, True), (None, None)]
)
def test_parse_bool(raw: object, expected: bool | None) -> None:
    assert values.parse_bool(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        pytest.param("http://www.yahoo.com/", "http://www.yahoo.com/", id="plain"),
        pytest.param("https://ex.org/a b?q=<x>", "https://ex.org/a%20b?q=%3Cx%3E", id="escaped"),
        pytest.param("HTTP://Ex.org/x", "http://Ex.org/x", id="scheme-case"),
        pytest.param("javascript:alert(1)", None, id="javascript"),
        pytest.param("www.example.org", None, id="relative"),
        pytest.param("", None, id="empty"),
    ],
)
def test_parse_iri(raw: str, expected: str | None) -> None:
    assert values.parse_iri(raw) == expected


def test_lookup_is_case_insensitive() -> None:
    assert values.lookup({"Id": "x", "fileName": "f"}, "id") == "x"
    assert values.lookup({"fileName": "f"}, "filename") == "f"
    assert values.lookup({}, "id") is None
