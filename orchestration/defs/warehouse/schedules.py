"""The hourly warehouse build: dbt (staging, marts, tests) and the analysts' copy.

``warehouse_build_schedule`` (hh:45) runs half an hour after the ingest catch-up, so the one-writer DuckDB file
sees one dbt build per hour at a predictable time instead of one after every ingest run (the publish sensor adds
a build soon after new data lands).
"""

import dagster as dg

from orchestration.jobs import SCHEDULE_TAG, warehouse_build_job
from orchestration.partitions import PARTITIONS_TIMEZONE

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
