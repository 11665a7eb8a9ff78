"""A faithful mock of an InforMEA OData v2 "toolkit" service, as an ``httpx`` handler.

``ODataProvider(dataset, base_url=...).handle`` is a function ``httpx.Request -> httpx.Response``:
tests use it through ``httpx.MockTransport``, the demo serves it through
:func:`harvester.demo.app.create_demo_app`. Three wire dialects (``flavour``) reproduce the
quirks of the real producers (INFORMEA-API.md 1.6-1.10):

``olingo``
    toolkit v2 (AEWA, WHC, odata.informea.org): ``{"d":{"results":[...]}}``, ``__metadata``
    with ``informea.<Type>``, navigation properties deferred unless ``$expand``-ed, nav items
    keyed ``Id`` with ``<Type>Details`` back-links, Contacts ``phone``, Sites lat/long as
    strings, ISO3 countries on CountryReports/NationalPlans and lower-case ones on Sites.
``brs``
    Basel/Rotterdam/Stockholm WCF: bare ``{"d":[...]}`` for Contacts and NationalPlans (nav
    collections there are bare arrays too), ``protocolVersion: 1``, ``(guid'...')`` Decision
    URIs, ``fileName``/``documentId`` on Decision children, ``keywords`` always deferred,
    ``brs*`` extras, ``"mimeType": "pdf"`` on plan files, ``\\/Date(...)\\/`` escaped.
``jaydata``
    CBD: inline ``LocalizableString`` arrays (empty optional texts as a stub object), plain
    string ``treaties`` plus ``roles``, lower-case ISO2 countries, and for about a third of the
    records ISO-8601 date strings instead of ``/Date(ms)/``.

Deletion shows only as absence from listings and 404 by key; ``updated`` is the only change
marker. Server behaviours (page size, leaked ``__next`` host, ignored paging or filters) and
faults (:class:`Fault`, ``malformed``) are constructor options.
"""

from __future__ import annotations

import json
import re
import zlib
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal
from urllib.parse import unquote, urlencode, urlsplit

import httpx

from .atom import render_atom
from .dataset import COUNTRIES, ENTITY_SETS, ISO3, NAVIGATIONS, Dataset, Record

__all__ = ["MALFORMATIONS", "Fault", "Flavour", "ODataProvider"]

Flavour = Literal["olingo", "brs", "jaydata"]
FLAVOURS: tuple[str, ...] = ("olingo", "brs", "jaydata")

#: Ways ``malformed`` records are broken, cycled through in sorted-id order (or named per id).
MALFORMATIONS = ("missing-id", "numeric-title", "bad-date", "bad-country")

_TYPES = {
    "Treaties": "Treaty",
    "Meetings": "Meeting",
    "Decisions": "Decision",
    "Contacts": "Contact",
    "CountryReports": "CountryReport",
    "NationalPlans": "NationalPlan",
    "Sites": "Site",
}
_NAV_TYPES = {
    "title": "Title",
    "longTitle": "LongTitle",
    "summary": "Summary",
    "content": "Content",
    "description": "Description",
    "name": "Name",
    "keywords": "Keyword",
    "files": "File",
    "treaties": "Treaty",
}
_TEXT_NAVS = frozenset({"title", "longTitle", "summary", "content", "description", "name"})
_BRS_BARE = frozenset({"Contacts", "NationalPlans"})
_BRS_PREFIX = {"stockholm": "Sc", "basel": "Bc", "rotterdam": "Rc"}
_COUNTRY_NAMES = {c[0]: c[2] for c in COUNTRIES}
_BRS_REGIONS = {
    **dict.fromkeys(("DZ", "CM", "EG", "ET", "GH", "KE", "MG", "MW", "MA", "SN", "ZA", "TZ", "UG",
                     "ZM"), "africa"),
    **dict.fromkeys(("BD", "CN", "FJ", "IN", "ID", "JP", "KR", "NP", "PH", "TH", "VN"),
                    "asia-pacific"),
    **dict.fromkeys(("AR", "BO", "BR", "CL", "CO", "CR", "EC", "MX", "PE", "UY"), "glc"),
    **dict.fromkeys(("AL", "HU", "RO"), "cee"),
}  # fmt: skip
_DATE_FIELDS = frozenset({"published", "updated", "start", "end", "submission"})
_KEY_RE = re.compile(r"^(?P<set>\w+)(?:\((?P<guid>guid)?'(?P<key>[^']*)'\))?(?:/(?P<tail>\S+))?$")
_CLAUSE_RE = re.compile(
    r"^\s*(?P<field>\w+)\s+(?P<op>eq|ne|gt|ge|lt|le)\s+"
    r"(?:datetime'(?P<dt>[^']+)'|'(?P<str>[^']*)'|(?P<num>-?\d+))\s*$",
    re.IGNORECASE,
)
_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "eq": lambda a, b: bool(a == b),
    "ne": lambda a, b: bool(a != b),
    "gt": lambda a, b: bool(a > b),
    "ge": lambda a, b: bool(a >= b),
    "lt": lambda a, b: bool(a < b),
    "le": lambda a, b: bool(a <= b),
}
_JSON_TYPE = "application/json;charset=utf-8"
_BRS_JSON_TYPE = "application/json;odata=verbose;charset=utf-8"


