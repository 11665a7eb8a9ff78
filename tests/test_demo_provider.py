"""The mock InforMEA OData providers: data generation, the three dialects, paging, faults."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from starlette.testclient import TestClient

from harvester.demo import (
    Dataset,
    Fault,
    ODataProvider,
    create_demo_app,
    demo_dataset,
    demo_providers,
    demo_sources,
    generate_dataset,
)
from harvester.demo.provider import MALFORMATIONS

BASE = "http://mea.test/informea.svc"
FLAVOURS = [pytest.param(f, id=f) for f in ("olingo", "brs", "jaydata")]
TREATIES = ("cbd", "ramsar", "stockholm", "basel", "whc", "cms", "cites", "itpgrfa")


def small_dataset(seed: int = 7) -> Dataset:
    return generate_dataset(
        treaties=TREATIES,
        seed=seed,
        decisions=120,
        meetings=24,
        contacts=30,
        reports=20,
        plans=12,
        sites=6,
    )


@pytest.fixture
def data() -> Dataset:
    return small_dataset()


def client_for(provider: ODataProvider) -> httpx.Client:
    return httpx.Client(transport=httpx.MockTransport(provider.handle), base_url=BASE)


def make(
    data: Dataset, flavour: str = "olingo", **options: Any
) -> tuple[ODataProvider, httpx.Client]:
    provider = ODataProvider(data, base_url=BASE, flavour=flavour, **options)  # type: ignore[arg-type]
    return provider, client_for(provider)


def rows(payload: Any) -> list[dict[str, Any]]:
    """Entities of a listing, bare array or ``d.results``."""
    d = payload["d"]
    return d if isinstance(d, list) else d["results"]


def first(client: httpx.Client, entity: str, **params: str) -> dict[str, Any]:
    response = client.get(f"/{entity}", params={"$format": "json", "$top": "1", **params})
    assert response.status_code == 200
    return rows(response.json())[0]


def walk_top_skip(client: httpx.Client, entity: str, top: int) -> Iterator[dict[str, Any]]:
    skip = 0
    while True:
        page = rows(client.get(f"/{entity}", params={"$top": top, "$skip": skip}).json())
        yield from page
        if len(page) < top:
            return
        skip += top


# ---------------------------------------------------------------------------------------------
# Dataset generation
# ---------------------------------------------------------------------------------------------


def test_generate_dataset_is_deterministic_for_a_seed() -> None:
    assert small_dataset(3).sets == small_dataset(3).sets
    assert small_dataset(3).sets != small_dataset(4).sets


def test_generate_dataset_sizes(data: Dataset) -> None:
    assert data.sizes() == {
        "Treaties": len(TREATIES),
        "Meetings": 24,
        "Decisions": 120,
        "Contacts": 30,
        "CountryReports": 20,
        "NationalPlans": 12,
        "Sites": 6,
    }


def test_twenty_thousand_decisions_generate_quickly() -> None:
    # Sanity bound only (a generous one): the generator must stay usable for bench datasets.
    started = time.perf_counter()
    big = generate_dataset(
        treaties=TREATIES, decisions=20_000, meetings=200, contacts=0, reports=0, plans=0
    )
    assert len(big["Decisions"]) == 20_000
    assert time.perf_counter() - started < 10


def test_demo_dataset_sizes() -> None:
    sizes = demo_dataset().sizes()
    assert sizes["Decisions"] == 120 and sizes["Meetings"] == 40 and sizes["Contacts"] == 80
    assert sizes["CountryReports"] == 60 and sizes["NationalPlans"] == 30 and sizes["Sites"] == 15
    assert sizes["Treaties"] >= 6


@pytest.mark.parametrize(
    ("treaty", "pattern"),
    [
        pytest.param("cbd", r"^[IVXL]+/\d+$", id="cbd"),
        pytest.param("ramsar", r"^(Res\. )?[IVXL]+\.\d+$", id="ramsar"),
        pytest.param("cites", r"^Conf\. \d+\.\d+( \(Rev\. CoP\d+\))?$", id="cites"),
        pytest.param("cms", r"^Res\.\d+\.\d+$", id="cms"),
        pytest.param("stockholm", r"^(SC|POPRC)-\d+/\d+$", id="stockholm"),
        pytest.param("basel", r"^BC-\d+/\d+$", id="basel"),
        pytest.param("whc", r"^\d+ COM \w+\.\d+$", id="whc"),
        pytest.param("itpgrfa", r"^Resolution \d+/\d{4}$", id="itpgrfa"),
    ],
)
def test_decision_numbers_follow_each_convention(data: Dataset, treaty: str, pattern: str) -> None:
    numbers = [d["number"] for d in data["Decisions"].values() if d["treaty"] == treaty]
    assert numbers
    assert all(re.match(pattern, n) for n in numbers), numbers


def test_decisions_are_realistic(data: Dataset) -> None:
    decisions = list(data["Decisions"].values())
    meetings = data["Meetings"]
    for d in decisions:
        paragraphs = re.findall(r"<p>(\d+)\. ", d["content"][0]["value"])
        assert 3 <= len(paragraphs) <= 8
        assert d["meetingId"] is None or meetings[d["meetingId"]]["treaty"] == d["treaty"]
        assert d["meetingId"] or d["meetingTitle"]
        assert d["title"][0]["language"] == "en"
    assert any(d["updated"] is None for d in decisions)
    assert any(d["updated"] == d["published"] for d in decisions)
    assert any("(a) " in d["content"][0]["value"] for d in decisions)
    assert any(len(d["title"]) > 1 for d in decisions)


def test_mutation_helpers_bump_the_version(data: Dataset) -> None:
    record_id = next(iter(data["Decisions"]))
    when = datetime(2030, 1, 1, tzinfo=UTC)
    touched = data.touch("Decisions", record_id, when)
    assert touched["updated"] == when and touched["title"][0]["value"].endswith("(revised)")
    data.delete("Decisions", record_id)
    data.add("Decisions", {**touched, "id": "new-1"})
    assert data.version == 3 and "new-1" in data["Decisions"] and record_id not in data["Decisions"]


# ---------------------------------------------------------------------------------------------
# Dialects
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("flavour", "entity", "bare"),
    [
        pytest.param("brs", "Contacts", True, id="brs-contacts-bare"),
        pytest.param("brs", "NationalPlans", True, id="brs-plans-bare"),
        pytest.param("brs", "Decisions", False, id="brs-decisions-results"),
        pytest.param("olingo", "Contacts", False, id="olingo-contacts-results"),
        pytest.param("jaydata", "Contacts", False, id="jaydata-contacts-results"),
    ],
)
def test_envelope_shape(data: Dataset, flavour: str, entity: str, bare: bool) -> None:
    _, client = make(data, flavour)
    payload = client.get(f"/{entity}", params={"$format": "json"}).json()
    assert isinstance(payload["d"], list) is bare


def test_olingo_navigation_is_deferred_unless_expanded(data: Dataset) -> None:
    _, client = make(data, "olingo")
    plain = first(client, "Decisions")
    assert plain["title"]["__deferred"]["uri"].endswith(f"/Decisions('{plain['id']}')/title")
    assert plain["__metadata"]["type"] == "informea.Decision"
    expanded = first(client, "CountryReports", **{"$expand": "title,files"})
    title = expanded["title"]["results"][0]
    assert "Id" in title and "id" not in title
    assert "CountryReportDetails" in title
    assert re.fullmatch(r"[A-Z]{3}", expanded["country"])


def test_olingo_sites_have_string_coordinates(data: Dataset) -> None:
    _, client = make(data, "olingo")
    site = first(client, "Sites")
    assert isinstance(site["latitude"], str) and site["country"].islower()


@pytest.mark.parametrize(
    ("flavour", "present", "absent"),
    [
        pytest.param("olingo", "phone", "phoneNumber", id="olingo"),
        pytest.param("brs", "phoneNumber", "phone", id="brs"),
        pytest.param("jaydata", "phoneNumber", "phone", id="jaydata"),
    ],
)
def test_contact_phone_property(data: Dataset, flavour: str, present: str, absent: str) -> None:
    _, client = make(data, flavour)
    contact = first(client, "Contacts")
    assert present in contact and absent not in contact


def test_brs_quirks(data: Dataset) -> None:
    _, client = make(data, "brs")
    response = client.get("/Decisions", params={"$top": "1", "$expand": "title,files,keywords"})
    assert '"\\/Date(' in response.text
    decision = rows(response.json())[0]
    assert decision["protocolVersion"] == 1
    assert "(guid'" in decision["__metadata"]["uri"]
    assert "__deferred" in decision["keywords"]
    file = decision["files"]["results"][0]
    assert "fileName" in file and "filename" not in file
    assert file["documentId"] == decision["id"]
    plan = first(client, "NationalPlans", **{"$expand": "title,files"})
    assert plan["files"][0]["mimeType"] == "pdf" and isinstance(plan["title"], list)
    assert "brs_unnumber" in plan and re.fullmatch(r"[A-Z]{2}", plan["country"])


def test_jaydata_quirks(data: Dataset) -> None:
    _, client = make(data, "jaydata")
    decision = first(client, "Decisions")
    assert decision["title"][0]["__metadata"] == {"type": "LocalizableString"}
    assert isinstance(decision["content"], list) and isinstance(decision["files"], list)
    contact = first(client, "Contacts")
    assert all(isinstance(t, str) for t in contact["treaties"]) and "roles" in contact
    assert contact["country"].islower()
    cbd = [r for r in data["Decisions"] if re.fullmatch(r"52000000cbd0[0-9a-f]{12}", r)]
    assert cbd


def test_jaydata_dates_mix_iso_and_ms(data: Dataset) -> None:
    _, client = make(data, "jaydata")
    published = [d["published"] for d in rows(client.get("/Decisions").json())]
    assert any(p.startswith("/Date(") for p in published)
    assert any(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.000Z", p) for p in published)


# ---------------------------------------------------------------------------------------------
# Query options and paging
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("flavour", "entity"),
    [
        pytest.param("olingo", "Decisions", id="olingo-decisions"),
        pytest.param("brs", "Contacts", id="brs-contacts"),
        pytest.param("jaydata", "Meetings", id="jaydata-meetings"),
    ],
)
def test_top_skip_paging_covers_every_id_once(data: Dataset, flavour: str, entity: str) -> None:
    _, client = make(data, flavour)
    ids = [r["id"] for r in walk_top_skip(client, entity, 7)]
    assert sorted(ids) == sorted(data[entity])


def test_orderby_updated_desc_puts_missing_last(data: Dataset) -> None:
    provider, _ = make(data)
    ordered = provider.view("Decisions", orderby="updated desc,id")
    stamps = [r["updated"] for r in ordered if r["updated"] is not None]
    assert stamps == sorted(stamps, reverse=True)
    assert ordered[-1]["updated"] is None


def test_server_paging_emits_next_with_skiptoken(data: Dataset) -> None:
    _, client = make(data, server_page_size=25)
    url: str | None = f"{BASE}/Decisions?$format=json&$orderby=updated desc,id"
    ids: list[str] = []
    while url:
        body = client.get(url).json()["d"]
        ids += [r["id"] for r in body["results"]]
        url = body.get("__next")
        assert url is None or "$skiptoken=" in url
    assert sorted(ids) == sorted(data["Decisions"])


def test_next_link_leaks_the_configured_host(data: Dataset) -> None:
    _, client = make(data, server_page_size=10, next_host="http://localhost:8081")
    next_link = client.get("/Meetings").json()["d"]["__next"]
    assert next_link.startswith("http://localhost:8081/informea.svc/Meetings?")
    assert "$skiptoken=10" in next_link


def test_max_top_caps_the_page_and_links_the_rest(data: Dataset) -> None:
    _, client = make(data, max_top=10)
    body = client.get("/Decisions", params={"$top": "50"}).json()["d"]
    assert len(body["results"]) == 10
    assert "$skiptoken=10" in body["__next"] and "$top=40" in body["__next"]


def test_ignore_paging_returns_identical_pages(data: Dataset) -> None:
    _, client = make(data, ignore_paging=True)
    page1 = client.get("/Decisions", params={"$top": "10", "$skip": "0"})
    page2 = client.get("/Decisions", params={"$top": "10", "$skip": "10"})
    assert page1.content == page2.content
    assert len(rows(page1.json())) == 120


def test_count_is_plain_text(data: Dataset) -> None:
    _, client = make(data)
    response = client.get("/Decisions/$count")
    assert response.headers["content-type"].startswith("text/plain")
    assert response.text == "120"


def test_inlinecount_is_a_string(data: Dataset) -> None:
    _, client = make(data)
    body = client.get("/Decisions", params={"$top": "2", "$inlinecount": "allpages"}).json()
    assert body["d"]["__count"] == "120"


def test_filter_updated_gt(data: Dataset) -> None:
    cutoff = datetime(2015, 1, 1, tzinfo=UTC)
    expected = {k for k, r in data["Decisions"].items() if r["updated"] and r["updated"] > cutoff}
    _, client = make(data)
    params = {"$filter": "updated gt datetime'2015-01-01T00:00:00'"}
    got = {r["id"] for r in rows(client.get("/Decisions", params=params).json())}
    assert got == expected and 0 < len(got) < 120
    count = client.get("/Decisions/$count", params=params).text
    assert count == str(len(expected))


def test_ignore_filter_returns_everything(data: Dataset) -> None:
    _, client = make(data, ignore_filter=True)
    params = {"$filter": "updated gt datetime'2099-01-01T00:00:00'"}
    assert len(rows(client.get("/Decisions", params=params).json())) == 120


def test_unsupported_filter_is_a_400(data: Dataset) -> None:
    _, client = make(data)
    response = client.get("/Decisions", params={"$filter": "substringof('x',title)"})
    assert response.status_code == 400


def test_touched_record_shows_up_in_incremental_listing(data: Dataset) -> None:
    provider, client = make(data)
    params = {"$filter": "updated gt datetime'2029-01-01T00:00:00'", "$expand": "title"}
    assert rows(client.get("/Decisions", params=params).json()) == []
    record_id = next(iter(data["Decisions"]))
    data.touch("Decisions", record_id, datetime(2030, 1, 1, tzinfo=UTC))
    [changed] = rows(client.get("/Decisions", params=params).json())
    assert changed["id"] == record_id and changed["updated"] == "/Date(1893456000000)/"
    assert changed["title"]["results"][0]["value"].endswith("(revised)")


# ---------------------------------------------------------------------------------------------
# Single entities, deletion, navigation
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_deleted_record_is_absent_and_404(data: Dataset, flavour: str) -> None:
    _, client = make(data, flavour)
    record_id = next(iter(data["Meetings"]))
    assert client.get(f"/Meetings('{record_id}')").json()["d"]["id"] == record_id
    data.delete("Meetings", record_id)
    assert client.get(f"/Meetings('{record_id}')").status_code == 404
    assert record_id not in {r["id"] for r in rows(client.get("/Meetings").json())}


def test_brs_guid_keys(data: Dataset) -> None:
    _, client = make(data, "brs", strict_keys=True)
    record_id = next(i for i, r in data["Decisions"].items() if r["treaty"] == "stockholm")
    assert client.get(f"/Decisions(guid'{record_id}')").json()["d"]["id"] == record_id
    assert client.get(f"/Decisions('{record_id}')").status_code == 400


@pytest.mark.parametrize(
    ("flavour", "nav"),
    [
        pytest.param("olingo", "title", id="olingo-title"),
        pytest.param("brs", "keywords", id="brs-keywords"),
    ],
)
def test_deferred_navigation_resolves(data: Dataset, flavour: str, nav: str) -> None:
    _, client = make(data, flavour)
    decision = first(client, "Decisions")
    resolved = client.get(decision[nav]["__deferred"]["uri"]).json()
    items = rows(resolved)
    assert items and (items[0].get("value") or items[0].get("term"))


def test_treaties_have_no_updated(data: Dataset) -> None:
    _, client = make(data, treaties=["cbd", "ramsar"])
    treaties = rows(client.get("/Treaties", params={"$expand": "title,description"}).json())
    assert {t["id"] for t in treaties} == {"cbd", "ramsar"}
    assert all("updated" not in t and t["UUID"] for t in treaties)


def test_scope_by_treaties_and_entities(data: Dataset) -> None:
    _, client = make(data, "brs", treaties=["stockholm"], entities=["Decisions"])
    assert {r["treaty"] for r in rows(client.get("/Decisions").json())} == {"stockholm"}
    assert client.get("/Sites").status_code == 404
    assert client.get("http://mea.test/other.svc/Decisions").status_code == 404


def test_service_document_and_metadata(data: Dataset) -> None:
    _, client = make(data, entities=["Decisions", "Meetings"])
    assert client.get("").json()["d"]["EntitySets"] == ["Decisions", "Meetings"]
    assert 'EntitySet Name="Meetings"' in client.get("/$metadata").text


# ---------------------------------------------------------------------------------------------
# Malformed records and faults
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", [pytest.param(k, id=k) for k in MALFORMATIONS])
def test_malformed_record_is_broken_rest_is_fine(data: Dataset, kind: str) -> None:
    bad = list(data["CountryReports"])[3]
    _, client = make(data, malformed={"CountryReports": {bad: kind}})
    listing = rows(client.get("/CountryReports", params={"$expand": "title"}).json())
    broken = [r for r in listing if r.get("id") == bad or "id" not in r]
    assert len(broken) == 1 and len(listing) == 20
    record = broken[0]
    checks = {
        "missing-id": "id" not in record,
        "numeric-title": record.get("title") == 12345,
        "bad-date": record.get("submission") == "not-a-date",
        "bad-country": record.get("country") == "ZZZ",
    }
    assert checks[kind]


def test_malformed_ids_cycle_through_kinds(data: Dataset) -> None:
    ids = sorted(data["Decisions"])[:4]
    provider, _ = make(data, malformed={"Decisions": set(ids)})
    assert sorted(provider.malformed["Decisions"].values()) == sorted(MALFORMATIONS)


def test_rate_limit_fault_has_retry_after(data: Dataset) -> None:
    _, client = make(data, faults=[Fault.rate_limited(times=2, retry_after=1)])
    statuses = [client.get("/Decisions").status_code for _ in range(3)]
    assert statuses == [429, 429, 200]
    provider, client = make(data, faults=[Fault.rate_limited()])
    assert client.get("/Decisions").headers["Retry-After"] == "1"


def test_unavailable_burst(data: Dataset) -> None:
    _, client = make(data, faults=[Fault.unavailable(times=3)])
    assert [client.get("/Meetings").status_code for _ in range(4)] == [503, 503, 503, 200]


def test_fails_from_a_skip_onwards(data: Dataset) -> None:
    _, client = make(data, faults=[Fault.failing_from(skip=50)])
    assert client.get("/Decisions", params={"$top": "25", "$skip": "25"}).status_code == 200
    assert client.get("/Decisions", params={"$top": "25", "$skip": "50"}).status_code == 500
    assert client.get("/Decisions", params={"$top": "25", "$skip": "75"}).status_code == 500
    assert client.get("/Decisions/$count").status_code == 200


def test_fail_after_and_request_log(data: Dataset) -> None:
    provider, client = make(data)
    provider.fail_after(2, status=502, times=1)
    statuses = [client.get("/Decisions", params={"$skip": str(i)}).status_code for i in range(4)]
    assert statuses == [200, 200, 502, 200]
    assert provider.requests == 4
    assert provider.request_log[1] == "/informea.svc/Decisions?$skip=1"


# ---------------------------------------------------------------------------------------------
# The demo app (the one test that goes through ASGI)
# ---------------------------------------------------------------------------------------------


def test_demo_app_serves_all_providers() -> None:
    base = "http://testserver"
    with TestClient(create_demo_app(demo_providers(base))) as http:
        assert set(http.get("/").json()) == {"brs", "cms", "cbd", "cbd-dtt"}
        assert http.get("/cbd-dtt/api/v2021/decisions").json()
        assert isinstance(http.get("/brs/informea.svc/Contacts").json()["d"], list)
        cms = http.get("/cms/informea.svc/Decisions", params={"$format": "json"}).json()["d"]
        assert len(cms["results"]) == 25
        assert cms["__next"].startswith("http://localhost:8081/cms/informea.svc/Decisions?")
        assert http.get("/cbd/informea.svc/Decisions/$count").text.isdigit()
        assert http.get("/nowhere").status_code == 404


def test_demo_sources_point_at_the_providers() -> None:
    sources = demo_sources("http://127.0.0.1:8765")
    assert [s["name"] for s in sources] == ["demo-brs", "demo-cms", "demo-cbd", "demo-cbd-dtt"]
    assert all(s["kind"] == "informea-odata" and s["entities"] for s in sources[:3])
    assert sources[3]["kind"] == "cbd-decisions"
    assert sources[1]["url"] == "http://127.0.0.1:8765/cms/informea.svc"
