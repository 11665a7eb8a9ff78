"""What an operator reads from ``meahub``, run as a real process through a pipe (as in cron or a
log) and on a narrow pseudo-terminal: tables never cut, bracketed text printed as sent, JSON
reports, user-facing help, and a no-configuration message that names what was looked for."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from harvester.demo import ODataProvider
from harvester.demo.app import serve_providers
from harvester.service.demo_run import demo_server

from .conftest import small_dataset

LONG_NAME = "a-rather-long-source-name-of-forty-chars"
SUMMARY_HEADERS = ("source", "status", "added", "updated", "unchanged", "deleted", "failed")
STATUS_HEADERS = ("source", "last run", "status", "unchanged", "failing", "next run", "error")
COMMANDS = ("harvest", "serve", "query", "export", "status", "remap", "link", "demo")
#: An id a provider may send: markup that would hide text, or make rich raise, if interpreted.
EVIL_ID = "[/][bold]evil[/x]"
ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Run:
    code: int
    out: str
    err: str


def meahub(args: Sequence[str], cwd: Path, **env: str) -> Run:
    """``python -m harvester.service.cli ARGS`` in ``cwd``, stdout and stderr pipes (not a
    terminal); ``COLUMNS=80`` as a cron job or CI runner may have it."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith("MEAHUB_")}
    environ.update({"COLUMNS": "80", "PYTHONPATH": str(ROOT), **env})
    done = subprocess.run(
        [sys.executable, "-m", "harvester.service.cli", *args],
        cwd=cwd,
        env=environ,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    return Run(done.returncode, done.stdout, done.stderr)


def write_config(directory: Path, sources: list[dict[str, Any]], extra: str = "") -> Path:
    lines = ['[store]\npath = "store"\n', '[server]\nbase_iri = "http://hub.test/"\n', extra]
    for source in sources:
        lines.append("[[sources]]\n")
        lines.extend(f"{key} = {json.dumps(value)}\n" for key, value in source.items())
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "meahub.toml"
    path.write_text("".join(lines))
    return path


def cells(line: str) -> list[str]:
    return [c.strip() for c in re.split(r"[│┃]", line)[1:-1]]


def table_rows(text: str) -> list[list[str]]:
    """The rows of the (one) box table in ``text``, header row first."""
    return [cells(line) for line in text.splitlines() if line.startswith(("│", "┃"))]


@pytest.fixture(scope="module")
def providers() -> Iterator[str]:
    with demo_server() as base:
        yield base


def demo_like_sources(base: str) -> list[dict[str, Any]]:
    return [
        {
            "name": LONG_NAME,
            "kind": "informea-odata",
            "url": f"{base}/brs/informea.svc",
            "entities": ["Meetings", "Decisions"],
        },
        {"name": "demo-cbd-dtt", "kind": "cbd-decisions", "url": f"{base}/cbd-dtt"},
    ]


@pytest.fixture(scope="module")
def hub_dir(tmp_path_factory: pytest.TempPathFactory, providers: str) -> Path:
    directory = tmp_path_factory.mktemp("hub")
    write_config(directory, demo_like_sources(providers))
    return directory


@pytest.fixture(scope="module")
def first_harvest(hub_dir: Path) -> Run:
    return meahub(["harvest"], hub_dir)


# -- tables through a pipe --------------------------------------------------------------------


def test_summary_through_a_pipe_keeps_every_header_and_name(first_harvest: Run) -> None:
    assert first_harvest.code == 0, first_harvest.err
    assert "…" not in first_harvest.out + first_harvest.err
    assert not re.search("[\u2800-\u28ff]", first_harvest.err)  # no spinner frames in a pipe
    rows = table_rows(first_harvest.out)
    assert rows[0] == [*SUMMARY_HEADERS, "requests"]
    by_name = {row[0]: row for row in rows[1:]}
    assert set(by_name) == {LONG_NAME, "demo-cbd-dtt"}
    assert by_name[LONG_NAME][1] == "ok" and int(by_name[LONG_NAME][2]) > 0
    widths = {len(line) for line in first_harvest.out.splitlines() if line[:1] in "┏┃┡│└"}
    assert len(widths) == 1 and widths.pop() > 80  # one unwrapped table, wider than COLUMNS


def test_status_through_a_pipe_keeps_every_header_and_name(
    hub_dir: Path, first_harvest: Run
) -> None:
    run = meahub(["status"], hub_dir)
    assert run.code == 0, run.err
    assert "…" not in run.out
    rows = table_rows(run.out)
    assert all(header in rows[0] for header in STATUS_HEADERS)
    assert len(rows) == 3, run.out  # no row folded onto a second line
    assert {row[0] for row in rows[1:]} == {LONG_NAME, "demo-cbd-dtt"}
    assert all(row[rows[0].index("status")] == "ok" for row in rows[1:])


# -- JSON -------------------------------------------------------------------------------------


def test_harvest_json_is_the_report_and_status_json_matches_it(
    tmp_path: Path, providers: str
) -> None:
    down = {
        "name": "down",
        "kind": "informea-odata",
        "url": "http://127.0.0.1:9/informea.svc",
        "retries": 0,
    }
    write_config(tmp_path, [*demo_like_sources(providers), down])
    run = meahub(["harvest", "--json"], tmp_path)
    assert run.code == 1, run.err  # a source failed: the exit status says so, as without --json
    document = json.loads(run.out)  # nothing but the document on stdout
    assert document["ok"] is False
    sources = document["sources"]
    assert list(sources) == [LONG_NAME, "demo-cbd-dtt", "down"]
    for name, report in sources.items():
        assert report["source"] == name and report["run_id"].startswith(name)
        assert set(report["counts"]) == {"added", "updated", "unchanged", "deleted", "failed"}
        assert {"failures", "notes", "error", "started", "ended", "duration_seconds"} <= set(report)
        assert report["duration_seconds"] >= 0
    assert sources[LONG_NAME]["status"] == "ok" and sources[LONG_NAME]["counts"]["added"] > 0
    assert sources["down"]["status"] == "failed" and sources["down"]["error"]
    assert "withheld_deletions" in sources[LONG_NAME]  # the model's fields, as the model has them

    status = meahub(["status", "--json"], tmp_path)
    assert status.code == 0, status.err
    entries = json.loads(status.out)["sources"]
    for name, report in sources.items():
        assert entries[name]["run_id"] == report["run_id"]
        assert entries[name]["status"] == report["status"]
        assert entries[name]["counts"] == report["counts"]


# -- bracketed text ---------------------------------------------------------------------------


def test_config_errors_keep_their_bracketed_names(tmp_path: Path) -> None:
    source = {"name": "x", "kind": "informea-odata", "url": "http://a.test/", "intervl": "6h"}
    write_config(tmp_path, [source])
    run = meahub(["harvest"], tmp_path)
    assert run.code == 2
    assert "error: unknown key(s) in [[sources]] #1: intervl (did you mean interval?)" in run.err
    write_config(tmp_path, [], extra="[harvest]\nmax_delete_shar = 0.5\n")
    run = meahub(["status"], tmp_path)
    assert run.code == 2
    assert "unknown key(s) in [harvest]: max_delete_shar" in run.err


def test_text_a_provider_sends_is_printed_as_sent(tmp_path: Path) -> None:
    data = small_dataset()
    record = dict(next(iter(data["Decisions"].values())))
    data.add("Decisions", {**record, "id": EVIL_ID})

    def build(base: str) -> dict[str, ODataProvider]:
        malformed = {"Decisions": {EVIL_ID: "numeric-title"}}
        url = f"{base}/evil/informea.svc"
        return {"evil": ODataProvider(data, base_url=url, malformed=malformed)}

    with serve_providers(build) as base:
        source = {
            "name": "evil",
            "kind": "informea-odata",
            "url": f"{base}/evil/informea.svc",
            "entities": ["Decisions"],
        }
        write_config(tmp_path, [source])
        run = meahub(["harvest"], tmp_path)
        as_json = meahub(["harvest", "--json", "--full"], tmp_path)
    assert run.code == 0, run.err
    failure_lines = [line for line in run.out.splitlines() if "[map]" in line]
    assert len(failure_lines) == 1
    assert failure_lines[0].startswith(f"evil: Decisions {EVIL_ID} [map] title:")
    assert f"Decisions {EVIL_ID}: title" in run.err  # the warning logged, as logged
    failures = json.loads(as_json.out)["sources"]["evil"]["failures"]
    assert [f["record_id"] for f in failures] == [EVIL_ID]
    assert failures[0]["entity"] == "Decisions" and failures[0]["url"].startswith(base)
    assert "12345" in failures[0]["message"]


# -- no configuration -------------------------------------------------------------------------


def test_without_a_config_file_the_message_names_what_was_looked_for(tmp_path: Path) -> None:
    run = meahub(["harvest"], tmp_path)
    assert run.code == 2
    for looked_for in ("--config", "$MEAHUB_CONFIG", str(tmp_path.resolve() / "meahub.toml")):
        assert looked_for in run.err
    assert "README.md" in run.err and "meahub demo" in run.err
    assert "[]" not in run.err
    assert list(tmp_path.iterdir()) == []  # and no store was created on the way
    run = meahub(["status"], tmp_path)
    assert run.code == 2 and str(tmp_path.resolve() / "meahub.toml") in run.err


def test_named_config_files_that_do_not_exist_say_who_named_them(tmp_path: Path) -> None:
    run = meahub(["harvest"], tmp_path, MEAHUB_CONFIG=str(tmp_path / "nope.toml"))
    assert run.code == 2
    assert f"config file not found: {tmp_path / 'nope.toml'} (given by $MEAHUB_CONFIG)" in run.err
    run = meahub(["harvest", "--config", "other.toml"], tmp_path)
    assert "config file not found: other.toml (given by --config)" in run.err


def test_a_config_without_sources_names_the_file(tmp_path: Path) -> None:
    path = write_config(tmp_path, [])
    run = meahub(["harvest"], tmp_path)
    assert run.code == 2
    assert f"no [[sources]] in {path.resolve()}" in run.err and "README.md" in run.err


# -- help -------------------------------------------------------------------------------------


def _assert_user_facing(text: str) -> None:
    assert "`" not in text and ":func:" not in text and ":mod:" not in text
    assert "nothing else lives here" not in text and "::" not in text


def test_top_level_help_is_for_users_with_an_example_per_command(tmp_path: Path) -> None:
    run = meahub(["--help"], tmp_path)
    assert run.code == 0
    _assert_user_facing(run.out)
    assert "$MEAHUB_CONFIG" in run.out and "meahub.toml" in run.out
    examples = run.out.split("examples:", 1)[1]
    for command in COMMANDS:
        assert re.search(rf"^\s+meahub {command}\b", examples, re.M), command


@pytest.mark.parametrize("command", COMMANDS)
def test_each_command_help_has_a_description_and_an_example(
    command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from harvester.service.cli import main

    with pytest.raises(SystemExit) as exit_:
        main([command, "--help"])
    assert exit_.value.code == 0
    text = capsys.readouterr().out
    _assert_user_facing(text)
    usage, _, rest = text.partition("\n\n")
    description = rest.split("options:", 1)[0]
    assert len(description.split()) >= 8, text
    example = text.split("example:\n", 1)[1].strip().splitlines()
    assert len(example) == 1 and example[0].startswith(f"meahub {command}"), text


# -- a narrow terminal ------------------------------------------------------------------------


def test_on_a_narrow_terminal_nothing_is_cut_either(hub_dir: Path, first_harvest: Run) -> None:
    pty = pytest.importorskip("pty")
    import fcntl
    import struct
    import termios

    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 60, 0, 0))
    environ = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
    environ.update({"PYTHONPATH": str(ROOT), "TERM": "xterm", "NO_COLOR": "1"})
    process = subprocess.Popen(
        [sys.executable, "-m", "harvester.service.cli", "harvest", "--source", LONG_NAME],
        cwd=hub_dir,
        env=environ,
        stdin=follower,
        stdout=follower,
        stderr=follower,
    )
    os.close(follower)
    chunks = []
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # EIO: the process closed the terminal
            break
        if not chunk:
            break
        chunks.append(chunk)
    assert process.wait(timeout=120) == 0
    os.close(leader)
    screen = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]|\r", "", b"".join(chunks).decode())
    assert "…" not in screen
    summary = screen.split("harvest summary", 1)[1]
    assert LONG_NAME in summary
    words = summary.split()
    for header in (*SUMMARY_HEADERS[1:], "requests"):
        assert header in words, summary
