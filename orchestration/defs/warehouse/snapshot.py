"""`analyst_warehouse`: the published copy analysts query, refreshed atomically after each dbt build."""

import dagster as dg
from dagster import AssetExecutionContext

from orchestration.defs.warehouse.resource import WarehouseResource
from orchestration.partitions import WAREHOUSE_WRITER_POOL

MART_KEYS = [
    dg.AssetKey("fct_conversations"),
    dg.AssetKey("rep_quarter_scorecard"),
    dg.AssetKey("team_quarter_scorecard"),
]


@dg.asset(
    name="analyst_warehouse",
    group_name="warehouse",
    kinds={"duckdb"},
    deps=MART_KEYS,
    pool=WAREHOUSE_WRITER_POOL,
    description=(
        "A full copy of the live warehouse (ATTACH + COPY FROM DATABASE into a new file, then an atomic rename), "
        "so analysts never take DuckDB's single-writer lock from the pipeline and the pipeline never waits on them. "
        "Open it read-only: `duckdb -readonly <path>`."
    ),
)
def analyst_warehouse(context: AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
    published = warehouse.publish_snapshot()
    context.log.info(
        f"published {published['path']} ({published['bytes']} bytes) in {published['seconds']} s"
    )
    return dg.MaterializeResult(
        metadata={
            "path": dg.MetadataValue.path(published["path"]),
            "bytes": published["bytes"],
            "seconds": published["seconds"],
        }
    )
