"""publish_after_ingest_sensor against a real Dagster instance: one build per batch of new ingest data."""

from collections.abc import Iterator

import dagster as dg
import pytest
from dagster import DagsterRunStatus

from orchestration.definitions import defs
from orchestration.defs.warehouse.publish_sensor import publish_after_ingest_sensor
from orchestration.jobs import warehouse_build_job


@pytest.fixture
def instance() -> Iterator[dg.DagsterInstance]:
    with dg.instance_for_test() as inst:
        yield inst


def tick(instance: dg.DagsterInstance, cursor: str | None) -> dg.SensorResult | dg.SkipReason:
    context = dg.build_sensor_context(instance=instance, cursor=cursor, definitions=defs)
    return publish_after_ingest_sensor(context)


def land(instance: dg.DagsterInstance, key: str) -> None:
    instance.report_runless_asset_event(dg.AssetMaterialization(asset_key=key, partition="2026-04-07"))


def test_new_ingest_data_requests_one_build_and_nothing_more_until_more_lands(
    instance: dg.DagsterInstance,
) -> None:
    assert isinstance(tick(instance, None), dg.SkipReason)  # nothing ever landed
    land(instance, "symbl_conversations")
    land(instance, "semarize_bricks")
    first = tick(instance, None)
    assert isinstance(first, dg.SensorResult) and len(first.run_requests or []) == 1
    assert first.cursor is not None
    again = tick(instance, first.cursor)
    assert isinstance(again, dg.SkipReason) and "no ingest materialization" in (again.skip_message or "")

    # More lands while a build is running: wait for it, then ask again (the running build may not include it).
    land(instance, "symbl_messages")
    run = instance.create_run_for_job(
        job_def=defs.resolve_job_def(warehouse_build_job.name), status=DagsterRunStatus.STARTED
    )
    waiting = tick(instance, first.cursor)
    assert isinstance(waiting, dg.SkipReason) and run.run_id in (waiting.skip_message or "")
    instance.report_run_failed(run)
    second = tick(instance, first.cursor)
    assert isinstance(second, dg.SensorResult) and len(second.run_requests or []) == 1
    assert int(second.cursor or 0) > int(first.cursor)
    assert second.run_requests[0].run_key != first.run_requests[0].run_key  # type: ignore[index]


def test_only_ingest_assets_trigger_a_build(instance: dg.DagsterInstance) -> None:
    land(instance, "analyst_warehouse")  # the build's own output must not trigger another build
    assert isinstance(tick(instance, None), dg.SkipReason)
