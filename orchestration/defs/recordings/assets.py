"""The `recordings` asset: the day's manifests, validated, with every bad one in the rejections table."""

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import dagster as dg
from dagster import AssetExecutionContext

from orchestration.defs.recordings.resource import DropFolderResource
from orchestration.defs.warehouse.metadata import Stopwatch, column_schema_metadata, preview
from orchestration.defs.warehouse.partition_metadata import scope_to_partitions
from orchestration.defs.warehouse.resource import WarehouseResource
from orchestration.partitions import (
    DAILY_WAREHOUSE_WRITER,
    PARTITIONS_TIMEZONE,
    window_dates,
)

MANIFEST_STAGES = ("manifest", "media")


def partition_date_of(start_time: datetime) -> date:
    return start_time.astimezone(ZoneInfo(PARTITIONS_TIMEZONE)).date()


@dg.asset(
    name="recordings",
    group_name="recordings",
    kinds={"python", "duckdb"},
    **DAILY_WAREHOUSE_WRITER,
    description=(
        "Recording manifests whose start time falls in the partition, validated against the drop-folder format. "
        "Invalid manifests (bad JSON, missing fields, missing media, hostile values) land in "
        "raw.recording_rejections with the file and the reason; they never stop the other recordings."
    ),
    metadata=column_schema_metadata("recordings"),
)
def recordings(
    context: AssetExecutionContext, drop_folder: DropFolderResource, warehouse: WarehouseResource
) -> dg.MaterializeResult:
    clock = Stopwatch()
    start, end, first_day, end_day = window_dates(context)
    # A recording id stays with the manifest already recorded as its source: a later file cannot take it over.
    owners = {
        r["recording_id"]: r["source_file"]
        for r in warehouse.query("SELECT recording_id, source_file FROM raw.recordings")
    }
    scan = drop_folder.source().scan(start, end, owners=owners)
    now = datetime.now(UTC)

    rows = [m.to_row(partition_date=partition_date_of(m.start_time)) for m in scan.manifests]
    for row in rows:
        row["loaded_at"] = now
    dated = [_rejection_row(r, now) for r in scan.rejections if r.partition_date is not None]
    undated = [_rejection_row(r, now) for r in scan.rejections if r.partition_date is None]
    for r in dated + undated:
        context.log.warning(f"rejected {r['source_file']} ({r['recording_id'] or 'no id'}): {r['reason']}")

    with warehouse.writer() as writer:
        writer.replace_partition("recordings", first_day, end_day, rows)
        writer.replace_partition(
            "recording_rejections", first_day, end_day, dated, "stage IN ('manifest', 'media')"
        )
        # Undated rejections (files too broken to date) are re-reported by every scan: keep exactly the current set.
        writer.replace_rows(
            "recording_rejections", "partition_date IS NULL AND stage = 'manifest'", [], undated
        )

    context.log.info(
        f"{len(rows)} recordings, {len(dated) + len(undated)} rejected, window {first_day}..{end_day}"
    )
    metadata = {
        "dagster/row_count": len(rows),
        "rejected": len(dated) + len(undated),
        "rejected_undated": len(undated),
        "preview": preview("recordings", rows),
        "rejections_preview": preview("recording_rejections", dated + undated),
        "seconds": clock.seconds,
    }
    # A ranged run: each day's materialization carries that day's own counts (undated rejections belong to none).
    own = {
        "dagster/row_count": [r["partition_date"] for r in rows],
        "rejected": [r["partition_date"] for r in dated],
    }
    return dg.MaterializeResult(metadata=scope_to_partitions(context, metadata, own))


def _rejection_row(rejection: object, now: datetime) -> dict[str, object]:
    return {
        "partition_date": rejection.partition_date,
        "source_file": rejection.source_file,
        "recording_id": rejection.recording_id,
        "stage": rejection.stage,
        "reason": rejection.reason,
        "rejected_at": now,
    }
