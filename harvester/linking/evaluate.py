"""``python -m harvester.linking.evaluate``: precision, recall and F1 of the linker, per set.

Each set is JSON Lines, one paragraph a line: ``{"id", "treaty", "text", "targets": [ints]}``.
Without ``--set`` both bundled sets are scored: the tuning set ``tests/data/linking-eval.jsonl``
(the linker's lexicon was tuned on it) and the held-out set ``tests/data/linking-holdout.jsonl``
(never used for tuning). Prints micro precision / recall / F1 and per-target P/R/F1 and support.

    python -m harvester.linking.evaluate [--set FILE]... [--threshold T] [--errors]
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ..paths import PROJECT_ROOT
from .linker import DEFAULT_THRESHOLD, Linker

__all__ = ["Counts", "Example", "Report", "evaluate", "load_set", "main"]

TUNING_SET = PROJECT_ROOT / "tests" / "data" / "linking-eval.jsonl"
HOLDOUT_SET = PROJECT_ROOT / "tests" / "data" / "linking-holdout.jsonl"


@dataclass(frozen=True, slots=True)
class Example:
    """One labelled paragraph."""

    id: str
    treaty: str
    text: str
    targets: frozenset[int]


@dataclass(slots=True)
class Counts:
    """True positives, false positives and false negatives, with the derived scores."""

    tp: int = 0
    fp: int = 0
    fn: int = 0

    @property
    def precision(self) -> float:
        """tp / (tp + fp); 1 when nothing was predicted."""
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        """tp / (tp + fn); 1 when nothing was expected."""
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0

    @property
    def f1(self) -> float:
        """Harmonic mean of precision and recall."""
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    @property
    def support(self) -> int:
        """How many paragraphs carry the target in the gold labels."""
        return self.tp + self.fn


@dataclass(slots=True)
class Report:
    """Scores of one run over one set."""

    name: str
    threshold: float
    micro: Counts = field(default_factory=Counts)
    per_target: dict[int, Counts] = field(default_factory=dict)
    errors: list[tuple[Example, frozenset[int]]] = field(default_factory=list)
    empty_correct: int = 0
    empty_total: int = 0


def load_set(path: Path) -> list[Example]:
    """Read a JSON Lines evaluation set."""
    examples = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            row = json.loads(line)
            examples.append(
                Example(row["id"], row["treaty"], row["text"], frozenset(row["targets"]))
            )
    return examples


def evaluate(
    linker: Linker, examples: Iterable[Example], threshold: float, name: str = "set"
) -> Report:
    """Link every example at ``threshold`` and count against its gold targets."""
    report = Report(name, threshold, per_target={t: Counts() for t in range(1, 21)})
    for example in examples:
        predicted = frozenset(s.target for s in linker.link(example.text, threshold))
        _count(report, example, predicted)
    return report


def _count(report: Report, example: Example, predicted: frozenset[int]) -> None:
    gold = example.targets
    for target, counts in report.per_target.items():
        counts.tp += target in gold and target in predicted
        counts.fp += target in predicted and target not in gold
        counts.fn += target in gold and target not in predicted
    report.micro.tp += len(gold & predicted)
    report.micro.fp += len(predicted - gold)
    report.micro.fn += len(gold - predicted)
    report.empty_total += not gold
    report.empty_correct += not gold and not predicted
    if predicted != gold:
        report.errors.append((example, predicted))


def render(report: Report, errors: bool = False) -> str:
    """A plain-text report: micro scores, then one line per target, then (optionally) errors."""
    m = report.micro
    lines = [
        f"== {report.name} (threshold {report.threshold}) ==",
        f"micro  P {m.precision:.3f}  R {m.recall:.3f}  F1 {m.f1:.3f}  "
        f"(tp {m.tp}, fp {m.fp}, fn {m.fn})",
        f"paragraphs with no target left empty: {report.empty_correct}/{report.empty_total}",
        "target    P      R      F1   support",
    ]
    for target, c in report.per_target.items():
        lines.append(
            f"  {target:>2}   {c.precision:.3f}  {c.recall:.3f}  {c.f1:.3f}  {c.support:>4}"
        )
    if errors:
        lines += [_error_line(example, predicted) for example, predicted in report.errors]
    return "\n".join(lines) + "\n"


def _error_line(example: Example, predicted: frozenset[int]) -> str:
    return f"  {example.id}: gold {sorted(example.targets)} got {sorted(predicted)}  {example.text}"


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Command-line options (see the module docstring)."""
    parser = argparse.ArgumentParser(prog="python -m harvester.linking.evaluate")
    parser.add_argument(
        "--set",
        dest="sets",
        action="append",
        type=Path,
        help="JSON Lines set to score (repeatable; default: tuning + held-out)",
    )
    parser.add_argument("--threshold", type=float, default=DEFAULT_THRESHOLD)
    parser.add_argument("--errors", action="store_true", help="list misclassified paragraphs")
    return parser.parse_args(argv)  # fmt: skip


def main(argv: Sequence[str] | None = None) -> int:
    """Score each set and write the reports to standard output."""
    args = parse_args(argv)
    linker = Linker.from_ontology()
    sets: list[Path] = args.sets or [p for p in (TUNING_SET, HOLDOUT_SET) if p.exists()]
    for path in sets:
        report = evaluate(linker, load_set(path), args.threshold, path.name)
        sys.stdout.write(render(report, args.errors))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
