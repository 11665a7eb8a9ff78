"""``make bench`` (pages part, issue 16): the analyst pages through ``meahub serve`` over HTTP.

For each page kind (decision, gap matrix, its CSV, Aichi target, list of targets, country,
treaty): median and p95 of sequential keep-alive GETs after warm-up requests (the first request
after a harvest computes what the pages cache per store generation; it is reported apart), both
as the client saw it and as the server's ``Server-Timing`` says. The records are picked as the
heaviest of their kind: the decision with the most paragraphs, the target linked to the most
decisions, the country with the most records, the treaty with the most decisions. Then one
screenshot per page kind (headless chromium, when Playwright and chromium are there) under
``bench/results/pages/``.

Targets (issue 16): gap matrix and target page <= 200 ms, decision page <= 50 ms, server time.

    python -m bench.pages_bench [--decisions 5000] [--runs 30]

Alone it harvests a generated dataset first (as ``bench.endpoint_bench`` does); the suite
(``bench.suite``) calls :func:`measure_store` on the store it harvested.
"""

from __future__ import annotations

import argparse
import http.client
import json
import re
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from bench import endpoint_bench

RESULTS = Path(__file__).parent / "results"
SCREENSHOTS = RESULTS / "pages"
#: server-time targets of issue 16, in milliseconds
TARGETS_MS = {"gaps": 200.0, "target": 200.0, "decision": 50.0}

_MEA = "PREFIX mea: <https://w3id.org/mea/ontology#>\n"
_PICKS = {
    "decision": _MEA + "SELECT ?x (COUNT(?p) AS ?n) WHERE { ?x a mea:Decision ; mea:paragraph ?p } "
    "GROUP BY ?x ORDER BY DESC(?n) ?x LIMIT 1",
    "target": _MEA + "SELECT ?x (COUNT(DISTINCT ?d) AS ?n) WHERE { ?d a mea:Decision . "
    "{ ?d mea:aichiTarget ?x } UNION { ?d mea:paragraph/mea:aichiTarget ?x } } "
    "GROUP BY ?x ORDER BY DESC(?n) ?x LIMIT 1",
    "country": _MEA
    + "SELECT ?x (COUNT(*) AS ?n) WHERE { ?r mea:country ?x } GROUP BY ?x ORDER BY DESC(?n) ?x "
    "LIMIT 1",
    "treaty": _MEA
    + "SELECT ?x (COUNT(*) AS ?n) WHERE { ?d a mea:Decision ; mea:treaty ?x } GROUP BY ?x "
    "ORDER BY DESC(?n) ?x LIMIT 1",
}


def _pick(address: tuple[str, int], kind: str) -> str:
    conn = http.client.HTTPConnection(*address, timeout=600)
    conn.request(
        "GET",
        "/sparql?" + urlencode({"query": _PICKS[kind]}),
        headers={"Accept": endpoint_bench.ACCEPT},
    )
    body = conn.getresponse().read()
    conn.close()
    return str(json.loads(body)["results"]["bindings"][0]["x"]["value"])


def page_paths(address: tuple[str, int], base_iri: str) -> dict[str, str]:
    """The path of each page kind, for the heaviest record of its kind."""
    decision = _pick(address, "decision")
    target = _pick(address, "target").rsplit("-", 1)[-1]
    country = _pick(address, "country").rsplit("/", 1)[-1]
    treaty = _pick(address, "treaty").rsplit("/", 1)[-1]
    local = decision[len(base_iri) - 1 :] if decision.startswith(base_iri) else None
    return {
        "decision": local or "/resource?iri=" + quote(decision, safe=""),
        "gaps": "/gaps",
        "gaps-csv": "/gaps?format=csv",
        "target": f"/aichi/target-{target}",
        "targets": "/targets",
        "country": f"/country/{country}",
        "treaty": f"/treaty/{treaty}",
    }


