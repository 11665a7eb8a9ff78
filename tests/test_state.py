"""The run ledger: what a run saw and wrote, kept in SQLite, folded into the state at commit."""

from __future__ import annotations

from pathlib import Path

import pytest

from harvester.state import HarvestState, KnownRecord, RunLedger


def _record(i: int, digest: str = "h1") -> KnownRecord:
    return KnownRecord("Decisions", f"d{i:03}", f"http://hub.test/graph/d{i:03}", digest)


def _run(state: HarvestState, written: list[KnownRecord], seen_at: str = "t1") -> None:
    ledger = state.ledger("src")
    for record in written:
        ledger.see(record.entity, record.record_id)
        ledger.written(record)
    ledger.commit([], seen_at)


def test_a_committed_run_is_known_to_the_next(tmp_path: Path) -> None:
    state = HarvestState(tmp_path)
    _run(state, [_record(i) for i in range(5)])
    ledger = state.ledger("src")
    assert ledger.known_count() == 5
    assert ledger.known("Decisions", "d003") == _record(3)
    assert ledger.known("Decisions", "nope") is None
    assert state.ledger("other").known_count() == 0


def test_known_many_finds_the_known_ids_of_a_batch_larger_than_one_query(
    tmp_path: Path,
) -> None:
    state = HarvestState(tmp_path)
    _run(state, [_record(i) for i in range(0, 1200, 2)])  # even ids are known
    ledger = state.ledger("src")
    asked = [f"d{i:03}" for i in range(1200)]
    found = ledger.known_many("Decisions", asked)
    assert sorted(found) == sorted(f"d{i:03}" for i in range(0, 1200, 2))
    assert found["d1198"] == _record(1198)
    assert ledger.known_many("Reports", asked) == {}
    assert ledger.known_many("Decisions", []) == {}


def test_unseen_streams_in_pages_while_records_are_marked_seen(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(RunLedger, "_FLUSH", 3)
    state = HarvestState(tmp_path)
    _run(state, [_record(i) for i in range(10)])
    ledger = state.ledger("src")
    for i in (1, 4, 5, 9):
        ledger.see("Decisions", f"d{i:03}")
    unseen = []
    for record in ledger.unseen("Decisions"):
        unseen.append(record.record_id)
        ledger.see("Decisions", record.record_id)  # as the incremental probe does
    assert unseen == [f"d{i:03}" for i in (0, 2, 3, 6, 7, 8)]
    assert list(ledger.unseen("Decisions")) == []


def test_an_uncommitted_run_changes_nothing_and_the_next_starts_clean(tmp_path: Path) -> None:
    state = HarvestState(tmp_path)
    _run(state, [_record(1)])
    ledger = state.ledger("src")
    ledger.see("Decisions", "d001")
    ledger.written(_record(1, "h2"))
    ledger.close()  # the run failed
    fresh = state.ledger("src")
    assert fresh.known("Decisions", "d001") == _record(1)
    assert [r.record_id for r in fresh.unseen("Decisions")] == ["d001"]


def test_commit_replaces_written_records_and_deletes_the_gone(tmp_path: Path) -> None:
    state = HarvestState(tmp_path)
    _run(state, [_record(i) for i in range(3)])
    ledger = state.ledger("src")
    ledger.written(_record(1, "h2"))
    ledger.commit([_record(2)], "t2")
    after = state.ledger("src")
    assert after.known("Decisions", "d001") == _record(1, "h2")
    assert after.known("Decisions", "d002") is None
    assert after.known_count() == 2
