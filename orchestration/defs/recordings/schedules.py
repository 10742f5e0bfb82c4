"""The hourly catch-up of recent days, the safety net under the new-recordings sensor.

``recordings_catch_up_schedule`` (hh:15) re-runs today's and yesterday's ingest partitions: late media for an
already-run manifest, a recording whose id digest collided, a day that did not exist yet when its manifest
arrived. Re-running a day is cheap and idempotent (the ledger skips completed recordings; every write replaces its
partition).
"""

import dagster as dg

from orchestration.jobs import conversation_ingest_job, day_runs
from orchestration.partitions import PARTITIONS_TIMEZONE, catch_up_days


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
    return day_runs(days, "recordings_catch_up_schedule", "catch-up", tick.strftime("%Y-%m-%dT%H:%M%z"))
