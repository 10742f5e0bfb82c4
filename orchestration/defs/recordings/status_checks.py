"""Honest status for recordings: a run that leaves manifests or media rejected says so (orchestration.run_status)."""

import dagster as dg

from orchestration.defs.warehouse.resource import WarehouseResource
from orchestration.run_status import run_window, status_result, window_sql


@dg.asset_check(
    asset="recordings",
    name="no_recordings_rejected",
    description=(
        "Fails when a manifest or its media in the run's days was rejected (bad JSON, missing fields, missing "
        "media, ...), listing each file, recording id and reason. Fix the file in the drop folder and re-run the "
        "day; the rejection disappears when the manifest loads."
    ),
)
def no_recordings_rejected(
    context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource
) -> dg.AssetCheckResult:
    window = run_window(context)
    where, params = window_sql(window)
    rows = warehouse.query(
        f"""
        SELECT DISTINCT recording_id, source_file, partition_date, stage, reason
        FROM raw.recording_rejections
        WHERE stage IN ('manifest', 'media') AND ({where} OR partition_date IS NULL)
        ORDER BY partition_date NULLS FIRST, source_file, reason
        """,
        params,
    )
    return status_result(
        rows, window, "rejected manifests", {"undated": sum(1 for r in rows if not r["partition_date"])}
    )
