"""Hub to hub (issue 15): hub B follows hub A's change feed (source kind ``ldes``)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from starlette.testclient import TestClient

from harvester.demo import Dataset
from harvester.feed import attach
from harvester.feed.follow import Follower
from harvester.models import RunStatus, SourceReport
from harvester.service.runtime import Runtime
from harvester.settings import ServerSettings, SourceConfig, settings_from_mapping
from harvester.sources import LdesSource, open_source
from sparql import create_app

from .conftest import HUB, Hub, provider

HUB_B = "http://mirror.test/"
MEA = "https://w3id.org/mea/ontology#"


@dataclass
class Mirror:
    a: Hub
    b: Runtime
    client: TestClient
    #: paths that answer 404 (a page gone mid-follow)
    broken: set[str]

    def transport(self) -> httpx.MockTransport:
        def handle(request: httpx.Request) -> httpx.Response:
            path = request.url.path
            if path in self.broken:
                return httpx.Response(404, text="gone")
            answer = self.client.get(
                request.url.raw_path.decode(), headers={"Accept": request.headers["accept"]}
            )
            return httpx.Response(
                answer.status_code, headers=answer.headers, content=answer.content
            )

        return httpx.MockTransport(handle)

    def config(self) -> SourceConfig:
        table = {"name": "hub-a", "kind": "ldes", "url": f"{HUB}ldes", "rate": 0, "retries": 0}
        return settings_from_mapping({"sources": [table]}).sources[0]

    def follow(self) -> object:
        return self.b.harvest(self.config(), transport=self.transport())


def records(store: object, exclude_runs: str) -> dict[str, set[str]]:
    """Each record (subject of mea:harvestSource) with every triple of its graphs."""
    found: dict[str, set[str]] = {}
    rows = store.query(  # type: ignore[attr-defined]
        f"SELECT ?r ?g WHERE {{ GRAPH ?g {{ ?r <{MEA}harvestSource> ?x }} "
        f"FILTER(!STRSTARTS(STR(?g), '{exclude_runs}graph/runs/')) }}"
    )
    for row in rows:
        record, graph = row[0].value, row[1].value
        triples = {str(q.triple) for q in store.graph_quads(graph)}  # type: ignore[attr-defined]
        triples |= {str(q.triple) for q in store.graph_quads(graph + "/inferred")}  # type: ignore[attr-defined]
        found[record] = triples
    return found


@pytest.fixture
def mirror(dataset: Dataset) -> Iterator[Mirror]:
    a = Runtime.open(settings_from_mapping({"server": {"base_iri": HUB}}), in_memory=True)
    attach(a.store, HUB, page_size=20)
    b = Runtime.open(settings_from_mapping({"server": {"base_iri": HUB_B}}), in_memory=True)
    client = TestClient(create_app(a.store, ServerSettings(base_iri=HUB)))
    yield Mirror(Hub(a), b, client, set())
    a.close()
    b.close()


def test_b_mirrors_a_across_harvests(mirror: Mirror, dataset: Dataset) -> None:
    mirror.a.harvest(provider(dataset).handle)
    first = mirror.follow()
    assert first.status is RunStatus.OK, first.error  # type: ignore[attr-defined]
    a_records = records(mirror.a.runtime.store, HUB)
    assert records(mirror.b.store, HUB_B) == a_records
    assert first.counts["added"] == len(a_records)  # type: ignore[attr-defined]
    # A changes: an update, two deletions, an addition
    decisions = sorted(dataset["Decisions"])
    dataset.touch("Decisions", decisions[0], datetime(2031, 1, 1, tzinfo=UTC))
    dataset.delete("Decisions", decisions[1])
    dataset.delete("Decisions", decisions[2])
    added = dict(dataset["Decisions"][decisions[3]])
    added["id"] = "added-later"
    dataset.add("Decisions", added)
    report = mirror.a.harvest(provider(dataset).handle)
    assert (report.counts["added"], report.counts["deleted"]) == (1, 2)
    second = mirror.follow()
    assert records(mirror.b.store, HUB_B) == records(mirror.a.runtime.store, HUB)
    counts = second.counts  # type: ignore[attr-defined]
    assert (counts["added"], counts["updated"], counts["deleted"]) == (
        1,
        report.counts["updated"],
        2,
    )
    # nothing new: nothing applied again
    third = mirror.follow()
    assert sum(third.counts.values()) == 0  # type: ignore[attr-defined]


def test_b_keeps_its_position_when_a_page_fails_and_resumes(
    mirror: Mirror, dataset: Dataset
) -> None:
    mirror.a.harvest(provider(dataset).handle)
    mirror.broken.add("/ldes/page/3")
    failed = mirror.follow()
    assert failed.status is RunStatus.FAILED  # type: ignore[attr-defined]
    assert "/ldes/page/3" in failed.error  # type: ignore[attr-defined]
    assert failed.counts["added"] == 40  # type: ignore[attr-defined]  # pages 1 and 2
    mirror.broken.clear()
    resumed = mirror.follow()
    assert resumed.status is RunStatus.OK  # type: ignore[attr-defined]
    a_records = records(mirror.a.runtime.store, HUB)
    assert resumed.counts["added"] == len(a_records) - 40  # type: ignore[attr-defined]
    assert records(mirror.b.store, HUB_B) == a_records


def test_b_has_a_feed_of_its_own(mirror: Mirror, dataset: Dataset) -> None:
    from harvester.feed import FeedReader, FeedTerms

    mirror.a.harvest(provider(dataset).handle)
    mirror.follow()
    state = FeedReader(mirror.b.store, FeedTerms(HUB_B)).state()
    assert state.count == len(records(mirror.a.runtime.store, HUB))


PUB = "http://pub.test/"


def _member(n: int, record: str, kind: str = "Create", *, version: bool = True) -> str:
    version_of = f"dcterms:isVersionOf <{PUB}record/{record}> ;" if version else ""
    return f"""
