"""Failed recordings in any past day are retried on a schedule, bounded by the attempt cap."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import dagster as dg
import pytest

from orchestration.defs.symbl.journal import Journal, journal_path_for, new_owner
from orchestration.defs.symbl.retry_failed import failed_recordings_retry_schedule


def _fail(journal: Journal, rid: str, day: date, times: int) -> None:
    owner = new_owner()
    journal.claim(rid, day, owner)
    for _ in range(times):
        attempt = journal.intent(rid, owner)
        journal.answered(rid, attempt, f"c-{rid}", f"j-{rid}-{attempt}")
        journal.status(rid, attempt, "failed", "Processing failed")
    journal.release(rid, owner)


def test_days_with_retryable_failures_get_a_run_and_exhausted_ones_do_not(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    warehouse = tmp_path / "live.duckdb"
    monkeypatch.setenv("CONVO_INTEL_WAREHOUSE", str(warehouse))
    with Journal(journal_path_for(str(warehouse))) as journal:
        _fail(journal, "old-once", date(2026, 3, 2), 1)  # weeks ago: the catch-up schedule never looks there
        _fail(journal, "gave-up", date(2026, 3, 9), 3)  # at the cap: left failed
        owner = new_owner()
        journal.claim("done", date(2026, 3, 16), owner)
        attempt = journal.intent("done", owner)
        journal.answered("done", attempt, "c", "j")
        journal.status("done", attempt, "completed")
        journal.claim("crashed", date(2026, 3, 23), owner)
        journal.intent("crashed", owner)  # the run died before Symbl answered: reconciled by the re-run
    context = dg.build_schedule_context(scheduled_execution_time=datetime(2026, 4, 1, 3, 50, tzinfo=UTC))
    requests = failed_recordings_retry_schedule(context)
    assert [r.partition_key for r in requests] == ["2026-03-02", "2026-03-23"]


def test_no_journal_means_nothing_to_retry(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONVO_INTEL_WAREHOUSE", str(tmp_path / "none.duckdb"))
    result = failed_recordings_retry_schedule(dg.build_schedule_context())
    assert isinstance(result, dg.SkipReason)
