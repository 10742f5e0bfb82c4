"""scope_to_partitions in a real ranged run: each day gets its own counts, the previews go to the last day only."""

import dagster as dg
from dagster._core.storage.tags import ASSET_PARTITION_RANGE_END_TAG, ASSET_PARTITION_RANGE_START_TAG

from orchestration.defs.warehouse.partition_metadata import scope_to_partitions

PARTITIONS = dg.DailyPartitionsDefinition(start_date="2026-05-01")
DAYS = ["2026-05-01", "2026-05-02", "2026-05-03"]


@dg.asset(partitions_def=PARTITIONS, backfill_policy=dg.BackfillPolicy.single_run())
def toy(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
    dates = ["2026-05-01", "2026-05-01", "2026-05-03"]
    metadata = {"dagster/row_count": 3, "seconds": 1.5, "preview": dg.MetadataValue.md("| a |")}
    return dg.MaterializeResult(metadata=scope_to_partitions(context, metadata, {"dagster/row_count": dates}))


def _materializations(tags: dict[str, str] | None, key: str | None) -> dict[str, dict]:
    instance = dg.DagsterInstance.ephemeral()
    job = dg.Definitions(assets=[toy], jobs=[dg.define_asset_job("j")]).resolve_job_def("j")
    result = job.execute_in_process(instance=instance, tags=tags, partition_key=key)
    return {m.partition: m.metadata for m in result.asset_materializations_for_node("toy")}


def test_ranged_run_gives_each_day_its_count_and_the_last_day_the_preview() -> None:
    by_day = _materializations(
        {ASSET_PARTITION_RANGE_START_TAG: DAYS[0], ASSET_PARTITION_RANGE_END_TAG: DAYS[-1]}, None
    )
    assert {d: m["dagster/row_count"].value for d, m in by_day.items()} == dict(
        zip(DAYS, [2, 0, 1], strict=True)
    )
    assert all(m["range/seconds"].value == 1.5 for m in by_day.values())
    assert [d for d, m in by_day.items() if "range/preview" in m] == [DAYS[-1]]
    assert not any("preview" in m for m in by_day.values())


def test_one_day_run_is_untouched() -> None:
    (metadata,) = _materializations(None, DAYS[1]).values()
    assert metadata["dagster/row_count"].value == 3 and "preview" in metadata and "range" not in metadata