<{PUB}ldes> tree:member <{PUB}m/{n}> .
<{PUB}m/{n}> a as:{kind}, <{PUB}Thing> ; {version_of}
    prov:generatedAtTime "2030-01-01T00:00:{n:02d}Z"^^xsd:dateTime ;
    dcterms:title "record {record} v{n}"@en .
"""


def _page(n: int, body: str, following: int | None) -> str:
    relation = (
        f"<{PUB}page/{n}> tree:relation [ a tree:GreaterThanOrEqualToRelation ; "
        f"tree:node <{PUB}page/{following}> ; tree:path prov:generatedAtTime ; "
        f'tree:value "2030-01-01T00:00:00Z"^^xsd:dateTime ] .'
        if following
        else ""
    )
    return (
        "@prefix tree: <https://w3id.org/tree#> . @prefix as: <https://www.w3.org/ns/activitystreams#> .\n"
        "@prefix dcterms: <http://purl.org/dc/terms/> . @prefix prov: <http://www.w3.org/ns/prov#> .\n"
        "@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .\n" + body + relation
    )


def _stream() -> str:
    return (
        "@prefix tree: <https://w3id.org/tree#> . @prefix ldes: <https://w3id.org/ldes#> .\n"
        f"<{PUB}ldes> a ldes:EventStream ; tree:view <{PUB}page/1> .\n"
    )


@dataclass
class Publisher:
    pages: dict[str, str]

    def handle(self, request: httpx.Request) -> httpx.Response:
        body = self.pages.get(str(request.url))
        if body is None:
            return httpx.Response(404, text="no such page")
        return httpx.Response(200, text=body, headers={"Content-Type": "text/turtle"})


def _follow(b: Runtime, publisher: Publisher) -> object:
    table = {"name": "pub", "kind": "ldes", "url": f"{PUB}ldes", "rate": 0, "retries": 0}
    config = settings_from_mapping({"sources": [table]}).sources[0]
    return b.harvest(config, transport=httpx.MockTransport(publisher.handle))


@pytest.fixture
def hub_b() -> Iterator[Runtime]:
    b = Runtime.open(settings_from_mapping({"server": {"base_iri": HUB_B}}), in_memory=True)
    yield b
    b.close()


def _titles(b: Runtime) -> dict[str, str]:
    rows = b.store.query(
        "SELECT ?r ?t WHERE { GRAPH ?g { ?r <http://purl.org/dc/terms/title> ?t } }"
    )
    found = {r[0].value: r[1].value for r in rows}  # type: ignore[union-attr]
    return {k: v for k, v in found.items() if k.startswith(PUB)}


def test_a_relation_loop_is_reported_and_nothing_is_repeated(hub_b: Runtime) -> None:
    publisher = Publisher(
        {
            f"{PUB}ldes": _stream(),
            f"{PUB}page/1": _page(1, _member(1, "a") + _member(2, "b"), 2),
            f"{PUB}page/2": _page(2, _member(3, "c") + _member(4, "a", "Update"), 1),
        }
    )
    report = _follow(hub_b, publisher)
    assert report.status is RunStatus.FAILED and "loop" in report.error  # type: ignore[attr-defined]
    assert (report.counts["added"], report.counts["updated"]) == (3, 1)  # type: ignore[attr-defined]
    assert _titles(hub_b)[f"{PUB}record/a"] == "record a v4"
    again = _follow(hub_b, publisher)
    assert sum(again.counts.values()) == 0  # type: ignore[attr-defined]


def test_a_malformed_page_stops_the_follow_where_it_is(hub_b: Runtime) -> None:
    publisher = Publisher(
        {
            f"{PUB}ldes": _stream(),
            f"{PUB}page/1": _page(1, _member(1, "a"), 2),
            f"{PUB}page/2": "this is { not turtle",
        }
    )
    report = _follow(hub_b, publisher)
    assert report.status is RunStatus.FAILED and "malformed" in report.error  # type: ignore[attr-defined]
    assert set(_titles(hub_b)) == {f"{PUB}record/a"}
    publisher.pages[f"{PUB}page/2"] = _page(2, _member(2, "b") + _member(3, "a", "Delete"), None)
    fixed = _follow(hub_b, publisher)
    assert fixed.status is RunStatus.OK  # type: ignore[attr-defined]
    counts = fixed.counts  # type: ignore[attr-defined]
    assert (counts["added"], counts["deleted"]) == (1, 1)
    assert set(_titles(hub_b)) == {f"{PUB}record/b"}


def test_a_member_that_is_not_a_version_of_a_record_is_reported(hub_b: Runtime) -> None:
    publisher = Publisher(
        {
            f"{PUB}ldes": _stream(),
            f"{PUB}page/1": _page(1, _member(1, "a") + _member(2, "b", version=False), None),
        }
    )
    report = _follow(hub_b, publisher)
    assert report.counts["added"] == 1  # type: ignore[attr-defined]
    assert [f.record_id for f in report.failures] == [f"{PUB}m/2"]  # type: ignore[attr-defined]
    assert "isVersionOf" in report.failures[0].message  # type: ignore[attr-defined]
    # the publisher's IRIs are kept
    assert set(_titles(hub_b)) == {f"{PUB}record/a"}


def test_an_ldes_source_needs_only_name_kind_and_url() -> None:
    table = {"name": "pub", "kind": "ldes", "url": f"{PUB}ldes"}
    config = settings_from_mapping({"sources": [table]}).sources[0]
    assert config.kind == "ldes"


def _pages(relations: dict[int, list[int]], members: dict[int, str]) -> Publisher:
    """Pages ``n`` with the members ``members[n]`` and relations to ``relations[n]``."""
    pages = {f"{PUB}ldes": _stream()}
    for n, body in members.items():
        text = _page(n, body, None)
        for following in relations.get(n, []):
            text += (
                f"\n<{PUB}page/{n}> tree:relation [ a tree:Relation ; "
                f"tree:node <{PUB}page/{following}> ] ."
            )
        pages[f"{PUB}page/{n}"] = text
    return Publisher(pages)


def test_every_relation_of_a_page_is_followed_once(hub_b: Runtime) -> None:
    publisher = _pages(
        {1: [2, 3], 2: [3]},  # page 3 is reached twice: read once
        {1: _member(1, "a"), 2: _member(2, "b"), 3: _member(3, "c") + _member(4, "a", "Update")},
    )
    report = _follow(hub_b, publisher)
    assert report.status is RunStatus.OK, report.error  # type: ignore[attr-defined]
    assert (report.counts["added"], report.counts["updated"]) == (3, 1)  # type: ignore[attr-defined]
    assert _titles(hub_b) == {
        f"{PUB}record/a": "record a v4",
        f"{PUB}record/b": "record b v2",
        f"{PUB}record/c": "record c v3",
    }
    # the newest page stays the one read next: members added to it later are applied
    publisher.pages[f"{PUB}page/3"] = _page(3, _member(3, "c") + _member(5, "d"), None)
    again = _follow(hub_b, publisher)
    assert (again.counts["added"], sum(again.counts.values())) == (1, 1)  # type: ignore[attr-defined]


def test_a_run_is_described_in_the_store_with_its_requests(hub_b: Runtime) -> None:
    from harvester.history import recent_runs

    publisher = _pages({1: [2]}, {1: _member(1, "a"), 2: _member(2, "b")})
    seen: list[str] = []
    handle = publisher.handle

    def counting(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        return handle(request)

    publisher.handle = counting  # type: ignore[method-assign]
    report = _follow(hub_b, publisher)
    assert report.requests == len(seen) >= 3  # type: ignore[attr-defined]  # stream, two pages
    (run,) = recent_runs(hub_b.store, HUB_B, "pub")
    assert (run["run_id"], run["status"]) == (report.run_id, "ok")  # type: ignore[attr-defined]
    assert run["counts"]["added"] == 2
    failed = _follow(hub_b, Publisher({}))  # the stream is gone: a failed run, described too
    assert failed.status is RunStatus.FAILED  # type: ignore[attr-defined]
    newest = recent_runs(hub_b.store, HUB_B, "pub")[0]
    assert (newest["status"], newest["error"]) == ("failed", failed.error)  # type: ignore[attr-defined]


def _follower(
    b: Runtime, publisher: Publisher, members: int
) -> tuple[Follower, Callable[[], SourceReport]]:
    """A follower committing every ``members`` members (and never for time)."""
    table = {"name": "pub", "kind": "ldes", "url": f"{PUB}ldes", "rate": 0, "retries": 0}
    config = settings_from_mapping({"sources": [table]}).sources[0]
    source = open_source(config, user_agent="test", transport=httpx.MockTransport(publisher.handle))
    assert isinstance(source, LdesSource)
    follower = Follower(b.store, b.state, HUB_B, commit_members=members, commit_seconds=3600)
    return follower, lambda: follower.follow(config, source)


def _numbered(first: int, last: int) -> str:
    return "".join(_member(n, f"r{n}") for n in range(first, last + 1))


def test_members_are_committed_in_batches_not_per_page(hub_b: Runtime) -> None:
    publisher = _pages(
        {1: [2], 2: [3]}, {1: _numbered(1, 20), 2: _numbered(21, 40), 3: _numbered(41, 59)}
    )
    follower, follow = _follower(hub_b, publisher, 25)
    before = hub_b.store.version
    report = follow()
    assert report.counts["added"] == 59
    # members 25 and 50 close a batch, the run's end the third: three writes, not one per page
    assert follower.commits == 3
    assert hub_b.store.version - before == 3


class Crash(BaseException):
    """Stands for kill -9: nothing after it runs (no commit, no report)."""


def test_a_crash_repeats_only_what_was_not_committed(hub_b: Runtime) -> None:
    publisher = _pages(
        {1: [2], 2: [3]}, {1: _numbered(1, 20), 2: _numbered(21, 40), 3: _numbered(41, 59)}
    )
    handle = publisher.handle

    def crashing(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/page/3"):
            raise Crash
        return handle(request)

    publisher.handle = crashing  # type: ignore[method-assign]
    _, follow = _follower(hub_b, publisher, 25)
    with pytest.raises(Crash):
        follow()
    assert len(_titles(hub_b)) == 25  # the batch closed by member 25; 26 to 40 were lost
    publisher.handle = handle  # type: ignore[method-assign]
    _, follow = _follower(hub_b, publisher, 25)
    report = follow()
    assert (report.counts["added"], report.counts["updated"]) == (34, 0)
    assert len(_titles(hub_b)) == 59


def test_remap_skips_an_ldes_source_and_says_why(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from harvester.service.cli import main

    config = tmp_path / "meahub.toml"
    config.write_text(
        f'[store]\npath = "{tmp_path / "store"}"\n[server]\nbase_iri = "{HUB_B}"\n'
        '[[sources]]\nname = "own"\nkind = "informea-odata"\nurl = "http://own.test/x.svc"\n'
        f'[[sources]]\nname = "pub"\nkind = "ldes"\nurl = "{PUB}ldes"\n',
        encoding="utf-8",
    )
    assert main(["remap", "--config", str(config)]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "own" in out and "ok" in out  # the other source remapped
    assert "skipped 1 source(s): pub: kind ldes mirrors another hub" in out
    assert main(["remap", "--config", str(config), "--source", "pub"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "harvest summary" not in out and "nothing to remap" in out
