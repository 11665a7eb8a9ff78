"""A whole harvest run against the mock providers: flavours, quirks, faults, changes."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from harvester.demo import Dataset, Fault, ODataProvider
from harvester.mapping.engine import MappingRegistry
from harvester.models import RunStatus
from harvester.paths import MAPPINGS_DIR

from .conftest import HUB, Hub, provider


def _loaded(report_counts: dict[str, int]) -> int:
    return report_counts["added"] + report_counts["updated"] + report_counts["unchanged"]


@pytest.mark.parametrize("flavour", ["olingo", "brs", "jaydata"])
def test_every_flavour_loads_every_record(hub: Hub, dataset: Dataset, flavour: str) -> None:
    report = hub.harvest(provider(dataset, flavour=flavour).handle)
    assert report.status is RunStatus.OK
    assert report.failures == []
    assert _loaded(report.counts) == sum(dataset.sizes().values())
    assert hub.count("Decision") == len(dataset["Decisions"])
    assert hub.count("FocalPoint") == len(dataset["Contacts"])


def _triples(hub: Hub) -> set[str]:
    rows = hub.runtime.store.query(
        "SELECT ?s ?p ?o WHERE { GRAPH ?g { ?s ?p ?o } "
        "FILTER(STRSTARTS(STR(?g), 'http://hub.test/graph/prov/')) "
        "FILTER(?p NOT IN (<http://www.w3.org/ns/prov#wasGeneratedBy>, "
        # what real providers differ on, not how they encode it: BRS file names lack the
        # extension; only BRS sends file sizes and UN document symbols; only Olingo toolkits
        # >= 2.6 send `virtual`; only CBD sends `roles` (role nodes, named .../role/...)
        "<https://w3id.org/mea/ontology#fileName>, <https://w3id.org/mea/ontology#isVirtual>, "
        "<http://www.w3.org/ns/dcat#byteSize>, <https://w3id.org/mea/ontology#documentSymbol>, "
        "<https://w3id.org/mea/ontology#role>)) FILTER(!CONTAINS(STR(?s), '/role/')) }"
    )
    return {f"{r[0]} {r[1]} {r[2]}" for r in rows}  # type: ignore[union-attr]


def test_flavours_give_the_same_rdf(dataset: Dataset) -> None:
    from harvester.service.runtime import Runtime
    from harvester.settings import settings_from_mapping

    graphs = []
    for flavour in ("olingo", "brs", "jaydata"):
        runtime = Runtime.open(
            settings_from_mapping({"server": {"base_iri": "http://hub.test/"}}), in_memory=True
        )
        local = Hub(runtime)
        local.harvest(provider(dataset, flavour=flavour).handle)
        graphs.append(_triples(local))
        runtime.close()
    assert len(graphs[0]) > 500
    assert graphs[1] == graphs[0]
    assert graphs[2] == graphs[0]


def test_deferred_navigations_are_fetched(hub: Hub, dataset: Dataset) -> None:
    mock = provider(dataset, flavour="brs")  # BRS never expands keywords
    hub.harvest(mock.handle)
    assert any("/keywords" in path for path in mock.request_log)
    assert bool(hub.runtime.store.query("ASK { ?d <https://w3id.org/mea/ontology#keyword> ?k }"))


def test_provider_that_ignores_paging_is_read_once(hub: Hub, dataset: Dataset) -> None:
    mock = provider(dataset, ignore_paging=True)
    report = hub.harvest(mock.handle, hub.source(page_size=5))
    assert _loaded(report.counts) == sum(dataset.sizes().values())
    assert len(mock.request_log) < 20


def _ignoring(mock: ODataProvider, *params: str) -> Callable[[httpx.Request], httpx.Response]:
    """A provider that silently drops some query options (as broken toolkits do)."""

    def handler(request: httpx.Request) -> httpx.Response:
        kept = [(k, v) for k, v in request.url.params.multi_items() if k not in params]
        return mock.handle(httpx.Request(request.method, request.url.copy_with(params=kept)))

    return handler


def test_repeated_page_ends_the_listing(hub: Hub, dataset: Dataset) -> None:
    mock = provider(dataset)
    config = hub.source(page_size=5, entities=["Decisions"])
    report = hub.harvest(_ignoring(mock, "$skip", "$inlinecount"), config)
    assert report.counts["added"] == 5
    assert any("repeats an earlier page" in note for note in report.notes)


def test_incomplete_listing_deletes_nothing(hub: Hub, dataset: Dataset) -> None:
    mock = provider(dataset)
    config = hub.source(page_size=5, entities=["Decisions"])
    hub.harvest(mock.handle, config)
    report = hub.harvest(_ignoring(mock, "$skip"), config)
    assert any("listing incomplete" in note for note in report.notes)
    assert report.counts["deleted"] == 0
    # issue 12: withheld deletions are reported, with what a complete listing would delete
    assert report.withheld_deletions == len(dataset["Decisions"]) - 5
    assert [w.reason for w in report.withheld] == ["incomplete-listing"]
    assert hub.count("Decision") == len(dataset["Decisions"])


def test_next_links_on_a_leaked_host_are_rewritten(hub: Hub, dataset: Dataset) -> None:
    mock = provider(dataset, max_top=4, next_host="http://localhost:8081")
    hosts: set[str] = set()

    def handler(request: httpx.Request) -> httpx.Response:
        hosts.add(request.url.host)
        return mock.handle(request)

    report = hub.harvest(handler)
    assert hosts == {"prov.test"}
    assert _loaded(report.counts) == sum(dataset.sizes().values())
    assert any("skiptoken" in path for path in mock.request_log)


def test_rate_limited_provider_is_retried_after_retry_after(hub: Hub, dataset: Dataset) -> None:
    mock = provider(dataset, faults=[Fault.rate_limited(times=2, retry_after=3)])
    report = hub.harvest(mock.handle)
    assert report.status is RunStatus.OK
    assert hub.sleeps[:2] == [3.0, 3.0]


def test_a_burst_of_503_is_ridden_out(hub: Hub, dataset: Dataset) -> None:
    mock = provider(dataset, faults=[Fault.unavailable(times=3, start=2)])
    report = hub.harvest(mock.handle)
    assert report.status is RunStatus.OK
    assert len(hub.sleeps) == 3
    assert hub.sleeps == sorted(hub.sleeps)


def test_malformed_records_are_reported_and_skipped(hub: Hub, dataset: Dataset) -> None:
    bad = sorted(dataset["Decisions"])[:4]  # one of each malformation kind
    mock = provider(dataset, malformed={"Decisions": bad})
    report = hub.harvest(mock.handle)
    assert report.status is RunStatus.OK
    assert report.counts["failed"] == 4
    assert hub.count("Decision") == len(dataset["Decisions"]) - 4
    assert {f.stage for f in report.failures} >= {"read", "map"}
    assert all(f.url.startswith("http://prov.test/") for f in report.failures)
    assert hub.runtime.raw.count("prov") == sum(dataset.sizes().values())


def _graph_quads(hub: Hub) -> dict[str, set[str]]:
    graphs: dict[str, set[str]] = {}
    for quad in hub.runtime.store.quads():
        graphs.setdefault(str(quad.graph_name), set()).add(str(quad))
    return graphs


def test_unchanged_reharvest_writes_only_its_run_description(hub: Hub, dataset: Dataset) -> None:
    mock = provider(dataset)
    first = hub.harvest(mock.handle)
    version, before = hub.runtime.store.version, _graph_quads(hub)
    report = hub.harvest(mock.handle)
    assert report.counts["unchanged"] == sum(dataset.sizes().values())
    assert report.changed == 0
    after = _graph_quads(hub)
    added = set(after) - set(before)
    assert added == {f"<{HUB}graph/runs/{report.run_id}>"}
    assert {g: q for g, q in after.items() if g not in added} == before  # records untouched
    assert hub.runtime.store.version == version + 1  # one small commit: the run graph
    assert f"<{HUB}graph/runs/{first.run_id}>" in after


def test_updated_record_is_replaced(hub: Hub, dataset: Dataset) -> None:
    from datetime import UTC, datetime

    mock = provider(dataset)
    hub.harvest(mock.handle)
    record_id = next(iter(dataset["Decisions"]))
    dataset.touch("Decisions", record_id, datetime(2030, 1, 1, tzinfo=UTC))
    report = hub.harvest(mock.handle)
    assert report.counts["updated"] == 1
    titles = hub.runtime.store.query(
        "SELECT ?t ?id WHERE { ?d <http://purl.org/dc/terms/identifier> ?id ; "
        "<http://purl.org/dc/terms/title> ?t FILTER(lang(?t) = 'en') }",
        substitutions={"id": __import__("pyoxigraph").Literal(record_id)},
    )
    values = [row[0].value for row in titles]  # type: ignore[union-attr]
    assert len(values) == 1 and "revised" in values[0].lower()


def test_deleted_records_are_removed(hub: Hub, dataset: Dataset) -> None:
    mock = provider(dataset)
    hub.harvest(mock.handle)
    for record_id in list(dataset["Decisions"])[:2]:
        dataset.delete("Decisions", record_id)
    report = hub.harvest(mock.handle)
    assert report.counts["deleted"] == 2
    assert hub.count("Decision") == len(dataset["Decisions"])


def test_mass_deletion_is_refused_without_the_flag(hub: Hub, dataset: Dataset) -> None:
    mock = provider(dataset)
    hub.harvest(mock.handle)
    before = hub.count("Decision")
    for record_id in list(dataset["Decisions"]):
        dataset.delete("Decisions", record_id)
    guarded = hub.harvest(mock.handle)
    assert guarded.counts["deleted"] == 0
    assert guarded.withheld_deletions == before
    assert hub.count("Decision") == before
    allowed = hub.harvest(mock.handle, allow_mass_delete=True)
    assert allowed.counts["deleted"] == before
    assert hub.count("Decision") == 0


def test_source_failing_mid_run_leaves_the_store_as_it_was(hub: Hub, dataset: Dataset) -> None:
    from datetime import UTC, datetime

    hub.harvest(provider(dataset).handle)
    snapshot = _triples(hub)
    for record_id in list(dataset["Decisions"])[:5]:
        dataset.touch("Decisions", record_id, datetime(2031, 1, 1, tzinfo=UTC))
    failing = provider(dataset, faults=[Fault(500, times=None, min_skip=10, entity="Decisions")])
    report = hub.harvest(failing.handle, hub.source(page_size=10))
    assert report.status is RunStatus.FAILED
    assert "500" in (report.error or "")
    assert _triples(hub) == snapshot
    recovered = hub.harvest(provider(dataset).handle, hub.source(page_size=10))
    assert recovered.status is RunStatus.OK and recovered.counts["updated"] == 5


def test_unserved_entity_set_is_skipped_not_failed(hub: Hub, dataset: Dataset) -> None:
    mock = provider(dataset, entities=["Decisions", "Meetings"])
    report = hub.harvest(mock.handle)
    assert report.status is RunStatus.OK
    assert any("not served" in note for note in report.notes)


def test_unreachable_source_fails_cleanly(hub: Hub) -> None:
    def down(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    report = hub.harvest(down)
    assert report.status is RunStatus.FAILED
    assert len(hub.runtime.store) > 0  # the ontology is still there
    assert hub.count("Decision") == 0


def test_incremental_mode_probes_unseen_records_for_deletion(hub: Hub, dataset: Dataset) -> None:
    mock = provider(dataset)
    config = hub.source(mode="incremental", entities=["Decisions"])
    hub.harvest(mock.handle, config)
    gone = next(iter(dataset["Decisions"]))
    dataset.delete("Decisions", gone)
    report = hub.harvest(mock.handle, config)
    assert any("$filter" in path or "%24filter" in path for path in mock.request_log)
    assert report.counts["deleted"] == 1
    assert hub.count("Decision") == len(dataset["Decisions"])


@pytest.mark.parametrize("flavour", ["olingo", "brs", "jaydata"])
def test_every_harvested_record_conforms_to_the_shapes(
    hub: Hub, dataset: Dataset, flavour: str
) -> None:
    import pyshacl
    import rdflib

    from harvester.paths import ONTOLOGY_DIR

    hub.harvest(provider(dataset, flavour=flavour).handle)
    data = rdflib.Dataset()
    dump = __import__("io").BytesIO()
    hub.runtime.store.dump(dump, __import__("pyoxigraph").RdfFormat.N_QUADS)
    data.parse(data=dump.getvalue(), format="nquads")
    union = rdflib.Graph()
    for quad in data.quads((None, None, None, None)):
        union.add(quad[:3])
    shapes = rdflib.Graph().parse(ONTOLOGY_DIR / "shapes.ttl")
    conforms, _, text = pyshacl.validate(union, shacl_graph=shapes)
    assert conforms, text


def test_remap_applies_changed_mappings_without_fetching(
    hub: Hub, dataset: Dataset, tmp_path: Path
) -> None:
    mock = provider(dataset)
    hub.harvest(mock.handle)
    requests = mock.requests
    mappings = tmp_path / "informea-odata"
    shutil.copytree(MAPPINGS_DIR / "informea-odata", mappings)
    with (mappings / "decisions.toml").open("a") as out:
        out.write('\n[[fields]]\nfrom = "status"\nto = "mea:remappedStatus"\n')
    harvester = hub.runtime.harvester("informea-odata")
    harvester.registry = MappingRegistry.load(tmp_path, "informea-odata")
    report = harvester.remap(hub.source())
    assert mock.requests == requests
    assert report.counts["updated"] == sum(dataset.sizes().values())
    query = (
        "SELECT (COUNT(?d) AS ?n) WHERE { ?d <https://w3id.org/mea/ontology#remappedStatus> ?s }"
    )
    assert int(next(iter(hub.runtime.store.query(query)))[0].value) == len(dataset["Decisions"])  # type: ignore[call-overload]


def test_remap_does_not_resurrect_deleted_records(hub: Hub, dataset: Dataset) -> None:
    mock = provider(dataset)
    hub.harvest(mock.handle)
    gone = next(iter(dataset["Decisions"]))
    dataset.delete("Decisions", gone)
    hub.harvest(mock.handle)
    hub.runtime.harvester("informea-odata").remap(hub.source())
    assert hub.count("Decision") == len(dataset["Decisions"])


@pytest.mark.parametrize("flavour", ["olingo", "brs", "jaydata"])
def test_atom_only_provider_loads_the_same_records(
    hub: Hub, dataset: Dataset, flavour: str
) -> None:
    report = hub.harvest(provider(dataset, flavour=flavour, atom=True).handle)
    assert report.status is RunStatus.OK and report.failures == []
    assert _loaded(report.counts) == sum(dataset.sizes().values())
    assert hub.count("Decision") == len(dataset["Decisions"])


def test_a_store_made_anew_is_loaded_again(tmp_path: Path, dataset: Dataset) -> None:
    from harvester.service.runtime import Runtime
    from harvester.settings import settings_from_mapping

    settings = settings_from_mapping(
        {"store": {"path": str(tmp_path / "store"), "state_dir": str(tmp_path / "state")}}
    )
    with Runtime.open(settings) as runtime:
        Hub(runtime).harvest(provider(dataset).handle)
    shutil.rmtree(tmp_path / "store")
    with Runtime.open(settings) as runtime:
        local = Hub(runtime)
        report = local.harvest(provider(dataset).handle)
        assert report.counts["added"] == sum(dataset.sizes().values())
        assert local.count("Decision") == len(dataset["Decisions"])


def test_large_runs_transform_in_worker_processes_with_the_same_result(dataset: Dataset) -> None:
    from harvester.demo import generate_dataset
    from harvester.service.runtime import Runtime
    from harvester.settings import settings_from_mapping

    big = generate_dataset(
        treaties=("cbd", "cms"), seed=3, decisions=450, meetings=10, contacts=0, reports=0, plans=0
    )
    graphs = []
    for workers in (0, 1):
        settings = settings_from_mapping(
            {"server": {"base_iri": "http://hub.test/"}, "harvest": {"workers": workers}}
        )
        with Runtime.open(settings, in_memory=True) as runtime:
            local = Hub(runtime)
            harvester = runtime.harvester("informea-odata")
            assert harvester.transform_workers == workers
            config = local.source(entities=["Decisions"])
            report = local.harvest(provider(big).handle, config, harvester=harvester)
            assert report.counts["added"] == 450 and report.failures == []
            assert runtime.raw.count(config.name) == 450  # archived from the workers' encoding
            graphs.append(_triples(local))
            again = local.harvest(provider(big).handle, config, harvester=harvester)
            assert again.counts["unchanged"] == 450 and again.counts["updated"] == 0
    assert graphs[0] == graphs[1] and len(graphs[0]) > 10_000


def test_a_worker_has_one_batch_queued_at_most(monkeypatch: pytest.MonkeyPatch) -> None:
    """Transformed batches wait in memory until the writer takes them: the harvester keeps as
    many in flight as there are workers (one queued behind each one transformed), not more."""
    from concurrent.futures import Future

    from harvester.demo import generate_dataset
    from harvester.mapping.transform import TransformPool
    from harvester.service.runtime import Runtime
    from harvester.settings import settings_from_mapping

    big = generate_dataset(
        treaties=("cbd",), seed=5, decisions=1200, meetings=5, contacts=0, reports=0, plans=0
    )
    submitted: list[Future[object]] = []
    collected: list[Future[object]] = []
    outstanding: list[int] = []
    submit = TransformPool.submit

    def counting_submit(pool: TransformPool, jobs: object, ctx: object) -> object:
        outstanding.append(len(submitted) - len(collected))  # before this one
        future = submit(pool, jobs, ctx)  # type: ignore[arg-type]
        submitted.append(future)  # type: ignore[arg-type]
        result = future.result

        def counted(timeout: float | None = None) -> object:
            if future not in collected:
                collected.append(future)  # type: ignore[arg-type]
            return result(timeout)

        future.result = counted  # type: ignore[method-assign]
        return future

    monkeypatch.setattr(TransformPool, "submit", counting_submit)
    settings = settings_from_mapping(
        {"server": {"base_iri": "http://hub.test/"}, "harvest": {"workers": 1}}
    )
    with Runtime.open(settings, in_memory=True) as runtime:
        local = Hub(runtime)
        config = local.source(entities=["Decisions"])
        report = local.harvest(
            provider(big).handle, config, harvester=runtime.harvester(config.kind)
        )
    assert report.counts["added"] == 1200
    assert len(submitted) == 6 and len(collected) == 6  # 200 records a batch
    assert max(outstanding) == 1  # one worker: one batch waiting, at most


@pytest.mark.parametrize("status", [400, 501])
def test_entity_sets_a_provider_does_not_know_are_skipped(
    hub: Hub, dataset: Dataset, status: int
) -> None:
    mock = provider(dataset)

    def handler(request: httpx.Request) -> httpx.Response:
        if "/Sites" in request.url.path:
            return httpx.Response(status, text="Resource not found for the segment 'Sites'")
        return mock.handle(request)

    report = hub.harvest(handler)
    assert report.status is RunStatus.OK
    assert any(f"Sites: not served by this source ({status})" in note for note in report.notes)
    assert hub.count("Decision") == len(dataset["Decisions"])
