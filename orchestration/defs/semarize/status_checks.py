"""Honest status for Semarize: a run that leaves its jobs failed says so, by name (see orchestration.run_status)."""

import dagster as dg

from orchestration.defs.warehouse.resource import WarehouseResource
from orchestration.run_status import run_window, status_result, window_sql


@dg.asset_check(
    asset="semarize_bricks",
    name="no_semarize_runs_failed",
    description=(
        "Fails when the latest Semarize run of a conversation of the run's days failed (so its Kit scores are "
        "missing), listing the recording, the Kit and the error. The next run retries it."
    ),
)
def no_semarize_runs_failed(
    context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource
) -> dg.AssetCheckResult:
    window = run_window(context)
    where, params = window_sql(window)
    rows = warehouse.query(
        f"""
        SELECT recording_id, partition_date,
               'Kit ' || kit_code || ': ' || status
                   || coalesce(': ' || nullif(concat_ws(' - ', error_code, error_message), ''), '') AS reason
        FROM raw.semarize_runs
        WHERE {where}
        QUALIFY row_number() OVER (PARTITION BY conversation_id, kit_code ORDER BY updated_at DESC) = 1
            AND status IN ('failed', 'cancelled', 'error')
        ORDER BY partition_date, recording_id
        """,
        params,
    )
    return status_result(rows, window, "Semarize runs failed", {})
