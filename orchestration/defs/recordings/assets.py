"""The `recordings` asset: the day's manifests, validated, with every bad one in the rejections table."""

import itertools
from collections import Counter
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import dagster as dg
from dagster import AssetExecutionContext

from orchestration.defs.recordings.resource import DropFolderResource
from orchestration.defs.recordings.source import Rejection
from orchestration.defs.warehouse.metadata import Stopwatch, column_schema_metadata, preview
from orchestration.defs.warehouse.partition_metadata import scope_to_partitions
from orchestration.defs.warehouse.resource import WarehouseResource
from orchestration.partitions import (
    DAILY_WAREHOUSE_WRITER,
    PARTITIONS_TIMEZONE,
    window_dates,
)

MANIFEST_STAGES = ("manifest", "media")
# Manifests read and inserted per batch: their rows are in memory at once, never a whole day's.
RECORDINGS_BATCH = 500


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
    source = drop_folder.source()
    plan = source.plan(start, end, owners=owners)
    now = datetime.now(UTC)
    rejected = list(plan.rejections)
    per_day: Counter[date] = Counter()
    sample: list[dict[str, Any]] = []
    # One transaction, so the window's recordings are replaced all at once; the manifests are read and inserted
    # a batch at a time, so a day of 10,000 is never all in memory.
    with warehouse.writer() as writer:
        writer.replace_partition("recordings", first_day, end_day, [])
        items = source.read(plan)
        while batch := list(itertools.islice(items, RECORDINGS_BATCH)):
            rows = []
            for item in batch:
                if isinstance(item, Rejection):
                    rejected.append(item)
                    continue
                rows.append(
                    item.to_row(partition_date=partition_date_of(item.start_time)) | {"loaded_at": now}
                )
            writer.insert("recordings", rows)
            per_day.update(r["partition_date"] for r in rows)
            sample = sample or rows[:5]
        dated = [_rejection_row(r, now) for r in rejected if r.partition_date is not None]
        undated = [_rejection_row(r, now) for r in rejected if r.partition_date is None]
        writer.replace_partition(
            "recording_rejections", first_day, end_day, dated, "stage IN ('manifest', 'media')"
        )
        # Undated rejections (files too broken to date) are re-reported by every scan: keep exactly the current set.
        writer.replace_rows(
            "recording_rejections", "partition_date IS NULL AND stage = 'manifest'", [], undated
        )
    for r in dated + undated:
        context.log.warning(f"rejected {r['source_file']} ({r['recording_id'] or 'no id'}): {r['reason']}")

    context.log.info(
        f"{sum(per_day.values())} recordings, {len(dated) + len(undated)} rejected, window {first_day}..{end_day}"
    )
    metadata = {
        "dagster/row_count": sum(per_day.values()),
        "rejected": len(dated) + len(undated),
        "rejected_undated": len(undated),
        "preview": preview("recordings", sample),
        "rejections_preview": preview("recording_rejections", dated + undated),
        "seconds": clock.seconds,
    }
    # A ranged run: each day's materialization carries that day's own counts (undated rejections belong to none).
    own = {
        "dagster/row_count": per_day.elements(),
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
