"""``make bench`` (second command): linking throughput of the lexical linker.

Generates decisions with :func:`harvester.demo.generate_dataset`, splits their content into
paragraphs with :func:`harvester.linking.split_paragraphs`, tops the paragraphs up with the
labelled evaluation texts (each with a small variation, so caching cannot help) to
``--paragraphs`` (default 50,000), links them all with :meth:`Linker.link` and writes paragraphs/s
and total seconds to ``bench/results/linking.md`` and ``.json``. Target: under 60 s for 50,000
paragraphs on a 2-core machine.

    python -m bench.linking_bench [--paragraphs 50000] [--threshold 0.5]
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path
from typing import Any

from harvester.demo import generate_dataset
from harvester.linking import Linker, split_paragraphs
from harvester.linking.evaluate import HOLDOUT_SET, TUNING_SET, load_set

RESULTS = Path(__file__).parent / "results"
TREATIES = ("cbd", "cms", "ramsar", "cites", "whc", "itpgrfa")
TARGET_SECONDS = 60.0


def demo_paragraphs(decisions: int) -> list[str]:
    """The paragraphs of ``decisions`` generated demo decisions (English content)."""
    dataset = generate_dataset(treaties=TREATIES, seed=11, decisions=decisions, meetings=40,
                               contacts=0, reports=0, plans=0)  # fmt: skip
    texts: list[str] = []
    for record in dataset["Decisions"].values():
        for content in record["content"]:
            texts.extend(p.text for p in split_paragraphs(content["value"]))
    return texts


def corpus(count: int) -> list[str]:
    """``count`` paragraphs: demo decisions' paragraphs, then varied evaluation texts."""
    texts = demo_paragraphs(max(count // 12, 1))[: count // 2]
    labelled = [e.text for path in (TUNING_SET, HOLDOUT_SET) for e in load_set(path)]
    n = 0
    while len(texts) < count:
        texts.append(f"{labelled[n % len(labelled)]} (variant {n}, paragraph {n % 97})")
        n += 1
    return texts[:count]


def measure(count: int, threshold: float) -> dict[str, Any]:
    """Link ``count`` paragraphs; time the linker's construction and the linking apart."""
    return measure_texts(corpus(count), threshold)


def measure_texts(texts: list[str], threshold: float) -> dict[str, Any]:
    """Link every paragraph of ``texts``; time the linker's construction and the linking apart."""
    started = time.perf_counter()
    linker = Linker.from_ontology()
    built = time.perf_counter()
    links = sum(len(linker.link(text, threshold)) for text in texts)
    done = time.perf_counter()
    seconds = done - built
    return {
        "paragraphs": len(texts), "links": links, "threshold": threshold,
        "load_seconds": round(built - started, 3), "seconds": round(seconds, 3),
        "paragraphs_per_second": round(len(texts) / seconds), "target_seconds": TARGET_SECONDS,
        "meets_target": seconds + (built - started) < TARGET_SECONDS,
        "python": platform.python_version(), "machine": platform.machine(),
    }  # fmt: skip


def write_results(result: dict[str, Any], command: str) -> None:
    """``bench/results/linking.json`` and ``linking.md``."""
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "linking.json").write_text(
        json.dumps({"command": command, **result}, indent=2) + "\n"
    )
    (RESULTS / "linking.md").write_text(
        "# Linking benchmark\n\n"
        f"Command: `{command}`\n\n"
        "| paragraphs | links kept | linker load s | linking s | paragraphs/s | target |\n"
        "|---:|---:|---:|---:|---:|---|\n"
        f"| {result['paragraphs']} | {result['links']} | {result['load_seconds']} | "
        f"{result['seconds']} | {result['paragraphs_per_second']} | "
        f"< {TARGET_SECONDS:.0f} s: {'met' if result['meets_target'] else 'MISSED'} |\n\n"
        f"Python {result['python']} on {result['machine']}, one process (one core), method "
        "`lexical-v1`, threshold " + str(result["threshold"]) + ".\n"
    )


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and write its results; exit 1 when the target is missed."""
    parser = argparse.ArgumentParser(prog="python -m bench.linking_bench")
    parser.add_argument("--paragraphs", type=int, default=50_000)
    parser.add_argument("--threshold", type=float, default=0.5)
    args = parser.parse_args(argv)
    result = measure(args.paragraphs, args.threshold)
    command = "make bench  (python -m bench.linking_bench " + " ".join(argv or sys.argv[1:]) + ")"
    write_results(result, command)
    print(json.dumps(result, indent=2))
    return 0 if result["meets_target"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
