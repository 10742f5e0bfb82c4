"""The warehouse domain: the DuckDB file, dbt's models and tests, the analysts' copy and its report."""

import dagster as dg

from orchestration.defs.warehouse.checks import completed_recordings_are_complete
from orchestration.defs.warehouse.dbt import convo_intel_dbt_assets, dbt_cli_resource
from orchestration.defs.warehouse.publish_sensor import publish_after_ingest_sensor
from orchestration.defs.warehouse.report import scorecard_report
from orchestration.defs.warehouse.resource import WarehouseResource
from orchestration.defs.warehouse.schedules import warehouse_build_schedule
from orchestration.defs.warehouse.snapshot import analyst_warehouse

defs = dg.Definitions(
    assets=[convo_intel_dbt_assets, analyst_warehouse, scorecard_report],
    asset_checks=[completed_recordings_are_complete],
    sensors=[publish_after_ingest_sensor],
    schedules=[warehouse_build_schedule],
    resources={"warehouse": WarehouseResource(), "dbt": dbt_cli_resource()},
)
