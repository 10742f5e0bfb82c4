"""`publish_after_ingest_sensor`: rebuild the marts and republish the analysts' copy soon after new data lands.

The hourly `warehouse_build_schedule` left a new call up to an hour away from analysts. This sensor asks for one
`warehouse_build_job` run as soon as any ingest asset has a materialization newer than what the last requested
build covered, and never while a build is queued or running: ten ingest runs finishing within a minute cause one
build, not ten (the build reads everything landed so far). Its cursor is the event-log storage id of the newest
ingest materialization a requested build covers, so data that lands *during* a build gets the next one.
"""

from collections.abc import Sequence
from typing import TYPE_CHECKING

import dagster as dg
from dagster import DagsterRunStatus

from orchestration.jobs import INGEST_ASSETS, SCHEDULE_TAG, warehouse_build_job

if TYPE_CHECKING:  # what define_asset_job returns; Dagster does not export the class
    from dagster._core.definitions.unresolved_asset_job_definition import UnresolvedAssetJobDefinition

ACTIVE = [
    DagsterRunStatus.QUEUED,
    DagsterRunStatus.NOT_STARTED,
    DagsterRunStatus.STARTING,
    DagsterRunStatus.STARTED,
]
TRIGGER_TAG = SCHEDULE_TAG


def newest_materialization(instance: dg.DagsterInstance, keys: Sequence[dg.AssetKey]) -> int:
    """The largest event-log storage id among the keys' latest materializations (0 when none has one)."""
    newest = 0
    for record in instance.get_asset_records(list(keys)):
        last = record.asset_entry.last_materialization_record
        if last is not None:
            newest = max(newest, last.storage_id)
    return newest


def build_publish_sensor(
    watched: Sequence[dg.AssetKey], job: "UnresolvedAssetJobDefinition", interval_seconds: int = 30
) -> dg.SensorDefinition:
    @dg.sensor(
        name="publish_after_ingest_sensor",
        job=job,
        minimum_interval_seconds=interval_seconds,
        default_status=dg.DefaultSensorStatus.STOPPED,
        description=(
            f"Requests {job.name} (dbt build + the analysts' copy) once new ingest data has landed, at most one at "
            "a time: the analysts' copy follows new calls within minutes instead of the hourly build."
        ),
    )
    def publish_after_ingest_sensor(context: dg.SensorEvaluationContext) -> dg.SensorResult | dg.SkipReason:
        covered = int(context.cursor or 0)
        newest = newest_materialization(context.instance, watched)
        if newest <= covered:
            return dg.SkipReason("no ingest materialization since the last requested build")
        active = context.instance.get_runs(dg.RunsFilter(job_name=job.name, statuses=ACTIVE), limit=1)
        if active:
            return dg.SkipReason(f"new data landed; waiting for {job.name} run {active[0].run_id} to finish")
        return dg.SensorResult(
            run_requests=[
                dg.RunRequest(
                    run_key=f"publish-after:{newest}", tags={TRIGGER_TAG: "publish_after_ingest_sensor"}
                )
            ],
            cursor=str(newest),
        )

    return publish_after_ingest_sensor


publish_after_ingest_sensor = build_publish_sensor(
    [key for asset in INGEST_ASSETS for key in asset.keys], warehouse_build_job
)
