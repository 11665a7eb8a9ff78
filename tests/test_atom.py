"""OData v2 Atom/XML: the parser reads what the JSON path reads, the mock serves faithful Atom."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from harvester.demo import Dataset, ODataProvider, generate_dataset
from harvester.demo.dataset import ENTITY_SETS, NAVIGATIONS
from harvester.exceptions import MappingError, SourceFormatError
from harvester.mapping.engine import MappingContext, MappingRegistry
from harvester.paths import MAPPINGS_DIR
from harvester.sources.atom import looks_like_atom, parse_atom_page
from harvester.sources.odata import entity_url, parse_page

BASE = "http://prov.test/informea.svc"
FLAVOURS = [pytest.param(f, id=f) for f in ("olingo", "brs", "jaydata")]
NS = (
    'xmlns="http://www.w3.org/2005/Atom" '
    'xmlns:m="http://schemas.microsoft.com/ado/2007/08/dataservices/metadata" '
    'xmlns:d="http://schemas.microsoft.com/ado/2007/08/dataservices"'
)
REL = "http://schemas.microsoft.com/ado/2007/08/dataservices/related/"
SCHEME = 'scheme="http://schemas.microsoft.com/ado/2007/08/dataservices/scheme"'

LISTING = f"""<?xml version="1.0" encoding="utf-8"?>
<feed {NS} xml:base="http://localhost:8080/informea.svc/">
  <id>http://localhost:8080/informea.svc/Decisions</id>
  <title type="text">Decisions</title>
  <updated>2025-01-01T00:00:00Z</updated>
  <link href="Decisions" rel="self" title="Decisions"/>
  <m:count>3</m:count>
  <entry>
    <id>http://localhost:8080/informea.svc/Decisions('d1')</id>
    <title type="text"/>
    <link href="Decisions('d1')" rel="edit" title="Decision"/>
    <link href="Decisions('d1')/title" rel="{REL}title" title="title"
          type="application/atom+xml;type=feed">
      <m:inline>
        <feed>
          <id>http://localhost:8080/informea.svc/Decisions('d1')/title</id>
          <entry>
            <id>http://localhost:8080/informea.svc/DecisionTitle('d1-en')</id>
            <link href="DecisionTitle('d1-en')" rel="edit" title="DecisionTitle"/>
            <category term="informea.DecisionTitle" {SCHEME}/>
            <content type="application/xml"><m:properties>
              <d:Id>d1-en</d:Id><d:language>en</d:language>
              <d:value>The Strategic Plan &amp; targets</d:value>
            </m:properties></content>
          </entry>
          <entry>
            <id>http://localhost:8080/informea.svc/DecisionTitle('d1-fr')</id>
            <link href="DecisionTitle('d1-fr')" rel="edit" title="DecisionTitle"/>
            <category term="informea.DecisionTitle" {SCHEME}/>
            <content type="application/xml"><m:properties>
              <d:Id>d1-fr</d:Id><d:language>fr</d:language>
              <d:value>Le Plan stratégique</d:value>
            </m:properties></content>
          </entry>
        </feed>
      </m:inline>
    </link>
    <link href="Decisions('d1')/keywords" rel="{REL}keywords" title="keywords"
          type="application/atom+xml;type=feed"/>
    <link href="Decisions('d1')/files" rel="{REL}files" title="files"
          type="application/atom+xml;type=feed"><m:inline><feed/></m:inline></link>
    <category term="informea.Decision" {SCHEME}/>
    <content type="application/xml">
      <m:properties>
        <d:id>d1</d:id>
        <d:number>XII.2</d:number>
        <d:published m:type="Edm.DateTime">2015-06-10T00:00:00</d:published>
        <d:displayOrder m:type="Edm.Int32">3</d:displayOrder>
        <d:score m:type="Edm.Double">0.75</d:score>
        <d:virtual m:type="Edm.Boolean">false</d:virtual>
        <d:meetingTitle m:null="true"/>
        <d:link></d:link>
      </m:properties>
    </content>
  </entry>
  <entry xml:base="http://mirror.test/svc/">
    <id>http://localhost:8080/informea.svc/Decisions('d2')</id>
    <link href="Decisions('d2')" rel="edit" title="Decision"/>
    <link href="Decisions('d2')/keywords" rel="{REL}keywords" title="keywords"/>
    <category term="informea.Decision" {SCHEME}/>
    <content type="application/xml">
      <m:properties>
        <d:id>d2</d:id>
        <d:size m:type="Edm.Int64">12345678901</d:size>
        <d:longTitle m:type="Collection(LocalizableString)">
          <m:item><d:language>en</d:language><d:value>Long</d:value></m:item>
          <m:item/>
        </d:longTitle>
        <d:treaties m:type="Collection(Edm.String)"><m:item>cbd</m:item><m:item>cms</m:item></d:treaties>
        <d:updated m:type="Edm.DateTimeOffset">2015-12-14T17:21:55Z</d:updated>
      </m:properties>
    </content>
  </entry>
  <link rel="next" href="Decisions?$skiptoken=2"/>
