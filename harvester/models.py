"""Value objects of a harvest run: outcomes, failures and the per-source report."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

__all__ = [
    "RecordFailure",
    "RecordOutcome",
    "RunStatus",
    "SourceReport",
    "WithheldDeletions",
    "WithheldReason",
]


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


class WithheldReason(StrEnum):
    """Why a run kept records it could not confirm at the source (deletions withheld)."""

    INCOMPLETE_LISTING = "incomplete-listing"  # fewer distinct rows than the provider counts
    UNCERTAIN_LISTING = "uncertain-listing"  # pages repeat and the provider gives no count
    NOT_SERVED = "not-served"  # the entity set was refused (404/400...), records stored
    NO_MAPPING = "no-mapping"  # an entity set without a mapping, records stored
    UNCONFIRMED_PROBES = "unconfirmed-probes"  # incremental: key lookups neither 2xx nor 404
    MASS_DELETION_GUARD = "mass-deletion-guard"  # more than max_delete_share would go


@dataclass(frozen=True, kw_only=True)
class WithheldDeletions:
    """Deletions one run did not make, and why: ``count`` records would have been deleted
    (None: unknown), of entity set ``entity`` (None: the whole source)."""

    #: a :class:`WithheldReason` (kept as text: a newer server may send others)
    reason: str
    message: str
    count: int | None
    entity: str | None = None

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> WithheldDeletions:
        """Read back :meth:`to_dict`."""
        count = data.get("count")
        return cls(
            reason=str(data.get("reason") or ""),
            message=str(data.get("message") or ""),
            count=int(count) if count is not None else None,
            entity=data.get("entity"),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "reason": str(self.reason),
            "entity": self.entity,
            "count": self.count,
            "message": self.message,
        }


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
    #: every withholding of deletions in this run (empty: none withheld)
    withheld: list[WithheldDeletions] = field(default_factory=list)
    #: runs in a row (this one included) that withheld deletions; set when the run ends
    withheld_runs: int = 0
    #: ``withheld_runs`` reached the configured ``flag_after_withheld_runs``
    withheld_flagged: bool = False
    #: the run compared the source's listings with the store (a harvest that got that far)
    checked_deletions: bool = False

    @property
    def withheld_deletions(self) -> int:
        """Records whose deletion this run withheld, as far as known (see :attr:`withheld`)."""
        return sum(w.count or 0 for w in self.withheld)

    def withhold(self, withheld: WithheldDeletions) -> None:
        self.withheld.append(withheld)

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
            "withheld": [w.to_dict() for w in self.withheld],
            "withheld_runs": self.withheld_runs,
            "withheld_flagged": self.withheld_flagged,
            "checked_deletions": self.checked_deletions,
        }
