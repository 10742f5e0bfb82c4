"""Honest status for Symbl: a run that leaves its jobs failed says so, by name (see orchestration.run_status)."""

import dagster as dg

from orchestration.defs.warehouse.resource import WarehouseResource
from orchestration.run_status import run_window, status_result, window_sql


@dg.asset_check(
    asset="symbl_conversations",
    name="no_symbl_jobs_failed",
    description=(
        "Fails when a recording of the run's days is left `failed` in the Symbl ledger, listing each recording, "
        "its attempts and Symbl's reason. Failed jobs are resubmitted by the next run until `max_attempts` (3); "
        "after that they stay failed (and this check red) until someone fixes the media and re-runs."
    ),
)
def no_symbl_jobs_failed(
    context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource
) -> dg.AssetCheckResult:
    window = run_window(context)
    where, params = window_sql(window)
    rows = warehouse.query(
        f"""
        SELECT recording_id, partition_date, attempts,
               coalesce(nullif(trim(failure_reason), ''), 'no reason given') || ' (attempt ' || attempts || ')'
                   AS reason
        FROM raw.symbl_conversations
        WHERE status = 'failed' AND {where}
        ORDER BY partition_date, recording_id
        """,
        params,
    )
    return status_result(
        rows, window, "Symbl jobs failed", {"gave_up": sum(1 for r in rows if (r["attempts"] or 0) >= 3)}
    )
