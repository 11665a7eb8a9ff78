"""Value objects of a harvest run: outcomes, failures and the per-source report."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

__all__ = ["RecordFailure", "RecordOutcome", "RunStatus", "SourceReport"]


class RecordOutcome(StrEnum):
    ADDED = "added"
    UPDATED = "updated"
    UNCHANGED = "unchanged"
    DELETED = "deleted"
    FAILED = "failed"


class RunStatus(StrEnum):
    OK = "ok"  # every listing completed; failed records (if any) are reported
    FAILED = "failed"  # the source could not be harvested; the store kept its previous state
    CANCELLED = "cancelled"  # stopped past max_run_seconds; the store kept its previous state
    INTERRUPTED = "interrupted"  # stopped by a shutdown (or a crash); store kept its state


@dataclass(frozen=True, kw_only=True)
class RecordFailure:
    """A record that was reported and skipped: where, which, at what stage and why."""

    entity: str
    record_id: str | None
    url: str
    stage: str
    message: str

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass(kw_only=True)
class SourceReport:
    """What one run did to one source."""

    source: str
    run_id: str
    started: datetime
    ended: datetime | None = None
    status: RunStatus = RunStatus.OK
    counts: Counter[str] = field(default_factory=Counter)
    failures: list[RecordFailure] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    error: str | None = None
    requests: int = 0
    withheld_deletions: int = 0

    def count(self, outcome: RecordOutcome, n: int = 1) -> None:
        self.counts[outcome.value] += n

    def fail(self, failure: RecordFailure) -> None:
        self.failures.append(failure)
        self.count(RecordOutcome.FAILED)

    @property
    def changed(self) -> int:
        return sum(
            self.counts[o.value]
            for o in (RecordOutcome.ADDED, RecordOutcome.UPDATED, RecordOutcome.DELETED)
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "run_id": self.run_id,
            "started": self.started.isoformat(),
            "ended": self.ended.isoformat() if self.ended else None,
            "status": self.status.value,
            "counts": {o.value: self.counts[o.value] for o in RecordOutcome},
            "failures": [f.to_dict() for f in self.failures],
            "notes": list(self.notes),
            "error": self.error,
            "requests": self.requests,
            "withheld_deletions": self.withheld_deletions,
        }