</feed>
"""

TITLE_META = {"type": "informea.DecisionTitle"}
EXPECTED = [
    {
        "__metadata": {
            "uri": "http://localhost:8080/informea.svc/Decisions('d1')",
            "type": "informea.Decision",
        },
        "title": {
            "results": [
                {
                    "__metadata": {
                        "uri": "http://localhost:8080/informea.svc/DecisionTitle('d1-en')",
                        **TITLE_META,
                    },
                    "Id": "d1-en",
                    "language": "en",
                    "value": "The Strategic Plan & targets",
                },
                {
                    "__metadata": {
                        "uri": "http://localhost:8080/informea.svc/DecisionTitle('d1-fr')",
                        **TITLE_META,
                    },
                    "Id": "d1-fr",
                    "language": "fr",
                    "value": "Le Plan stratégique",
                },
            ]
        },
        "keywords": {
            "__deferred": {"uri": "http://localhost:8080/informea.svc/Decisions('d1')/keywords"}
        },
        "files": {"results": []},
        "id": "d1",
        "number": "XII.2",
        "published": "2015-06-10T00:00:00",
        "displayOrder": 3,
        "score": 0.75,
        "virtual": False,
        "meetingTitle": None,
        "link": "",
    },
    {
        "__metadata": {
            "uri": "http://mirror.test/svc/Decisions('d2')",
            "type": "informea.Decision",
        },
        "keywords": {"__deferred": {"uri": "http://mirror.test/svc/Decisions('d2')/keywords"}},
        "id": "d2",
        "size": 12345678901,
        "longTitle": [
            {"__metadata": {"type": "LocalizableString"}, "language": "en", "value": "Long"},
            {"__metadata": {"type": "LocalizableString"}},
        ],
        "treaties": ["cbd", "cms"],
        "updated": "2015-12-14T17:21:55Z",
    },
]


# -- the parser on hand-written documents -----------------------------------------------------


def test_listing_parses_to_json_shapes() -> None:
    page = parse_atom_page(LISTING.encode(), url="http://localhost:8080/informea.svc/Decisions")
    assert page.items == EXPECTED
    assert page.count == 3
    assert page.next_link == "http://localhost:8080/informea.svc/Decisions?$skiptoken=2"


def test_single_entry_document() -> None:
    body = f"""<entry {NS} xml:base="http://h.test/s.svc/"><id>http://h.test/s.svc/Sites('7')</id>
      <category term="informea.Site" {SCHEME}/><link rel="{REL}name" href="Sites('7')/name">
      <m:inline><entry><id>http://h.test/s.svc/SiteName('7-en')</id><content type="application/xml">
      <m:properties><d:value>Lake</d:value></m:properties></content></entry></m:inline></link>
      <content type="application/xml"><m:properties><d:id>7</d:id>
      <d:latitude m:type="Edm.Decimal">-0.81667</d:latitude></m:properties></content></entry>"""
    page = parse_atom_page(body.encode())
    assert page.items == [
        {
            "__metadata": {"uri": "http://h.test/s.svc/Sites('7')", "type": "informea.Site"},
            "name": {
                "__metadata": {"uri": "http://h.test/s.svc/SiteName('7-en')"},
                "value": "Lake",
            },
            "id": "7",
            "latitude": -0.81667,
        }
    ]
    assert (page.next_link, page.count) == (None, None)


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(f"<feed {NS}/>", id="bare"),
        pytest.param(
            f"\ufeff<?xml version='1.0'?>\n<!-- c --><feed {NS}><id>x</id></feed>", id="bom"
        ),
    ],
)
def test_empty_feed(body: str) -> None:
    assert parse_atom_page(body.encode()) == parse_page({"d": {"results": []}})


def test_property_document_and_utf16() -> None:
    body = f'<d:treaties {NS} m:type="Collection(Edm.String)"><m:item>cbd</m:item></d:treaties>'
    assert parse_atom_page(body.encode("utf-16")).items == ["cbd"]


BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE feed [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>
<feed xmlns="http://www.w3.org/2005/Atom"><title>&lol2;</title></feed>"""
EXTERNAL = """<?xml version="1.0"?><!-- x --><!DOCTYPE e [<!ENTITY x SYSTEM "file:///etc/passwd">]>
<entry xmlns="http://www.w3.org/2005/Atom"><id>&x;</id></entry>"""


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(BILLION_LAUGHS.encode(), id="billion-laughs"),
        pytest.param(EXTERNAL.encode(), id="external-entity"),
        pytest.param(b"\xef\xbb\xbf<!ENTITY x 'y'><feed/>", id="bare-entity"),
        pytest.param(BILLION_LAUGHS.encode("utf-16"), id="utf16-doctype"),
    ],
)
def test_declarations_refused(body: bytes) -> None:
    with pytest.raises(SourceFormatError, match="DTD") as info:
        parse_atom_page(body, url="http://x.test/a")
    assert info.value.url == "http://x.test/a"


