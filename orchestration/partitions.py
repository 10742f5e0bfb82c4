"""The one daily partitions definition every partitioned asset shares: the recording's start date."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import dagster as dg
from dagster import AssetExecutionContext

from orchestration.settings import PartitionSettings

# Read once, here: asset decorators take the partitions definition when their modules are imported.
_PARTITIONS = PartitionSettings()
PARTITIONS_START_DATE = _PARTITIONS.start_date
PARTITIONS_TIMEZONE = _PARTITIONS.timezone

# Every asset that writes the DuckDB file shares this pool (limit 1 in dagster.yaml): DuckDB allows one writer.
WAREHOUSE_WRITER_POOL = "duckdb_writer"

# end_offset=1 so that today's partition exists while recordings are still arriving.
recordings_daily_partition = dg.DailyPartitionsDefinition(
    start_date=PARTITIONS_START_DATE, timezone=PARTITIONS_TIMEZONE, end_offset=1
)


def window_dates(context: AssetExecutionContext) -> tuple[datetime, datetime, date, date]:
    """The run's time window (one day or a backfilled range) as aware datetimes and as [start, end) dates."""
    window = context.partition_time_window
    return window.start, window.end, window.start.date(), window.end.date()


# What every daily asset that writes the warehouse shares: the partitions, single-run backfills (a date range is
# one run; the asset handles the whole window), and the one-writer DuckDB pool.
DAILY_WAREHOUSE_WRITER = {
    "partitions_def": recordings_daily_partition,
    "backfill_policy": dg.BackfillPolicy.single_run(),
    "pool": WAREHOUSE_WRITER_POOL,
}
# For assets that call an external API: transient outages beyond the clients' own retries re-run the step.
NETWORK_RETRY = dg.RetryPolicy(max_retries=2, delay=5, backoff=dg.Backoff.EXPONENTIAL)


def catch_up_days(scheduled_time: datetime) -> list[str]:
    """Yesterday's and today's partition keys in the partitions' timezone, those that exist, oldest first."""
    today = scheduled_time.astimezone(ZoneInfo(recordings_daily_partition.timezone)).date()
    days = [(today - timedelta(days=1)).isoformat(), today.isoformat()]
    return [day for day in days if recordings_daily_partition.has_partition_key(day)]