class _ODataError(Exception):
    """An error answer (status and message) raised while serving a request."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass
class Fault:
    """An injected failure: answer ``status`` instead of serving, ``times`` times.

    :param times: how many requests fail; ``None`` means every matching request.
    :param start: only from the provider's ``start``-th request on (0-based, counting all).
    :param min_skip: only listing requests whose offset (``$skip``/``$skiptoken``) is at least
        this (a source failing mid-run).
    :param entity: only requests for this entity set.
    :param retry_after: value of a ``Retry-After`` header, if any.
    """

    status: int
    times: int | None = 1
    start: int = 0
    min_skip: int | None = None
    entity: str | None = None
    retry_after: str | None = None
    fired: int = field(default=0, init=False)

    @classmethod
    def rate_limited(cls, times: int = 1, retry_after: int = 1, start: int = 0) -> Fault:
        """``429 Too Many Requests`` with ``Retry-After`` for the next ``times`` requests."""
        return cls(429, times=times, start=start, retry_after=str(retry_after))

    @classmethod
    def unavailable(cls, times: int = 3, start: int = 0) -> Fault:
        """A burst of ``503 Service Unavailable``."""
        return cls(503, times=times, start=start)

    @classmethod
    def failing_from(cls, skip: int, status: int = 500, entity: str | None = None) -> Fault:
        """Fail every listing request whose offset is ``skip`` or more."""
        return cls(status, times=None, min_skip=skip, entity=entity)

    def matches(self, index: int, entity: str | None, offset: int | None) -> bool:
        """Whether this fault hits request number ``index`` (and then counts it)."""
        if self.times is not None and self.fired >= self.times:
            return False
        if index < self.start or (self.entity is not None and entity != self.entity):
            return False
        if self.min_skip is not None and (offset is None or offset < self.min_skip):
            return False
        self.fired += 1
        return True


@dataclass(frozen=True)
class _Target:
    """What a request path asks for."""

    entity: str
    key: str | None = None
    guid: bool = False
    nav: str | None = None
    count: bool = False


@dataclass(frozen=True)
class _Query:
    """The OData system query options of one request."""

    top: int | None
    offset: int | None
    done: bool
    expand: frozenset[str]
    orderby: str
    filter: str
    inlinecount: bool
    raw: Mapping[str, str]

    @classmethod
    def parse(cls, params: httpx.QueryParams) -> _Query:
        token = params.get("$skiptoken")
        skip = token if token not in (None, "done") else params.get("$skip")
        expand = {e.strip() for e in params.get("$expand", "").split(",") if e.strip()}
        return cls(
            top=_int_option(params, "$top"),
            offset=_parse_int("$skip", skip) if skip is not None else None,
            done=token == "done",
            expand=frozenset(expand),
            orderby=params.get("$orderby", ""),
            filter=params.get("$filter", ""),
            inlinecount=params.get("$inlinecount", "") == "allpages",
            raw=dict(params.multi_items()),
        )


def _int_option(params: httpx.QueryParams, name: str) -> int | None:
    value = params.get(name)
    return None if value is None else _parse_int(name, value)


def _parse_int(name: str, value: str) -> int:
    if not value.isdigit():
        raise _ODataError(400, f"Invalid value for {name}: {value!r}")
    return int(value)


class ODataProvider:
    """One mock OData v2 toolkit service over a :class:`Dataset` (or a part of it).

    :param dataset: the records; later changes through its helpers show up immediately.
    :param base_url: service root, e.g. ``http://brs.test/informea.svc``. Requests whose path is
        under it are served (the host is not checked), others get 404.
    :param flavour: ``"olingo"``, ``"brs"`` or ``"jaydata"`` (see the module docstring).
    :param treaties: serve only records of these treaties (Contacts: with any of them).
    :param entities: serve only these entity sets (others answer 404).
    :param server_page_size: page size used when the client gives no ``$top``; a ``__next``
        link with ``$skiptoken=<offset>`` follows a truncated page.
    :param max_top: cap on ``$top``; a capped page also gets a ``__next`` link.
    :param next_host: scheme and host written into ``__next`` links instead of the real one
        (e.g. ``http://localhost:8081``, the CITES leaked-host bug).
    :param ignore_paging: ignore ``$top``/``$skip``/``$skiptoken`` and always answer the whole
        set, without ``__next`` (a harvester must stop on a repeated page).
    :param ignore_filter: ignore ``$filter`` (the unreliable ``updated gt`` of real toolkits).
    :param strict_keys: for ``brs``, answer 400 to ``Decisions('<id>')``: WCF wants
        ``Decisions(guid'<id>')``.
    :param faults: injected failures, checked in order for every request.
    :param malformed: entity set -> ids served deliberately broken. With a collection of ids,
        the kinds of :data:`MALFORMATIONS` are cycled in sorted-id order; with a mapping, each
        id names its kind.
    :param atom: answer listings, entities and navigations in Atom/XML (the OData v2 default),
        whatever ``$format`` or ``Accept`` asks for (see :mod:`harvester.demo.atom`).
    """

    def __init__(
        self,
        dataset: Dataset,
        *,
        base_url: str,
        flavour: Flavour = "olingo",
        treaties: Iterable[str] | None = None,
        entities: Iterable[str] | None = None,
        server_page_size: int | None = None,
        max_top: int | None = None,
        next_host: str | None = None,
        ignore_paging: bool = False,
        ignore_filter: bool = False,
        strict_keys: bool = False,
        faults: Iterable[Fault] = (),
        malformed: Mapping[str, Collection[str] | Mapping[str, str]] | None = None,
        atom: bool = False,
    ) -> None:
        if flavour not in FLAVOURS:
            raise ValueError(f"unknown flavour {flavour!r}; use one of {FLAVOURS}")
        self.dataset = dataset
        self.base_url = base_url.rstrip("/")
        self.base_path = urlsplit(self.base_url).path.rstrip("/")
        self.flavour: Flavour = flavour
        self.treaties = frozenset(treaties) if treaties is not None else None
        self.entities = tuple(entities) if entities is not None else ENTITY_SETS
        self.server_page_size = server_page_size
        self.max_top = max_top
        self.next_host = next_host
        self.ignore_paging = ignore_paging
        self.ignore_filter = ignore_filter
        self.strict_keys = strict_keys
        self.faults: list[Fault] = list(faults)
        self.malformed = _malformations(malformed or {})
        self.atom = atom
        self.requests = 0
        self.request_log: list[str] = []
        self._cache: dict[tuple[str, str, str], list[Record]] = {}
        self._cache_version = -1

    # -- public API -----------------------------------------------------------------------

    def handle(self, request: httpx.Request) -> httpx.Response:
        """Answer one request (usable as ``httpx.MockTransport(provider.handle)``)."""
        index = self.requests
        self.requests += 1
        self.request_log.append(_path_and_query(request.url))
        try:
            return self._serve(request, index)
        except _ODataError as error:
            return _error(error.status, error.message)

    def fail_after(
        self, n_requests: int, status: int = 503, times: int = 1, retry_after: int | None = None
    ) -> Fault:
        """Let the next ``n_requests`` succeed, then fail ``times`` requests with ``status``."""
        fault = Fault(
            status,
            times=times,
            start=self.requests + n_requests,
            retry_after=None if retry_after is None else str(retry_after),
        )
        self.faults.append(fault)
        return fault

    def entity_url(self, entity: str, record_id: str) -> str:
        """The canonical URI of one entity in this provider's dialect."""
        if self.flavour == "brs" and entity == "Decisions":
            return f"{self.base_url}/{entity}(guid'{record_id}')"
        return f"{self.base_url}/{entity}('{record_id}')"

    def view(self, entity: str, filter_: str = "", orderby: str = "") -> list[Record]:
        """The records a listing of ``entity`` returns, filtered and ordered (cached)."""
        if self._cache_version != self.dataset.version:
            self._cache.clear()
            self._cache_version = self.dataset.version
        key = (entity, "" if self.ignore_filter else filter_, orderby)
        if key not in self._cache:
            records = [r for r in self.dataset[entity].values() if self._in_scope(entity, r)]
            if key[1]:
                records = _apply_filter(records, key[1])
            self._cache[key] = _apply_orderby(records, orderby)
        return self._cache[key]

    # -- routing --------------------------------------------------------------------------

    def _serve(self, request: httpx.Request, index: int) -> httpx.Response:
        rel = self._relative_path(request.url.path)
        if rel is None:
            return _error(404, f"Not found: {request.url.path}")
        if rel == "":
            return self._service_document()
        if rel == "$metadata":
            return self._metadata()
        target = self._target(rel)
        query = _Query.parse(request.url.params)
        fault = self._fault(index, target, query)
        if fault is not None:
            return fault
        return self._dispatch(target, query)

    def _relative_path(self, path: str) -> str | None:
        if path.rstrip("/") == self.base_path:
            return ""
        if not path.startswith(self.base_path + "/"):
            return None
        return path[len(self.base_path) + 1 :]

    def _target(self, rel: str) -> _Target:
        match = _KEY_RE.match(rel)
        if not match or match["set"] not in self.entities:
            raise _ODataError(404, f"Resource not found for the segment '{rel.split('/')[0]}'.")
        tail = match["tail"]
        if tail is not None and tail != "$count" and match["key"] is None:
            raise _ODataError(404, f"Resource not found for the segment '{tail}'.")
        return _Target(
            entity=match["set"],
            key=match["key"],
            guid=match["guid"] is not None,
            nav=tail if tail not in (None, "$count") else None,
            count=tail == "$count",
        )

    def _fault(self, index: int, target: _Target, query: _Query) -> httpx.Response | None:
        listing = target.key is None and not target.count
        offset = (query.offset or 0) if listing else None
        for fault in self.faults:
            if fault.matches(index, target.entity, offset):
                headers = {"Retry-After": fault.retry_after} if fault.retry_after else {}
                return _error(fault.status, f"Injected fault {fault.status}", headers)
        return None

    def _dispatch(self, target: _Target, query: _Query) -> httpx.Response:
        if target.count:
            total = len(self.view(target.entity, query.filter))
            return httpx.Response(200, text=str(total), headers={"Content-Type": "text/plain"})
        if target.key is None:
            return self._answer(target, self._listing(target.entity, query))
        record = self._lookup(target)
        if target.nav is not None:
            return self._answer(target, self._navigation(target.entity, record, target.nav))
        return self._answer(target, {"d": self._render(target.entity, record, query.expand)})

    def _lookup(self, target: _Target) -> Record:
        strict = self.strict_keys and self.flavour == "brs" and target.entity == "Decisions"
        if strict and not target.guid:
            raise _ODataError(400, "Bad Request - Error in query syntax.")
        record = self.dataset[target.entity].get(target.key or "")
        if record is None or not self._in_scope(target.entity, record):
            raise _ODataError(404, "Resource not found for the segment.")
        return record

    def _in_scope(self, entity: str, record: Record) -> bool:
        if self.treaties is None:
            return True
        if entity == "Treaties":
            return record.get("id") in self.treaties
        if entity == "Contacts":
            return any(t in self.treaties for t in record.get("treaties") or ())
        return record.get("treaty") in self.treaties

    # -- listings and paging --------------------------------------------------------------

    def _listing(self, entity: str, query: _Query) -> dict[str, Any]:
        rows = self.view(entity, query.filter, query.orderby)
        page, next_offset, remaining = self._page(rows, query)
        items = [self._render(entity, record, query.expand) for record in page]
        if self.flavour == "brs" and entity in _BRS_BARE:
            return {"d": items}
        body: dict[str, Any] = {"results": items}
        if query.inlinecount:
            body = {"__count": str(len(rows)), **body}
        if next_offset is not None:
            body["__next"] = self._next_link(entity, query, next_offset, remaining)
        return {"d": body}

    def _page(
        self, rows: list[Record], query: _Query
    ) -> tuple[list[Record], int | None, int | None]:
        """The page, the offset of the next page (if truncated) and the ``$top`` left."""
        if self.ignore_paging:
            return rows, None, None
        if query.done:
            return [], None, None
        offset = query.offset or 0
        limit = query.top
        if limit is None:
            limit = self.server_page_size
        elif self.max_top is not None and limit > self.max_top:
            limit = self.max_top
        if limit is None:
            return rows[offset:], None, None
        end = offset + limit
        truncated = (query.top is None or limit < query.top) and end < len(rows)
        remaining = None if query.top is None else query.top - limit
        return rows[offset:end], (end if truncated else None), remaining

    def _next_link(self, entity: str, query: _Query, offset: int, top: int | None) -> str:
        params = {k: v for k, v in query.raw.items() if k not in ("$skip", "$skiptoken", "$top")}
        if top is not None:
            params["$top"] = str(top)
        params["$skiptoken"] = str(offset)
        base = self.base_url
        if self.next_host is not None:
            parts = urlsplit(base)
            base = self.next_host.rstrip("/") + parts.path
        return f"{base}/{entity}?{urlencode(params, safe='$,')}"

    # -- rendering ------------------------------------------------------------------------

    def _render(self, entity: str, record: Record, expand: frozenset[str]) -> dict[str, Any]:
        uri = self.entity_url(entity, record["id"])
        out: dict[str, Any] = {"__metadata": self._metadata_of(entity, record, uri)}
        if self.flavour != "olingo":
            out["protocolVersion"] = 1
        for name, value in record.items():
            if name in NAVIGATIONS[entity]:
                out[name] = self._nav_value(entity, record, name, uri, name in expand)
            elif name != "roles":
                self._scalar(entity, record, name, value, out)
        self._extras(entity, record, out)
        kind = self.malformed.get(entity, {}).get(record["id"])
        if kind is not None:
            _break(entity, out, kind)
        return out

    def _metadata_of(self, entity: str, record: Record, uri: str) -> dict[str, str]:
        type_name = _TYPES[entity]
        if self.flavour == "brs":
            return {"uri": uri, "type": _brs_type(entity, record)}
        if self.flavour == "jaydata":
            return {"type": type_name, "uri": uri}
        return {"id": uri, "uri": uri, "type": f"informea.{type_name}"}

    def _scalar(self, entity: str, record: Record, name: str, value: Any, out: Record) -> None:
        if name == "virtual" and self.flavour != "olingo":
            return
        if name == "phoneNumber" and self.flavour == "olingo":
            name = "phone"
        if name in _DATE_FIELDS:
            value = self._date(record, value)
        elif name == "country":
            value = self._country(entity, value)
        elif name in ("latitude", "longitude") and entity == "Sites" and self.flavour == "olingo":
            value = None if value is None else str(value)
        out[name] = value

    def _date(self, record: Record, value: Any) -> Any:
        if not isinstance(value, datetime):
            return value
        if self.flavour == "jaydata" and zlib.crc32(str(record["id"]).encode()) % 3 == 0:
            return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")
        return f"/Date({int(value.timestamp() * 1000)})/"

    def _country(self, entity: str, code: Any) -> Any:
        if not isinstance(code, str):
            return code
        if self.flavour == "jaydata":
            return code.lower()
        if self.flavour == "olingo" and entity in ("CountryReports", "NationalPlans"):
            return ISO3.get(code.upper(), code)
        if self.flavour == "olingo" and entity == "Sites":
            return code.lower()
        return code

    def _extras(self, entity: str, record: Record, out: Record) -> None:
        """Producer-specific extra properties."""
        if self.flavour == "jaydata" and entity == "Contacts":
            out["roles"] = record.get("roles", [])
        if self.flavour != "brs":
            return
        if entity == "Contacts":
            out["brsRegionUn"] = _BRS_REGIONS.get(str(record.get("country")), "weog")
            out["brsRegionPic"] = out["brsRegionUn"]
        elif entity == "Meetings":
            out["type"] = str(out["type"]).upper() if out.get("type") else None
            out["access"] = str(out["access"]).capitalize() if out.get("access") else None
            out["brs_Title"] = _english(record.get("title"))
            out["brs_Description"] = _english(record.get("description"))
        elif entity == "NationalPlans":
            name = _COUNTRY_NAMES.get(str(record.get("country")), "Unknown").split(" ")[0]
            out["brs_unnumber"] = f"UNEP/POPS/{str(record.get('type')).upper()}/{name}/1"

    # -- navigation properties ------------------------------------------------------------

    def _nav_value(self, entity: str, record: Record, nav: str, uri: str, expand: bool) -> Any:
        items = self._nav_items(entity, record, nav)
        if self.flavour == "jaydata":
            return items
        brs_keywords = self.flavour == "brs" and nav == "keywords"
        if not expand or brs_keywords:
            return {"__deferred": {"uri": f"{uri}/{nav}"}}
        return self._collection(entity, items)

    def _navigation(self, entity: str, record: Record, nav: str) -> dict[str, Any]:
        """The answer to ``<Set>('<id>')/<nav>``."""
        if nav not in NAVIGATIONS[entity]:
            raise _ODataError(404, f"Resource not found for the segment '{nav}'.")
        items = self._nav_items(entity, record, nav)
        if self.flavour == "brs":
            return {"d": items}
        return {"d": {"results": items}}

    def _collection(self, entity: str, items: list[Any]) -> Any:
        if self.flavour == "brs" and entity in _BRS_BARE:
            return items
        return {"results": items}

    def _nav_items(self, entity: str, record: Record, nav: str) -> list[Any]:
        values = record.get(nav) or []
        if self.flavour == "jaydata":
            return _jaydata_items(nav, values)
        render = self._brs_item if self.flavour == "brs" else self._olingo_item
        return [render(entity, record, nav, value, n) for n, value in enumerate(values, 1)]

    def _olingo_item(self, entity: str, record: Record, nav: str, value: Any, n: int) -> Record:
        item_id, fields = _item_fields(record["id"], nav, value, n)
        type_name = f"{_TYPES[entity]}{_NAV_TYPES[nav]}"
        uri = f"{self.base_url}/{type_name}('{item_id}')"
        key = "Id" if nav in _TEXT_NAVS else "id"
        back = f"{_TYPES[entity]}Details"
        return {
            "__metadata": {"id": uri, "uri": uri, "type": f"informea.{type_name}"},
            key: item_id,
            **fields,
            back: {"__deferred": {"uri": f"{uri}/{back}"}},
        }

    def _brs_item(self, entity: str, record: Record, nav: str, value: Any, n: int) -> Record:
        item_id, fields = _item_fields(record["id"], nav, value, n)
        if entity == "Contacts":
            return _brs_treaty(self.base_url, str(value))
        if nav == "files":
            fields = _brs_file(entity, fields)
        prefix = _brs_type(entity, record).split(".")[0]
        uri = f"{self.base_url}/{nav}('{item_id}')"
        item: Record = {"__metadata": {"uri": uri, "type": f"{prefix}.{nav}"}, "id": item_id}
        item.update(fields)
        if entity == "Decisions":
            item["documentId"] = record["id"]
            item["Decisions"] = {"__deferred": {"uri": f"{uri}/Decisions"}}
        return item

    # -- service document, metadata and responses -----------------------------------------

    def _service_document(self) -> httpx.Response:
        return self._json({"d": {"EntitySets": list(self.entities)}})

    def _metadata(self) -> httpx.Response:
        sets = "".join(
            f'<EntitySet Name="{e}" EntityType="informea.{_TYPES[e]}"/>' for e in self.entities
        )
        xml = (
            '<?xml version="1.0" encoding="utf-8"?><edmx:Edmx Version="1.0" '
            'xmlns:edmx="http://schemas.microsoft.com/ado/2007/06/edmx"><edmx:DataServices>'
            '<Schema Namespace="informea"><EntityContainer Name="InforMEAService">'
            f"{sets}</EntityContainer></Schema></edmx:DataServices></edmx:Edmx>"
        )
        return httpx.Response(200, text=xml, headers={"Content-Type": "application/xml"})

    def _answer(self, target: _Target, payload: Any) -> httpx.Response:
        """The payload as verbose JSON, or as Atom when the provider speaks ``atom``."""
        if not self.atom:
            return self._json(payload)
        path = target.entity if target.key is None else self.entity_url(target.entity, target.key)
        path = f"{path}/{target.nav}" if target.nav else path
        name = target.nav or target.entity
        text, content_type = render_atom(payload, base_url=self.base_url, path=path, name=name)
        return httpx.Response(200, text=text, headers={"Content-Type": content_type})

    def _json(self, payload: Any) -> httpx.Response:
        text = json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
        if self.flavour == "brs":
            text = text.replace('"/Date(', '"\\/Date(').replace(')/"', ')\\/"')
            return httpx.Response(200, text=text, headers={"Content-Type": _BRS_JSON_TYPE})
        return httpx.Response(200, text=text, headers={"Content-Type": _JSON_TYPE})


# ----------------------------------------------------------------------------------------------
# Module-level helpers
# ----------------------------------------------------------------------------------------------


def _path_and_query(url: httpx.URL) -> str:
    query = unquote(url.query.decode("ascii", "replace"))
    return f"{url.path}?{query}" if query else url.path


def _error(status: int, message: str, headers: Mapping[str, str] | None = None) -> httpx.Response:
    body = {"error": {"code": "", "message": {"lang": "en-US", "value": message}}}
    return httpx.Response(status, json=body, headers=dict(headers or {}))


def _malformations(
    spec: Mapping[str, Collection[str] | Mapping[str, str]],
) -> dict[str, dict[str, str]]:
    """Normalise ``malformed`` to entity -> id -> kind."""
    out: dict[str, dict[str, str]] = {}
    for entity, ids in spec.items():
        if isinstance(ids, Mapping):
            kinds = dict(ids)
        else:
            kinds = {i: MALFORMATIONS[n % len(MALFORMATIONS)] for n, i in enumerate(sorted(ids))}
        unknown = set(kinds.values()) - set(MALFORMATIONS)
        if unknown:
            raise ValueError(f"unknown malformation(s) {sorted(unknown)}; use {MALFORMATIONS}")
        out[entity] = kinds
    return out


def _break(entity: str, out: Record, kind: str) -> None:
    """Damage one rendered record the way ``kind`` says (see :data:`MALFORMATIONS`)."""
    if kind == "numeric-title":
        out[{"Sites": "name", "Contacts": "lastName"}.get(entity, "title")] = 12345
    elif kind == "bad-date":
        date_field = {"Decisions": "published", "Meetings": "start"}.get(entity, "submission")
        out[date_field if date_field in out else "updated"] = "not-a-date"
    elif kind == "bad-country" and "country" in out:
        out["country"] = "ZZZ"
    elif kind == "bad-country" and entity != "Treaties":
        out.pop("treaty", None)
    else:
        out.pop("id", None)


def _apply_filter(records: list[Record], expression: str) -> list[Record]:
    """Records matching ``a op b [and c op d ...]`` (the part of ``$filter`` toolkits use)."""
    clauses = [_clause(part) for part in re.split(r"\s+and\s+", expression, flags=re.I)]
    return [r for r in records if all(_test(r, f, op, v) for f, op, v in clauses)]


def _clause(text: str) -> tuple[str, str, Any]:
    match = _CLAUSE_RE.match(text)
    if not match:
        raise _ODataError(400, f"Unsupported $filter expression: {text!r}")
    if match["dt"] is not None:
        return match["field"], match["op"].lower(), _parse_datetime(match["dt"])
    if match["num"] is not None:
        return match["field"], match["op"].lower(), int(match["num"])
    return match["field"], match["op"].lower(), match["str"]


def _parse_datetime(text: str) -> datetime:
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise _ODataError(400, f"Invalid datetime literal: {text!r}") from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _test(record: Record, name: str, op: str, expected: Any) -> bool:
    value = record.get(name)
    if value is None or type(value) is not type(expected):
        return op == "ne" and value != expected
    return _OPS[op](value, expected)


def _apply_orderby(records: list[Record], orderby: str) -> list[Record]:
    """Stable multi-key sort; ``None`` sorts last both ways. Unknown fields sort as ``None``."""
    keys = [part.split() for part in orderby.split(",") if part.strip()]
    out = list(records)
    for words in reversed(keys):
        name, desc = words[0], len(words) > 1 and words[1].lower() == "desc"
        present = [r for r in out if r.get(name) is not None]
        missing = [r for r in out if r.get(name) is None]
        present.sort(key=lambda r: r[name], reverse=desc)
        out = present + missing
    return out


def _english(values: Any) -> str | None:
    for item in values or ():
        if item.get("language") == "en":
            return str(item["value"])
    return None


def _item_fields(record_id: str, nav: str, value: Any, n: int) -> tuple[str, Record]:
    """Id and plain fields of one navigation item."""
    if nav in _TEXT_NAVS:
        return f"{record_id}-{value['language']}", dict(value)
    if nav == "treaties":
        return f"{record_id}-{value}", {"value": value}
    if nav == "keywords":
        return f"{record_id}-k{n}", dict(value)
    return f"{record_id}-f{n}", dict(value)


def _brs_type(entity: str, record: Record) -> str:
    if entity == "Decisions":
        return f"{_BRS_PREFIX.get(record.get('treaty', ''), '')}DecisionsModel.Decisions"
    return f"{entity}.{_TYPES[entity]}"


def _brs_file(entity: str, fields: Record) -> Record:
    """Decision files say ``fileName`` (no extension); plan and report files ``"pdf"``."""
    filename = str(fields.pop("filename", "") or "")
    if entity == "Decisions":
        fields["fileName"] = filename.rsplit(".", 1)[0]
    else:
        fields["filename"] = filename
        fields["mimeType"] = filename.rsplit(".", 1)[-1] if "." in filename else "pdf"
        fields["size"] = str(100_000 + zlib.crc32(filename.encode()) % 3_000_000)
    return fields


def _brs_treaty(base_url: str, treaty: str) -> Record:
    uri = f"{base_url}/keywords('{treaty}')"
    return {
        "__metadata": {"uri": uri, "type": "Contacts.Treaty"},
        "value": treaty,
        "contacts": {"__deferred": {"uri": f"{uri}/contacts"}},
    }


def _jaydata_items(nav: str, values: list[Any]) -> list[Any]:
    """CBD inline arrays: typed strings, stub object for empty optional texts."""
    if nav == "treaties":
        return list(values)
    if nav in _TEXT_NAVS:
        items = [{"__metadata": {"type": "LocalizableString"}, **v} for v in values]
        return items or [{"__metadata": {"type": "LocalizableString"}}]
    type_name = "Keyword" if nav == "keywords" else "File"
    return [{"__metadata": {"type": type_name}, **v} for v in values]