def test_doctype_text_inside_content_is_fine() -> None:
    html = "<![CDATA[<!DOCTYPE html><p>x</p>]]>"
    body = f'<entry {NS}><content type="application/xml"><m:properties><d:v>{html}</d:v>'
    body += "</m:properties></content></entry>"
    assert parse_atom_page(body.encode()).items == [{"v": "<!DOCTYPE html><p>x</p>"}]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        pytest.param(b"<feed><entry></feed>", "malformed XML", id="unclosed"),
        pytest.param(b"", "malformed XML", id="empty"),
        pytest.param(b"<feed>&nbsp;</feed>", "malformed XML", id="undefined-entity"),
        pytest.param(b"<html><body/></html>", "not an Atom", id="html"),
        pytest.param(
            b'<m:error xmlns:m="http://schemas.microsoft.com/ado/2007/08/dataservices/metadata">'
            b"<m:code/><m:message>boom</m:message></m:error>",
            "OData error: boom",
            id="odata-error",
        ),
    ],
)
def test_unreadable_documents_refused(body: bytes, message: str) -> None:
    with pytest.raises(SourceFormatError, match=message) as info:
        parse_atom_page(body, url="http://x.test/b")
    assert info.value.url == "http://x.test/b"


@pytest.mark.parametrize(
    ("content_type", "body", "expected"),
    [
        pytest.param("application/atom+xml;type=feed;charset=utf-8", b"", True, id="atom-type"),
        pytest.param("application/xml", b"", True, id="xml-type"),
        pytest.param("text/xml; charset=utf-8", b"", True, id="text-xml"),
        pytest.param(
            "application/json", b'\xef\xbb\xbf \n<?xml version="1.0"?>', True, id="bom-decl"
        ),
        pytest.param("text/plain", b"  <feed xmlns='x'/>", True, id="feed-body"),
        pytest.param("", b"<atom:entry xmlns:atom='x'/>", True, id="prefixed-entry"),
        pytest.param("application/json", b'{"d": {"results": []}}', False, id="json"),
        pytest.param("text/html", b"<html><feed/></html>", False, id="html"),
        pytest.param("text/plain", b"<feeder/>", False, id="not-feed"),
    ],
)
def test_looks_like_atom(content_type: str, body: bytes, expected: bool) -> None:
    assert looks_like_atom(content_type, body) is expected


# -- the mock provider in Atom, round trip against its JSON -----------------------------------


@pytest.fixture(scope="module")
def dataset() -> Dataset:
    return generate_dataset(
        treaties=("cbd", "ramsar", "stockholm", "whc"),
        seed=11,
        decisions=24,
        meetings=6,
        contacts=10,
        reports=8,
        plans=6,
        sites=6,
    )


@pytest.fixture(scope="module")
def registry() -> MappingRegistry:
    return MappingRegistry.load(MAPPINGS_DIR, "informea-odata")