def _get(conn: http.client.HTTPConnection, path: str) -> tuple[float, float | None, int]:
    """Client milliseconds, server milliseconds (``Server-Timing``), body bytes."""
    started = time.perf_counter()
    conn.request("GET", path, headers={"Accept": "text/html", "Accept-Language": "en"})
    response = conn.getresponse()
    body = response.read()
    client = (time.perf_counter() - started) * 1000
    if response.status != 200:
        raise RuntimeError(f"GET {path}: HTTP {response.status}: {body[:300]!r}")
    return client, _server_ms(response.getheader("Server-Timing")), len(body)


def _server_ms(header: str | None) -> float | None:
    for part in (header or "").split(","):
        for item in part.split(";"):
            key, _, value = item.strip().partition("=")
            if key == "dur":
                try:
                    return float(value)
                except ValueError:
                    return None
    return None


def _stats(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {
        "median_ms": statistics.median(ordered),
        "p95_ms": ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))],
    }


def measure_page(address: tuple[str, int], path: str, runs: int) -> dict[str, Any]:
    """First request (cold for this store generation), 2 more warm-up, then ``runs`` timed."""
    conn = http.client.HTTPConnection(*address, timeout=600)
    first, first_server, size = _get(conn, path)
    for _ in range(2):
        _get(conn, path)
    client: list[float] = []
    server: list[float] = []
    for _ in range(runs):
        c, s, size = _get(conn, path)
        client.append(c)
        if s is not None:
            server.append(s)
    conn.close()
    result: dict[str, Any] = {"path": path, "bytes": size, "first_ms": first}
    result |= {"first_server_ms": first_server, "client": _stats(client)}
    result["server"] = _stats(server) if server else None
    return result


def measure(address: tuple[str, int], base_iri: str, runs: int) -> dict[str, Any]:
    """Every page kind, then the screenshots."""
    paths = page_paths(address, base_iri)
    pages = {kind: measure_page(address, path, runs) for kind, path in paths.items()}
    shots = screenshots(f"http://{address[0]}:{address[1]}", paths)
    return {"pages": pages, "verdicts": verdicts(pages), "screenshots": shots}


def verdicts(pages: dict[str, Any]) -> list[dict[str, Any]]:
    """Median server time per page kind against the issue's targets."""
    rows = []
    for kind, page in pages.items():
        timing = page["server"] or page["client"]
        value = timing["median_ms"]
        goal = TARGETS_MS.get(kind)
        rows.append(
            {
                "name": f"pages: {kind} median server time",
                "value": value,
                "unit": "ms",
                "target": f"<= {goal:.0f}" if goal else "-",
                "met": (value <= goal) if goal else None,
            }
        )
    return rows


def screenshots(base_url: str, paths: dict[str, str], directory: Path = SCREENSHOTS) -> list[str]:
    """One PNG per page kind (its top, 1280 x 1600); none (with a note) without Playwright or
    chromium."""
    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        print("[pages] Playwright missing: no screenshots", file=sys.stderr)
        return []
    if not Path(chromium).exists():
        print(f"[pages] no chromium at {chromium}: no screenshots", file=sys.stderr)
        return []
    directory.mkdir(parents=True, exist_ok=True)
    saved = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium, args=["--headless", "--no-sandbox", "--disable-gpu"]
        )
        page = browser.new_page(viewport={"width": 1280, "height": 1600})
        for kind, path in paths.items():
            if kind.endswith("-csv"):
                continue
            page.goto(base_url + path, timeout=600_000)
            target = directory / f"{kind}.png"
            page.screenshot(path=str(target))  # the first 1600 px: a long page is megabytes
            saved.append(str(target.relative_to(RESULTS.parent.parent)))
        browser.close()
    return saved


def measure_store(store_dir: Path, runs: int) -> dict[str, Any]:
    """``meahub serve`` over the store whose config is ``store_dir/meahub.toml`` (as the
    endpoint bench writes it), measured by :func:`measure`."""
    config = store_dir / "meahub.toml"
    base_iri = endpoint_bench._settings(config).server.base_iri
    port = endpoint_bench._free_port()
    command = [str(endpoint_bench.BIN / "meahub"), "-v", "serve", "--config", str(config)]
    command += ["--no-scheduler", "--port", str(port)]
    log = store_dir / "pages.log"
    with endpoint_bench.server(command, port, log) as address:
        up = time.perf_counter()
        warm = wait_warmed(log)
        result = measure(address, base_iri, runs)
    result["warm"] = {"seconds": warm, "after_up_seconds": time.perf_counter() - up}
    return result


