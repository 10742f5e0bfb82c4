"""The warehouse as a Dagster resource: where the live file and the analysts' copy live, and how to write."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from datetime import date
from typing import Any

import dagster as dg
from pydantic import Field, model_validator

from orchestration.defs.warehouse import duckdb_store
from orchestration.settings import warehouse_paths


class WarehouseResource(dg.ConfigurableResource):
    """The DuckDB warehouse. Connections are opened per write and closed at once (one-writer rule)."""

    path: str = Field(
        default="", description="Live DuckDB file the pipeline writes (env CONVO_INTEL_WAREHOUSE)."
    )
    analyst_path: str = Field(
        default="",
        description="Published read-only copy for analysts (env CONVO_INTEL_ANALYST_WAREHOUSE; default beside path).",
    )

    @model_validator(mode="before")
    @classmethod
    def _paths(cls, data: Any) -> Any:
        # Built again in every run: paths not given come from that run's environment, through the one function
        # that dbt's profile agrees with.
        if not isinstance(data, dict) or any(isinstance(v, dg.EnvVar) for v in data.values()):
            return data  # an EnvVar is resolved by Dagster at run time, and this runs again then
        paths = warehouse_paths(data.get("path") or None, data.get("analyst_path") or None)
        return {**data, "path": str(paths.live), "analyst_path": str(paths.analyst)}

    @contextlib.contextmanager
    def connection(self, read_only: bool = False) -> Iterator[Any]:
        with duckdb_store.connect(self.path, read_only=read_only) as con:
            if not read_only:
                duckdb_store.ensure_schema(con)
            yield con

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        with self.connection() as con:
            cur = con.execute(sql, list(params))
            names = [d[0] for d in cur.description]
            return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]

    def replace_partition(
        self,
        table: str,
        start: date,
        end: date,
        rows: Sequence[dict[str, Any]],
        extra_predicate: str = "",
        params: Sequence[Any] = (),
    ) -> int:
        with self.connection() as con:
            return duckdb_store.replace_partition_rows(con, table, start, end, rows, extra_predicate, params)

    def publish_snapshot(self) -> dict[str, Any]:
        return duckdb_store.publish_snapshot(self.path, self.analyst_path)
