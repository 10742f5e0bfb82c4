"""Materialization metadata that makes the UI explain itself: column schemas, row counts, previews, timing."""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from typing import Any

import dagster as dg

from orchestration.defs.warehouse.duckdb_store import column_names
from orchestration.defs.warehouse.schema import TABLES


def _column_types(table: str) -> list[tuple[str, str, str]]:
    out = []
    for line in TABLES[table].splitlines():
        body, _, comment = line.partition("--")
        body = body.strip().rstrip(",")
        if not body:
            continue
        parts = body.split()
        out.append((parts[0], parts[1], comment.strip()))
    return out


def table_schema(*tables: str) -> dg.TableSchema:
    """The column schema of one raw table (or several, prefixed by table name when more than one)."""
    cols = []
    for table in tables:
        for name, type_, comment in _column_types(table):
            cols.append(
                dg.TableColumn(
                    name=name if len(tables) == 1 else f"{table}.{name}",
                    type=type_,
                    description=comment or None,
                )
            )
    return dg.TableSchema(columns=cols)


def column_schema_metadata(*tables: str) -> dict[str, Any]:
    return {"dagster/column_schema": table_schema(*tables), "tables": ", ".join(f"raw.{t}" for t in tables)}


def preview(table: str, rows: Sequence[dict[str, Any]], limit: int = 5, width: int = 60) -> dg.MetadataValue:
    """A small markdown table of the first rows, values cut short (no secrets ever reach these tables)."""
    cols = [c for c in column_names(table) if c not in {"body", "participants", "value_json", "parent_refs"}][
        :8
    ]
    if not rows:
        return dg.MetadataValue.md("_no rows_")

    def cell(v: Any) -> str:
        s = v if isinstance(v, str) else json.dumps(v, default=str)
        s = s.replace("|", "\\|").replace("\n", " ")
        return s if len(s) <= width else s[: width - 1] + "…"

    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    lines += ["| " + " | ".join(cell(r.get(c)) for c in cols) + " |" for r in rows[:limit]]
    return dg.MetadataValue.md("\n".join(lines))


class Stopwatch:
    def __init__(self) -> None:
        self.started = time.monotonic()

    @property
    def seconds(self) -> float:
        return round(time.monotonic() - self.started, 3)