_WARMED = re.compile(r"pages warmed in ([0-9.]+) s")


def wait_warmed(log: Path, timeout: float = 600.0) -> float | None:
    """The seconds the server's warmer took over the store it opened (``sparql.pages.warm``
    logs them), once it has: the pages are then measured as the first reader after a harvest
    finds them. None (measured cold) when the log never says so within ``timeout``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = _WARMED.search(log.read_text(errors="replace"))
        if found:
            return float(found.group(1))
        time.sleep(0.2)
    print("[pages] the server never said its pages were warmed", file=sys.stderr)
    return None


# -- the report ----------------------------------------------------------------------------------


def report_lines(result: dict[str, Any]) -> list[str]:
    """The table of :func:`measure`'s results (also a section of the suite's report)."""
    lines = [
        "| page | path | bytes | first request ms (server) | median ms server / client "
        "| p95 ms server / client | target |",
        "|---|---|---:|---:|---:|---:|---|",
    ]
    for kind, page in result["pages"].items():
        server, client = page["server"] or {}, page["client"]
        goal = TARGETS_MS.get(kind)
        first_server = page["first_server_ms"]
        first = f"{page['first_ms']:.1f}" + (f" ({first_server:.1f})" if first_server else "")
        lines.append(
            f"| {kind} | `{page['path'][:60]}` | {page['bytes']:,} | {first} "
            f"| {server.get('median_ms', float('nan')):.1f} / {client['median_ms']:.1f} "
            f"| {server.get('p95_ms', float('nan')):.1f} / {client['p95_ms']:.1f} "
            f"| {f'<= {goal:.0f} ms' if goal else '-'} |"
        )
    warm = result.get("warm") or {}
    if warm.get("seconds") is not None:
        lines += [
            "",
            f"Warming: the server computed the new generation's gap and target data on its own "
            f"thread in {warm['seconds']:.2f} s, before the first request above.",
        ]
    if result["screenshots"]:
        lines += ["", "Screenshots: " + ", ".join(f"`{s}`" for s in result["screenshots"]) + "."]
    return lines


def report_markdown(result: dict[str, Any], command: str) -> str:
    data = result.get("data", {})
    lines = [
        "# Analyst pages bench (issue 16)",
        "",
        f"Command: `{command}`. Data: {data.get('records', '?'):,} records, "
        f"{data.get('quads', '?'):,} quads."
        if data
        else f"Command: `{command}`.",
        "",
        *report_lines(result),
        "",
        "Server time is the `Server-Timing` the page sets (rendering and its store reads); "
        "client time adds HTTP over loopback. The first request after a harvest computes what "
        "the pages keep per store generation (gap counts, a target's linked decisions), unless "
        "the server's warmer did it first (it does, on its own thread, for every new generation; "
        "the bench waits for it).",
    ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.pages_bench", description=__doc__)
    parser.add_argument("--decisions", type=int, default=5000, help="generated decisions")
    parser.add_argument("--runs", type=int, default=30, help="timed requests per page")
    parser.add_argument("--results", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="meahub-pages-bench-") as tmp:
        workdir = Path(tmp)
        _, _, facts = endpoint_bench.harvest(workdir, args.decisions)
        result = measure_store(workdir, args.runs)
    result["data"] = facts
    args.results.mkdir(parents=True, exist_ok=True)
    (args.results / "pages.json").write_text(json.dumps(result, indent=2) + "\n")
    command = "python -m bench.pages_bench " + " ".join(sys.argv[1:] if argv is None else argv)
    markdown = report_markdown(result, command.strip())
    (args.results / "pages.md").write_text(markdown)
    print(markdown)


if __name__ == "__main__":
    main()
