"""Routing for unattended operation: risk alerts to Slack and scores to the CRM, hourly."""

import dagster as dg

from orchestration.jobs import SCHEDULE_TAG, routing_job
from orchestration.partitions import PARTITIONS_TIMEZONE, catch_up_days


@dg.schedule(
    cron_schedule="35 * * * *",
    job=routing_job,
    execution_timezone=PARTITIONS_TIMEZONE,
    default_status=dg.DefaultScheduleStatus.STOPPED,
    description=(
        "Hourly at :35, after the :15 catch-up has scored the recent calls: risk alerts to Slack and scores to the "
        "CRM for today's and yesterday's conversations (each alert goes out once; unchanged CRM rows are skipped)."
    ),
)
def routing_schedule(context: dg.ScheduleEvaluationContext) -> list[dg.RunRequest] | dg.SkipReason:
    tick = context.scheduled_execution_time
    days = catch_up_days(tick)
    if not days:
        return dg.SkipReason(f"no partition exists yet for {tick.date()} or the day before")
    tick_id = tick.strftime("%Y-%m-%dT%H:%M%z")
    return [
        dg.RunRequest(
            partition_key=day, run_key=f"routing:{day}:{tick_id}", tags={SCHEDULE_TAG: "routing_schedule"}
        )
        for day in days
    ]
