"""The warehouse ledger is a projection of the journal: a slower run's older view never overwrites a newer one."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from pathlib import Path

from orchestration.defs.symbl import ledger
from orchestration.defs.symbl.journal import JournalEntry
from orchestration.defs.warehouse.resource import WarehouseResource


def entry(state: str, updated_at: float, rid: str = "r1") -> JournalEntry:
    return JournalEntry(rid, date(2026, 9, 1), state, "c1", "j1", 1, "boom" if state == "failed" else None,
                        1.0, None, updated_at)  # fmt: skip


def test_an_older_version_projected_later_leaves_the_newer_row(tmp_path: Path) -> None:
    warehouse = WarehouseResource(path=str(tmp_path / "live.duckdb"), analyst_path=str(tmp_path / "a.duckdb"))
    ledger.project(warehouse, [entry("completed", 200.0), entry("in_progress", 50.0, "r2")])
    ledger.project(
        warehouse, [entry("failed", 100.0), entry("completed", 60.0, "r2")]
    )  # run B: stale r1, newer r2
    rows = ledger.load(warehouse, ["r1", "r2"])
    assert (rows["r1"].status, rows["r2"].status) == ("completed", "completed")


def test_ambiguous_submits_show_as_submitted_and_pending_claims_not_at_all(tmp_path: Path) -> None:
    warehouse = WarehouseResource(path=str(tmp_path / "live.duckdb"), analyst_path=str(tmp_path / "a.duckdb"))
    ledger.project(
        warehouse,
        [replace(entry("intent", 1.0), conversation_id=None, job_id=None), entry("pending", 1.0, "r2")],
    )
    rows = ledger.load(warehouse, ["r1", "r2"])
    assert list(rows) == ["r1"] and rows["r1"].status == "submitted"
