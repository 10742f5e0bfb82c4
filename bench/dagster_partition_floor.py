"""Benchmark: Dagster's own cost per partition of a single-run backfill, for assets that do no work.

The floor under bench/backfill_overhead.py's figure: N no-op daily assets with a single-run backfill policy, run
once for one day and once as one ranged run over --days days, on an ephemeral instance (in-memory SQLite, as the
overhead bench uses). Whatever the ranged run costs beyond the one-day run is Dagster planning and storing one
ASSET_MATERIALIZATION_PLANNED and one ASSET_MATERIALIZATION per asset per day; the `--metadata` variant gives each
day a row count through `add_asset_metadata(partition_key=...)`, as partition_metadata.scope_to_partitions does.

    .venv/bin/python bench/dagster_partition_floor.py --days 180 --assets 15
"""

import argparse
import os
import sys
import time
import warnings

import dagster as dg
from dagster._core.storage.tags import ASSET_PARTITION_RANGE_END_TAG, ASSET_PARTITION_RANGE_START_TAG

PARTITIONS = dg.DailyPartitionsDefinition(start_date="2025-01-01")


def _toy_assets(count: int, per_day_metadata: bool) -> list[dg.AssetsDefinition]:
    def build(i: int) -> dg.AssetsDefinition:
        @dg.asset(name=f"toy_{i}", partitions_def=PARTITIONS, backfill_policy=dg.BackfillPolicy.single_run())
        def _toy(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
            if per_day_metadata and len(context.partition_keys) > 1:
                for key in context.partition_keys:
                    context.add_asset_metadata({"dagster/row_count": 0}, partition_key=key)
            return dg.MaterializeResult(metadata={"dagster/row_count": 0})

        return _toy

    return [build(i) for i in range(count)]


def _seconds(assets: list[dg.AssetsDefinition], tags: dict[str, str] | None, key: str | None) -> float:
    job = dg.Definitions(assets=assets, jobs=[dg.define_asset_job("toy_job")]).resolve_job_def("toy_job")
    started = time.monotonic()
    result = job.execute_in_process(instance=dg.DagsterInstance.ephemeral(), tags=tags, partition_key=key)
    assert result.success
    return time.monotonic() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--days", type=int, default=180)
    parser.add_argument("--assets", type=int, default=15)
    parser.add_argument("--metadata", action="store_true", help="per-day row counts via add_asset_metadata")
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    assets = _toy_assets(args.assets, args.metadata)
    last = PARTITIONS.get_partition_keys()[args.days]
    first = PARTITIONS.get_partition_keys()[1]
    one = _seconds(assets, None, first)
    ranged = _seconds(
        assets, {ASSET_PARTITION_RANGE_START_TAG: first, ASSET_PARTITION_RANGE_END_TAG: last}, None
    )
    extra = ranged - one
    print(f"{args.assets} no-op assets, metadata={args.metadata}; load average {os.getloadavg()}")
    print(f"  one-day run {one:.2f} s, {args.days}-day ranged run {ranged:.2f} s")
    print(
        f"  floor: {1000 * extra / (args.days - 1):.0f} ms per extra partition for all assets, "
        f"{1000 * extra / (args.days - 1) / args.assets:.1f} ms per asset-partition"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