def clients(data: Dataset, flavour: str, **options: Any) -> tuple[httpx.Client, httpx.Client]:
    """(JSON, Atom) clients over two otherwise identical providers."""
    malformed = {"Decisions": sorted(data["Decisions"])[:4]}
    made = [
        ODataProvider(
            data,
            base_url=BASE,
            flavour=flavour,
            malformed=malformed,
            atom=atom,
            **options,  # type: ignore[arg-type]
        )
        for atom in (False, True)
    ]
    return tuple(httpx.Client(transport=httpx.MockTransport(p.handle), base_url=BASE) for p in made)  # type: ignore[return-value]


def outcome(registry: MappingRegistry, entity: str, record: dict[str, Any]) -> Any:
    """What the harvester makes of one record: its sorted quads, or the mapping error."""
    mapping = registry.get(entity)
    assert mapping is not None
    url = entity_url(BASE, entity, str(record.get("id") or record.get("Id") or "?"))
    context = MappingContext(base_iri="http://hub.test/", source="s")
    try:
        return sorted(str(q) for q in mapping.map(record, context, url=url).quads)
    except MappingError as exc:
        return f"error: {exc}"


@pytest.mark.parametrize("entity", [pytest.param(e, id=e) for e in ENTITY_SETS])
@pytest.mark.parametrize("flavour", FLAVOURS)
def test_listing_round_trip(
    dataset: Dataset, registry: MappingRegistry, flavour: str, entity: str
) -> None:
    params = {"$top": "7", "$skip": "1", "$inlinecount": "allpages", "$orderby": "id"}
    params["$expand"] = ",".join(NAVIGATIONS[entity])
    json_client, atom_client = clients(dataset, flavour)
    response = atom_client.get(f"/{entity}", params=params)
    assert response.headers["content-type"].startswith("application/atom+xml;type=feed")
    atom = parse_atom_page(response.content, url=str(response.url))
    json = parse_page(json_client.get(f"/{entity}", params=params).json())
    assert (atom.count, atom.next_link) == (json.count, json.next_link)
    assert len(atom.items) == len(json.items) > 0
    for from_atom, from_json in zip(atom.items, json.items, strict=True):
        assert outcome(registry, entity, from_atom) == outcome(registry, entity, from_json)


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_server_paging_next_link_round_trip(dataset: Dataset, flavour: str) -> None:
    json_client, atom_client = clients(dataset, flavour, server_page_size=5)
    params = {"$orderby": "id", "$skiptoken": "5"}
    atom = parse_atom_page(atom_client.get("/Decisions", params=params).content)
    json = parse_page(json_client.get("/Decisions", params=params).json())
    assert atom.next_link == json.next_link is not None
    assert [r["id"] for r in atom.items] == [r["id"] for r in json.items]


@pytest.mark.parametrize("flavour", [pytest.param(f, id=f) for f in ("olingo", "brs")])
def test_deferred_navigations_identical(dataset: Dataset, flavour: str) -> None:
    json_client, atom_client = clients(dataset, flavour)
    atom = parse_atom_page(atom_client.get("/Meetings").content).items
    json = parse_page(json_client.get("/Meetings").json()).items
    assert [(r["title"], r["description"]) for r in atom] == [
        (r["title"], r["description"]) for r in json
    ]
    assert "__deferred" in atom[0]["title"]


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_entity_and_navigation_round_trip(
    dataset: Dataset, registry: MappingRegistry, flavour: str
) -> None:
    record_id = sorted(dataset["Decisions"])[-1]
    json_client, atom_client = clients(dataset, flavour)
    path = ODataProvider(dataset, base_url=BASE, flavour=flavour).entity_url("Decisions", record_id)  # type: ignore[arg-type]
    params = {"$expand": "title,files"}
    response = atom_client.get(path, params=params)
    assert response.headers["content-type"].startswith("application/atom+xml;type=entry")
    [atom] = parse_atom_page(response.content).items
    [json] = parse_page(json_client.get(path, params=params).json()).items
    assert outcome(registry, "Decisions", atom) == outcome(registry, "Decisions", json)
    nav_atom = parse_atom_page(atom_client.get(f"{path}/title").content).items
    nav_json = parse_page(json_client.get(f"{path}/title").json()).items
    assert titles(nav_atom) == titles(nav_json) != []


def titles(items: list[Any]) -> list[tuple[str, str]]:
    return [(i["language"], i["value"]) for i in items if "value" in i]
