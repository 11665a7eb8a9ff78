"""The ``meahub`` console script end to end, against the demo providers on a local port."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from harvester.demo import demo_sources
from harvester.service.cli import main
from harvester.service.demo_run import demo_server


@pytest.fixture(scope="module")
def providers() -> Iterator[str]:
    with demo_server() as base:
        yield base


def _config(tmp_path: Path, sources: list[dict[str, object]]) -> Path:
    lines = ['[store]\npath = "store"\n', '[server]\nbase_iri = "http://hub.test/"\n']
    for source in sources:
        lines.append("[[sources]]\n")
        lines.extend(f"{key} = {json.dumps(value)}\n" for key, value in source.items())
    path = tmp_path / "meahub.toml"
    path.write_text("".join(lines))
    return path


@pytest.fixture
def config(tmp_path: Path, providers: str) -> Path:
    return _config(tmp_path, demo_sources(providers))


def test_harvest_prints_a_summary_and_exits_zero(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["harvest", "--config", str(config)]) == 0
    out = capsys.readouterr().out
    assert "harvest summary" in out
    for name in ("demo-brs", "demo-cms", "demo-cbd"):
        assert name in out
    assert out.count(" ok ") == len(demo_sources("http://x"))


def test_second_harvest_reports_everything_unchanged(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    main(["harvest", "--config", str(config), "--source", "demo-cbd"])
    capsys.readouterr()
    assert main(["harvest", "--config", str(config), "--source", "demo-cbd"]) == 0
    row = next(line for line in capsys.readouterr().out.splitlines() if "demo-cbd" in line)
    cells = [c.strip() for c in row.split("│") if c.strip()]
    assert cells[1:7] == ["ok", "0", "0", cells[4], "0", "0"] and int(cells[4]) > 0


def test_query_csv_and_status_json(
    config: Path, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    main(["harvest", "--config", str(config)])
    capsysbinary.readouterr()
    query = "PREFIX mea: <https://w3id.org/mea/ontology#> SELECT (COUNT(*) AS ?n) WHERE { ?d a mea:Decision }"
    assert main(["query", "--config", str(config), query, "--format", "csv"]) == 0
    rows = list(csv.reader(io.StringIO(capsysbinary.readouterr().out.decode())))
    assert rows[0] == ["n"] and int(rows[1][0]) > 50
    assert main(["status", "--config", str(config), "--json"]) == 0
    sources = json.loads(capsysbinary.readouterr().out)["sources"]
    assert set(sources) == {s["name"] for s in demo_sources("http://x")}
    assert all(s["status"] == "ok" and s["history"][0]["status"] == "ok" for s in sources.values())


def test_query_from_a_file_and_syntax_errors(
    config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    query = tmp_path / "q.rq"
    query.write_text("ASK { ?s ?p ?o }")
    assert main(["query", "--config", str(config), str(query)]) == 0
    assert '"boolean":true' in capsys.readouterr().out.replace(" ", "")
    assert main(["query", "--config", str(config), "SELEC nonsense"]) == 2
    assert "error" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("fmt", "marker"),
    [("nquads", b"> ."), ("trig", b"> {"), ("turtle", b"@prefix mea:"), ("jsonld", b'"@id"')],
)
def test_export_formats(config: Path, tmp_path: Path, fmt: str, marker: bytes) -> None:
    main(["harvest", "--config", str(config), "--source", "demo-brs"])
    out = tmp_path / f"dump.{fmt}"
    assert main(["export", "--config", str(config), "--format", fmt, "--output", str(out)]) == 0
    data = out.read_bytes()
    assert b"ontology#Decision" in data or b"mea:Decision" in data
    assert marker in data


def test_remap_command(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    main(["harvest", "--config", str(config), "--source", "demo-brs"])
    capsys.readouterr()
    assert main(["remap", "--config", str(config), "--source", "demo-brs"]) == 0
    assert "demo-brs" in capsys.readouterr().out


def test_unreachable_source_gives_a_non_zero_exit(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = _config(
        tmp_path,
        [
            {
                "name": "down",
                "kind": "informea-odata",
                "url": "http://127.0.0.1:9/informea.svc",
                "retries": 0,
            }
        ],
    )
    assert main(["harvest", "--config", str(config)]) == 1
    assert "FAILED" in capsys.readouterr().out


def test_bad_config_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = _config(tmp_path, [{"name": "x", "kind": "nope", "url": "http://a.test/"}])
    assert main(["harvest", "--config", str(config)]) == 2
    assert "unknown kind" in capsys.readouterr().err


def test_unknown_source_name(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["harvest", "--config", str(config), "--source", "nope"]) == 2
    assert "unknown source 'nope'" in capsys.readouterr().err


def test_link_command(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    main(["harvest", "--config", str(config), "--source", "demo-cms"])
    capsys.readouterr()
    assert main(["link", "--config", str(config), "--threshold", "0.6"]) == 0
    assert "inferred target links (threshold 0.6" in capsys.readouterr().out
    assert main(["link", "--config", str(config), "--threshold", "2"]) == 2


def _decisions_and_quads(config: Path, capsysbinary: pytest.CaptureFixture[bytes]) -> list[str]:
    query = (
        "PREFIX mea: <https://w3id.org/mea/ontology#> SELECT (COUNT(DISTINCT ?d) AS ?n) "
        "(COUNT(*) AS ?q) WHERE { GRAPH ?g { ?d a mea:Decision ; ?p ?o } }"
    )
    capsysbinary.readouterr()
    assert main(["query", "--config", str(config), query, "--format", "csv"]) == 0
    return list(csv.reader(io.StringIO(capsysbinary.readouterr().out.decode())))[1]


def test_sources_harvested_in_parallel_reach_the_same_store(
    tmp_path: Path, providers: str, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    """``[harvest] parallel_sources = 3``: the runs overlap, their commits land in turn, and
    the store, the reports and a second (no-change) harvest are as with one at a time."""
    (tmp_path / "one").mkdir()
    (tmp_path / "three").mkdir()
    sequential = _config(tmp_path / "one", demo_sources(providers))
    sequential.write_text(sequential.read_text() + "[harvest]\nparallel_sources = 1\n")
    parallel = _config(tmp_path / "three", demo_sources(providers))
    parallel.write_text(parallel.read_text() + "[harvest]\nparallel_sources = 3\n")
    assert main(["harvest", "--config", str(sequential), "--json"]) == 0
    capsysbinary.readouterr()
    assert main(["harvest", "--config", str(parallel), "--json"]) == 0
    first = json.loads(capsysbinary.readouterr().out)
    assert _decisions_and_quads(parallel, capsysbinary) == _decisions_and_quads(
        sequential, capsysbinary
    )
    assert main(["harvest", "--config", str(parallel), "--json"]) == 0
    second = json.loads(capsysbinary.readouterr().out)
    added = {name: r["counts"]["added"] for name, r in first["sources"].items()}
    assert len(added) == len(demo_sources(providers)) and all(added.values())
    assert {name: r["counts"]["unchanged"] for name, r in second["sources"].items()} == added
