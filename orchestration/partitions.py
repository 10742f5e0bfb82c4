"""The one daily partitions definition every partitioned asset shares: the recording's start date."""

from __future__ import annotations

import os
from datetime import date, datetime

import dagster as dg
from dagster import AssetExecutionContext

PARTITIONS_START_DATE = os.environ.get("CONVO_INTEL_PARTITIONS_START", "2026-01-01")
PARTITIONS_TIMEZONE = os.environ.get("CONVO_INTEL_TIMEZONE", "UTC")

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
    "pool": "duckdb_writer",
}
# For assets that call an external API: transient outages beyond the clients' own retries re-run the step.
NETWORK_RETRY = dg.RetryPolicy(max_retries=2, delay=5, backoff=dg.Backoff.EXPONENTIAL)
