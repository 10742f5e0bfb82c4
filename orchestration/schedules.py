"""Schedules for unattended operation: an hourly catch-up of recent days, and the hourly warehouse build.

* ``recordings_catch_up_schedule`` (hh:15) re-runs today's and yesterday's ingest partitions. It is the safety
  net under the new-recordings sensor: late media for an already-run manifest, a recording whose id digest
  collided, a day that did not exist yet when its manifest arrived. Re-running a day is cheap and idempotent
  (the ledger skips completed recordings; every write replaces its partition).
* ``warehouse_build_schedule`` (hh:45) runs ``warehouse_build_job`` (dbt build + the analysts' copy) once an
  hour, half an hour after the catch-up, so the one-writer DuckDB file sees one dbt build per hour at a
  predictable time instead of one after every ingest run.

Routing has no schedule: it reads the marts, so ``routing_after_warehouse_build_sensor``
(``orchestration/routing/sensors.py``) runs it after each build.
"""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import dagster as dg

from orchestration.jobs import conversation_ingest_job, warehouse_build_job
from orchestration.partitions import PARTITIONS_TIMEZONE, recordings_daily_partition

SCHEDULE_TAG = "convo-intel/trigger"


def catch_up_days(scheduled_time: datetime) -> list[str]:
    """Yesterday's and today's partition keys in the partitions' timezone, those that exist, oldest first."""
    today = scheduled_time.astimezone(ZoneInfo(recordings_daily_partition.timezone)).date()
    days = [(today - timedelta(days=1)).isoformat(), today.isoformat()]
    return [day for day in days if recordings_daily_partition.has_partition_key(day)]


@dg.schedule(
    cron_schedule="15 * * * *",
    job=conversation_ingest_job,
    execution_timezone=PARTITIONS_TIMEZONE,
    default_status=dg.DefaultScheduleStatus.STOPPED,
    description=(
        "Hourly at :15, re-runs today's and yesterday's ingest partitions (idempotent) to catch late arrivals "
        "and anything the new-recordings sensor could not request."
    ),
)
def recordings_catch_up_schedule(
    context: dg.ScheduleEvaluationContext,
) -> list[dg.RunRequest] | dg.SkipReason:
    tick = context.scheduled_execution_time
    days = catch_up_days(tick)
    if not days:
        return dg.SkipReason(f"no partition exists yet for {tick.date()} or the day before")
    tick_id = tick.strftime("%Y-%m-%dT%H:%M%z")
    return [
        dg.RunRequest(
            partition_key=day,
            run_key=f"catch-up:{day}:{tick_id}",
            tags={SCHEDULE_TAG: "recordings_catch_up_schedule"},
        )
        for day in days
    ]


warehouse_build_schedule = dg.ScheduleDefinition(
    name="warehouse_build_schedule",
    cron_schedule="45 * * * *",
    job=warehouse_build_job,
    execution_timezone=PARTITIONS_TIMEZONE,
    default_status=dg.DefaultScheduleStatus.STOPPED,
    tags={SCHEDULE_TAG: "warehouse_build_schedule"},
    description=(
        "Hourly at :45: dbt build (staging, marts, tests) and publish the analysts' copy. Offset from the :15 "
        "catch-up so the single DuckDB writer is not contended by dbt and ingestion at the same time."
    ),
)
