"""One declaration per raw table: its columns (SQL type, nullability, doc) and its key.

Everything else about a table is derived from its :class:`Table`, never re-read from text: the DDL and the
migration that adds newly declared columns (:mod:`orchestration.defs.warehouse.schema`, ``duckdb_store``), the Arrow
types of bulk inserts (``duckdb_store``), the Dagster column schema (:mod:`orchestration.defs.warehouse.metadata`)
and the unique-key checks (:mod:`orchestration.defs.symbl.checks`). Each domain declares its tables; ``schema.TABLES``
gathers them with :func:`registry`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import pyarrow as pa

RAW_SCHEMA = "raw"

VARCHAR = "VARCHAR"
VARCHAR_LIST = "VARCHAR[]"
DATE = "DATE"
TIMESTAMPTZ = "TIMESTAMPTZ"
DOUBLE = "DOUBLE"
INTEGER = "INTEGER"
BIGINT = "BIGINT"
BOOLEAN = "BOOLEAN"
JSON = "JSON"

# The Arrow type a bulk insert converts each SQL type to (once, in C, without inference). JSON maps to None: it is
# left to inference, since parsers hand JSON over as text or as nested values. The keys are the SQL types a column
# may declare.
ARROW_TYPES: dict[str, pa.DataType | None] = {
    VARCHAR: pa.string(),
    VARCHAR_LIST: pa.list_(pa.string()),
    DATE: pa.date32(),
    TIMESTAMPTZ: pa.timestamp("us", tz="UTC"),
    DOUBLE: pa.float64(),
    INTEGER: pa.int32(),
    BIGINT: pa.int64(),
    BOOLEAN: pa.bool_(),
    JSON: None,
}


@dataclass(frozen=True)
class Column:
    name: str
    sql_type: str
    nullable: bool = True
    doc: str = ""

    def __post_init__(self) -> None:
        # Names and types are pasted into DDL: only identifiers and known types get that far.
        if not self.name.isidentifier():
            raise ValueError(f"column name {self.name!r} is not an identifier")
        if self.sql_type not in ARROW_TYPES:
            raise ValueError(
                f"column {self.name}: unknown SQL type {self.sql_type!r} (known: {sorted(ARROW_TYPES)})"
            )

    @property
    def ddl(self) -> str:
        return f"{self.name} {self.sql_type}" + ("" if self.nullable else " NOT NULL")

    @property
    def arrow_type(self) -> pa.DataType | None:
        return ARROW_TYPES[self.sql_type]


@dataclass(frozen=True)
class Table:
    name: str
    columns: tuple[Column, ...]
    key: tuple[
        str, ...
    ] = ()  # columns each row is unique on (checked, not enforced: see orchestration.defs.symbl.checks)
    doc: str = ""

    def __post_init__(self) -> None:
        if not self.name.isidentifier():
            raise ValueError(f"table name {self.name!r} is not an identifier")
        names = [c.name for c in self.columns]
        if len(set(names)) != len(names):
            raise ValueError(
                f"{self.name}: a column is declared twice: {sorted(n for n in names if names.count(n) > 1)}"
            )
        by_name = {c.name: c for c in self.columns}
        for k in self.key:
            # A NULL key part would make "unique on its key" ambiguous (GROUP BY folds NULLs together).
            if k not in by_name or by_name[k].nullable:
                raise ValueError(f"{self.name}: key column {k!r} must be a declared NOT NULL column")

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    def create_statement(self, schema: str = RAW_SCHEMA) -> str:
        return f"CREATE TABLE IF NOT EXISTS {schema}.{self.name} ({', '.join(c.ddl for c in self.columns)})"


def registry(*groups: Iterable[Table]) -> dict[str, Table]:
    """name -> table over the domains' declarations, in order; a name declared twice is an error."""
    tables: dict[str, Table] = {}
    for table in (t for group in groups for t in group):
        if table.name in tables:
            raise ValueError(f"table {table.name} is declared twice")
        tables[table.name] = table
    return tables
