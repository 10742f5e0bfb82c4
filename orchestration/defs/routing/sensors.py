"""`routing_after_warehouse_build_sensor`: route the recent days right after each warehouse build.

Routing reads the dbt marts, so it must run after they are rebuilt, not on a clock of its own (the former :35
schedule ran ten minutes *before* the :45 build and sent hour-old figures). An asset sensor on
``fct_conversations``, the mart every routed figure comes from, is Dagster's way of saying "when this asset is
materialized, run that job": whichever build materializes it (the hourly schedule, the publish-after-ingest sensor,
a manual materialization), today's and yesterday's routing partitions are requested once per materialization.
Builds that finish between two ticks are one routing run (the sensor reads the newest). The routing steps share
the ``duckdb_writer`` pool with the dbt step, so they start once the build has let go of the warehouse.
"""

from datetime import UTC, datetime

import dagster as dg

from orchestration.jobs import day_runs, routing_job
from orchestration.partitions import catch_up_days

ROUTED_MART = dg.AssetKey("fct_conversations")


@dg.asset_sensor(
    asset_key=ROUTED_MART,
    job=routing_job,
    name="routing_after_warehouse_build_sensor",
    minimum_interval_seconds=30,
    default_status=dg.DefaultSensorStatus.STOPPED,
    description=(
        "After each materialization of fct_conversations (the warehouse build), requests routing_job for today's "
        "and yesterday's partitions: risk alerts to Slack (once per conversation and brick version) and the "
        "marts' figures to the CRM (unchanged rows skipped)."
    ),
)
def routing_after_warehouse_build_sensor(
    context: dg.SensorEvaluationContext, asset_event: dg.EventLogEntry
) -> list[dg.RunRequest] | dg.SkipReason:
    build = f"{asset_event.run_id or 'runless'}@{asset_event.timestamp:.6f}"
    return routing_requests(datetime.fromtimestamp(asset_event.timestamp, UTC), build)


def routing_requests(built_at: datetime, build: str) -> list[dg.RunRequest] | dg.SkipReason:
    """Yesterday's and today's routing partitions as of the build, one run key per day and build (a re-evaluated
    tick is deduplicated by it)."""
    days = catch_up_days(built_at)
    if not days:
        return dg.SkipReason(f"no partition exists yet for {built_at.date()} or the day before")
    return day_runs(days, "routing_after_warehouse_build_sensor", "routing-after", build)
