"""One declaration per raw table: its columns (SQL type, nullability, doc) and its key.

Everything else about a table is derived from its :class:`Table`, never re-read from text: the DDL and the
migration that adds newly declared columns (:mod:`orchestration.defs.warehouse.schema`, ``duckdb_store``), the Arrow
types of bulk inserts (``duckdb_store``), the Dagster column schema (:mod:`orchestration.defs.warehouse.metadata`)
and the unique-key checks (:mod:`orchestration.defs.symbl.checks`). Each domain declares its tables; ``schema.TABLES``
gathers them with :func:`registry`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

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
    # A column of long text (verbatim API answers) stored as parts of at most PART_BYTES bytes in the table
    # `<name>_parts`, with `<name>` a view that joins them back. Why: DuckDB keeps a longer string in overflow
    # blocks outside its buffer manager, and every checkpoint (each connection's close) rewrites the open row group
    # of such a table whole: resident memory grew with the day's answers (bench/duckdb_checkpoint_memory.py).
    stored_in_parts: str = ""

    def __post_init__(self) -> None:
        if not self.name.isidentifier():
            raise ValueError(f"table name {self.name!r} is not an identifier")
        if self.stored_in_parts and self.stored_in_parts not in {c.name for c in self.columns}:
            raise ValueError(
                f"{self.name}: stored_in_parts names no declared column: {self.stored_in_parts!r}"
            )
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

    @property
    def storage(self) -> Table:
        """The table the rows are stored in: this one, or its parts table (see ``stored_in_parts``)."""
        if not self.stored_in_parts:
            return self
        kept = tuple(c for c in self.columns if c.name != self.stored_in_parts)
        return Table(
            f"{self.name}_parts",
            (
                *kept,
                Column("part", INTEGER, nullable=False, doc="0, 1, ...: the order of the parts"),
                Column(
                    PART_COLUMN,
                    VARCHAR,
                    nullable=False,
                    doc=f"at most {PART_BYTES} bytes of {self.stored_in_parts}",
                ),
            ),
            doc=f"{self.name}, its {self.stored_in_parts} stored as parts (read {self.name}, which joins them)",
        )

    def create_statement(self, schema: str = RAW_SCHEMA) -> str:
        return f"CREATE TABLE IF NOT EXISTS {schema}.{self.name} ({', '.join(c.ddl for c in self.columns)})"

    def view_statement(self, schema: str = RAW_SCHEMA) -> str | None:
        """The view that joins a parts table back into this table's columns, in declaration order."""
        if not self.stored_in_parts:
            return None
        kept = [c.name for c in self.columns if c.name != self.stored_in_parts]
        whole = next(c for c in self.columns if c.name == self.stored_in_parts)
        select = ", ".join(
            f"string_agg({PART_COLUMN}, '' ORDER BY part)::{whole.sql_type} AS {c.name}"
            if c.name == whole.name
            else c.name
            for c in self.columns
        )
        return (
            f"CREATE OR REPLACE VIEW {schema}.{self.name} AS SELECT {select} "
            f"FROM {schema}.{self.storage.name} GROUP BY {', '.join(kept)}"
        )

    def storage_rows(self, rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
        """Rows of this table as rows of its storage table (each long text split into numbered parts)."""
        if not self.stored_in_parts:
            return list(rows)
        column = self.stored_in_parts
        out: list[dict[str, Any]] = []
        for row in rows:
            rest = {k: v for k, v in row.items() if k != column}
            value = row.get(column)
            if value is None:
                raise ValueError(f"{self.name}.{column} is NOT NULL and a row has none")
            text = value if isinstance(value, str) else json.dumps(value)
            out.extend(
                {**rest, "part": i, PART_COLUMN: p} for i, p in enumerate(utf8_parts(text, PART_BYTES))
            )
        return out


# DuckDB keeps strings up to its 4 KiB string block inside the column's own blocks (buffer-managed, written once).
PART_BYTES = 4000
PART_COLUMN = "text_part"


def utf8_parts(text: str, limit: int) -> list[str]:
    """`text` cut into pieces of at most `limit` UTF-8 bytes, never inside a character; at least one piece."""
    data = text.encode()
    if len(data) <= limit:
        return [text]
    parts: list[str] = []
    start = 0
    while start < len(data):
        end = min(start + limit, len(data))
        while end < len(data) and (data[end] & 0xC0) == 0x80:  # a continuation byte: back to the character
            end -= 1
        parts.append(data[start:end].decode())
        start = end
    return parts


def registry(*groups: Iterable[Table]) -> dict[str, Table]:
    """name -> table over the domains' declarations, in order; a name declared twice is an error."""
    tables: dict[str, Table] = {}
    for table in (t for group in groups for t in group):
        if table.name in tables:
            raise ValueError(f"table {table.name} is declared twice")
        tables[table.name] = table
    return tables
