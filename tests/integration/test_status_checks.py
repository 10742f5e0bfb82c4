"""The "was anything lost?" checks, invoked directly on a real DuckDB file (whole-warehouse scope)."""

from datetime import UTC, date, datetime
from pathlib import Path

import dagster as dg
import pytest

from orchestration.defs.recordings.status_checks import no_recordings_rejected
from orchestration.defs.semarize.status_checks import no_semarize_runs_failed
from orchestration.defs.symbl.status_checks import no_symbl_jobs_failed
from orchestration.defs.warehouse import duckdb_store
from orchestration.defs.warehouse.resource import WarehouseResource

DAY = date(2026, 5, 5)
T0 = datetime(2026, 5, 5, 12, tzinfo=UTC)
T1 = datetime(2026, 5, 6, 12, tzinfo=UTC)


@pytest.fixture
def warehouse(tmp_path: Path) -> WarehouseResource:
    return WarehouseResource(path=str(tmp_path / "w.duckdb"), analyst_path=str(tmp_path / "a.duckdb"))


def _insert(warehouse: WarehouseResource, table: str, rows: list[dict[str, object]]) -> None:
    with warehouse.connection() as con:
        duckdb_store.insert_rows(con, table, rows)


def _context() -> dg.AssetCheckExecutionContext:
    return dg.build_asset_check_context()


def test_all_checks_pass_on_an_empty_warehouse(warehouse: WarehouseResource) -> None:
    for check in (no_recordings_rejected, no_symbl_jobs_failed, no_semarize_runs_failed):
        result = check(_context(), warehouse=warehouse)
        assert result.passed and result.metadata["scope"].value == "whole warehouse"


def test_only_the_latest_semarize_run_counts(warehouse: WarehouseResource) -> None:
    def run(cid: str, status: str, at: datetime, error: str | None = None) -> dict[str, object]:
        return {
            "conversation_id": cid, "partition_date": DAY, "kit_code": "SLSDISC1", "recording_id": f"rec-{cid}",
            "run_id": f"{cid}-{at.day}", "idempotency_key": f"{cid}-{at.day}", "status": status,
            "error_code": error and "model_error", "error_message": error, "updated_at": at,
        }  # fmt: skip

    _insert(
        warehouse,
        "semarize_runs",
        [
            run("c1", "succeeded", T0),
            run("c1", "failed", T1, "model timeout"),  # c1's latest run failed: scores missing
            run("c2", "failed", T0, "rate limited"),
            run("c2", "succeeded", T1),  # c2 recovered on retry
        ],
    )
    result = no_semarize_runs_failed(_context(), warehouse=warehouse)
    assert not result.passed and result.severity == dg.AssetCheckSeverity.ERROR
    assert result.metadata["recording_ids"].value == "rec-c1"
    assert "model timeout" in result.metadata["details"].value


def test_failed_jobs_and_undated_rejections_are_named(warehouse: WarehouseResource) -> None:
    _insert(
        warehouse,
        "symbl_conversations",
        [
            {"recording_id": "rec-1", "partition_date": DAY, "status": "failed", "attempts": 3,
             "failure_reason": "media could not be decoded", "updated_at": T0},
            {"recording_id": "rec-2", "partition_date": DAY, "status": "completed", "attempts": 1, "updated_at": T0},
        ],
    )  # fmt: skip
    _insert(
        warehouse,
        "recording_rejections",
        [{"partition_date": None, "source_file": "manifests/broken.json", "recording_id": None, "stage": "manifest",
          "reason": "invalid JSON at line 3", "rejected_at": T0}],
    )  # fmt: skip
    failed = no_symbl_jobs_failed(_context(), warehouse=warehouse)
    assert not failed.passed and failed.metadata["recording_ids"].value == "rec-1"
    assert failed.metadata["gave_up"].value == 1  # three attempts: no more automatic resubmits
    rejected = no_recordings_rejected(_context(), warehouse=warehouse)
    assert not rejected.passed and rejected.metadata["undated"].value == 1
    assert "manifests/broken.json" in rejected.metadata["details"].value
