"""The table declarations are the one source: the database, the Arrow inserts, the Dagster column schema and the
key checks all agree with them (real DuckDB files, checks invoked directly)."""

import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pytest

from orchestration.defs.nebula.definitions import defs as nebula_defs
from orchestration.defs.symbl.checks import unique_key_checks
from orchestration.defs.symbl.signal_registry import STORED
from orchestration.defs.warehouse import duckdb_store, tables
from orchestration.defs.warehouse.metadata import table_schema
from orchestration.defs.warehouse.resource import WarehouseResource
from orchestration.defs.warehouse.schema import RAW_SCHEMA, TABLES
from orchestration.defs.warehouse.tables import Column, Table

# What a bulk insert hands DuckDB per SQL type (the Arrow conversion the writers rely on; JSON is inferred).
EXPECTED_ARROW = {
    "VARCHAR": pa.string(),
    "VARCHAR[]": pa.list_(pa.string()),
    "DATE": pa.date32(),
    "TIMESTAMPTZ": pa.timestamp("us", tz="UTC"),
    "DOUBLE": pa.float64(),
    "INTEGER": pa.int32(),
    "BIGINT": pa.int64(),
    "BOOLEAN": pa.bool_(),
}


def sample(column: Column, n: int = 0) -> Any:
    """A value of the column's type (``n`` varies it, so that rows differ on their keys)."""
    return {
        "VARCHAR": f"{column.name}-{n}",
        "VARCHAR[]": [f"a{n}", "b"],
        "DATE": date(2026, 4, 7),
        "TIMESTAMPTZ": datetime(2026, 4, 7, 14, 30, n, 123456, tzinfo=UTC),
        "DOUBLE": 1.5 + n,
        "INTEGER": 7 + n,
        "BIGINT": 2**40 + n,
        "BOOLEAN": n % 2 == 0,
        "JSON": json.dumps({"n": n, "name": column.name}),
    }[column.sql_type]


def sample_row(table: Table, n: int = 0) -> dict[str, Any]:
    return {c.name: sample(c, n) for c in table.columns}


@pytest.fixture
def con(tmp_path: Path) -> Any:
    with duckdb.connect(str(tmp_path / "live.duckdb")) as con:
        duckdb_store.ensure_schema(con)
        yield con


def test_a_fresh_file_has_exactly_the_declared_tables_columns_types_and_nullability(con: Any) -> None:
    found: dict[str, list[tuple[str, str, bool]]] = {}
    for table, column, data_type, nullable in con.execute(
        "SELECT table_name, column_name, data_type, is_nullable = 'YES' FROM information_schema.columns "
        "WHERE table_schema = ? ORDER BY table_name, ordinal_position",
        [RAW_SCHEMA],
    ).fetchall():
        found.setdefault(table, []).append((column, data_type, nullable))
    stored = {t.storage.name: t.storage for t in TABLES.values()}
    assert set(found) == set(TABLES) | set(stored)
    for name, table in {**TABLES, **stored}.items():
        # DuckDB's own spelling of each declared type (TIMESTAMPTZ reads back as TIMESTAMP WITH TIME ZONE).
        declared = [
            (c.name, con.execute(f"SELECT typeof(NULL::{c.sql_type})").fetchone()[0], c.nullable)
            for c in table.columns
        ]
        if table.stored_in_parts:  # a view: DuckDB reports every column of a view nullable
            declared = [(n, t, True) for n, t, _ in declared]
        assert found[name] == declared, name
    assert any(not c.nullable for t in TABLES.values() for c in t.columns)  # NOT NULL did reach the DDL


def test_an_older_file_gains_the_columns_declared_since_at_the_end_and_nullable(tmp_path: Path) -> None:
    table = TABLES["symbl_action_items"]
    *old, newest = table.columns
    with duckdb.connect(str(tmp_path / "old.duckdb")) as con:
        con.execute(f"CREATE SCHEMA {RAW_SCHEMA}")
        con.execute(Table(table.name, tuple(old)).create_statement(RAW_SCHEMA))
        con.execute(f"INSERT INTO {RAW_SCHEMA}.{table.name} BY NAME SELECT 'c' AS conversation_id, 'a' AS "
                    "action_item_id, DATE '2026-04-07' AS partition_date, 'call back' AS text")  # fmt: skip
        duckdb_store.ensure_schema(con)
        got = con.execute(
            "SELECT column_name, is_nullable FROM information_schema.columns WHERE table_schema = ? "
            "AND table_name = ? ORDER BY ordinal_position",
            [RAW_SCHEMA, table.name],
        ).fetchall()
        assert [c for c, _ in got] == list(table.column_names)
        assert got[-1] == (newest.name, "YES")
        assert con.execute(f"SELECT count(*) FROM {RAW_SCHEMA}.{table.name}").fetchone() == (1,)


@pytest.mark.parametrize("name", sorted(TABLES))
def test_every_table_takes_a_typed_arrow_insert_and_gives_the_values_back(con: Any, name: str) -> None:
    table = TABLES[name]
    rows = [sample_row(table, 0), sample_row(table, 1)]
    arrow = duckdb_store.arrow_rows(name, rows)
    assert arrow.column_names == list(table.column_names)
    for c in table.columns:
        if c.sql_type != "JSON":
            assert arrow.schema.field(c.name).type == EXPECTED_ARROW[c.sql_type], (name, c.name)
    assert duckdb_store.insert_rows(con, name, rows) == 2
    cur = con.execute(f"SELECT * FROM {RAW_SCHEMA}.{name}")
    got = [dict(zip([d[0] for d in cur.description], r, strict=True)) for r in cur.fetchall()]
    text = [c.name for c in table.columns if c.sql_type == "VARCHAR"]  # differ by row in both representations
    assert sorted(got, key=lambda r: [r[c] for c in text]) == rows


def test_a_row_of_nulls_is_typed_by_the_declaration_not_by_inference() -> None:
    # Arrow alone would type an all-None column as `null`; the declaration gives it its real type, whether the
    # rows carry every key, leave all but one out, or differ in their keys (converted column by column).
    for name, table in TABLES.items():
        every, one = dict.fromkeys(table.column_names), {table.columns[0].name: None}
        for rows in ([every], [one], [one, every]):
            arrow = duckdb_store.arrow_rows(name, rows)
            types = {c.name: EXPECTED_ARROW.get(c.sql_type, pa.null()) for c in table.columns}
            assert dict(zip(arrow.column_names, arrow.schema.types, strict=True)) == types, name


def test_the_dagster_column_schema_carries_type_doc_nullability_and_key() -> None:
    table = TABLES["recordings"]
    schema = table_schema("recordings")
    assert [(c.name, c.type, c.description, c.constraints.nullable) for c in schema.columns] == [
        (c.name, c.sql_type, c.doc or None, c.nullable) for c in table.columns
    ]
    media_kind = next(c for c in schema.columns if c.name == "media_kind")
    assert not media_kind.constraints.nullable and "transcript_file" in media_kind.description
    both = table_schema("symbl_analytics_members", "symbl_analytics_metrics")
    assert both.columns[0].name == "symbl_analytics_members.conversation_id"
    assert both.constraints.other == [
        "unique key of raw.symbl_analytics_members: (conversation_id, member_id)",
        "unique key of raw.symbl_analytics_metrics: (conversation_id, metric_type)",
    ]


def _checked_tables() -> dict[str, tuple[str, Any]]:
    """table -> (check name, check) over the unique-key checks, by the asset each check is on."""
    by_asset = {table: (table,) for s in STORED for table in s.tables}
    by_asset["nebula_summaries"] = ("nebula_summaries",)
    out = {}
    for check in [*unique_key_checks, *nebula_defs.asset_checks]:
        (key,) = check.check_keys
        for table in by_asset[key.asset_key.path[-1]]:
            out[table] = (key.name, check)
    return out


def test_every_declared_key_has_a_check_and_every_checked_table_a_key() -> None:
    keyed = {name for name, t in TABLES.items() if t.key}
    assert set(_checked_tables()) == keyed
    assert {"symbl_messages", "symbl_analytics_members", "symbl_tracker_hits"} <= keyed


def test_each_key_check_fails_on_a_duplicate_of_the_declared_key(tmp_path: Path) -> None:
    warehouse = WarehouseResource(path=str(tmp_path / "w.duckdb"), analyst_path=str(tmp_path / "a.duckdb"))
    checks = _checked_tables()
    with warehouse.connection() as con:
        for table in checks:
            duckdb_store.insert_rows(con, table, [sample_row(TABLES[table], 0), sample_row(TABLES[table], 1)])
    for name, check in checks.values():
        assert check(warehouse=warehouse).passed, name
    for table, (name, check) in checks.items():
        decl = TABLES[table]
        # Same key as row 0, every other column different: only the declared key makes it a duplicate.
        twin = {**sample_row(decl, 2), **{k: sample_row(decl, 0)[k] for k in decl.key}}
        with warehouse.connection() as con:
            duckdb_store.insert_rows(con, table, [twin])
        result = check(warehouse=warehouse)
        assert not result.passed, name
        assert result.metadata[f"duplicates.{table}"].value == 1, name


def test_a_declaration_that_could_not_be_checked_or_created_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown SQL type"):
        Column("x", "VARCHAR(10)")
    with pytest.raises(ValueError, match="not an identifier"):
        Column("x; DROP TABLE y", tables.VARCHAR)
    a = Column("a", tables.VARCHAR, nullable=False)
    with pytest.raises(ValueError, match="declared twice"):
        Table("t", (a, a))
    with pytest.raises(ValueError, match="NOT NULL"):
        Table("t", (a, Column("b", tables.VARCHAR)), key=("a", "b"))
    with pytest.raises(ValueError, match="NOT NULL"):
        Table("t", (a,), key=("missing",))
    with pytest.raises(ValueError, match="table t is declared twice"):
        tables.registry([Table("t", (a,))], [Table("t", (a,))])


def test_a_long_answer_is_stored_in_parts_of_at_most_part_bytes_and_reads_back_exactly(con: Any) -> None:
    table = TABLES["symbl_responses"]
    assert table.stored_in_parts == "body"
    # Multi-byte characters straddle every part boundary; hostile text (quotes, NUL, newlines) stays verbatim.
    body = json.dumps(
        {"messages": [{"text": f"é€😀 'x' \\ \n {i}" * 40} for i in range(200)]}, ensure_ascii=False
    )
    small = json.dumps({"topics": []})
    rows = [
        {**sample_row(table, 0), "body": body},
        {**sample_row(table, 1), "body": small},
    ]
    assert duckdb_store.insert_rows(con, "symbl_responses", rows) == 2
    sizes = con.execute(
        f"SELECT endpoint, count(*), max(octet_length(encode(text_part))) FROM {RAW_SCHEMA}.symbl_responses_parts "
        "GROUP BY endpoint ORDER BY endpoint"
    ).fetchall()
    assert sizes[0][1] >= -(-len(body.encode()) // tables.PART_BYTES) > 1
    assert all(biggest <= tables.PART_BYTES for _, _, biggest in sizes)
    assert sizes[1][1] == 1
    got = dict(con.execute(f"SELECT endpoint, body FROM {RAW_SCHEMA}.symbl_responses").fetchall())
    assert got == {rows[0]["endpoint"]: body, rows[1]["endpoint"]: small}


def test_the_parts_of_a_cut_text_are_whole_characters_and_join_to_it() -> None:
    text = "aé€😀" * 3000
    parts = tables.utf8_parts(text, 4000)
    assert "".join(parts) == text and len(parts) > 1
    assert all(len(p.encode()) <= 4000 for p in parts)
    assert tables.utf8_parts("", 4000) == [""]


def test_an_older_file_with_answers_in_one_table_has_them_moved_into_parts(tmp_path: Path) -> None:
    table = TABLES["symbl_responses"]
    old = Table(table.name, table.columns)  # the one-table layout of before
    body = json.dumps({"messages": ["ü" * 9000]})
    with duckdb.connect(str(tmp_path / "old.duckdb")) as con:
        con.execute(f"CREATE SCHEMA {RAW_SCHEMA}")
        con.execute(old.create_statement(RAW_SCHEMA))
        for n in range(3):
            row = {**sample_row(table, n), "body": body if n == 0 else sample(table.columns[-1], n)}
            con.execute(
                f"INSERT INTO {RAW_SCHEMA}.{table.name} VALUES (?, ?, ?, ?, ?)",
                [row[c] for c in table.column_names],
            )
        before = con.execute(f"SELECT * FROM {RAW_SCHEMA}.{table.name} ORDER BY endpoint").fetchall()
        duckdb_store.ensure_schema(con)
        kinds = dict(
            con.execute(
                "SELECT table_name, table_type FROM information_schema.tables WHERE table_schema = ? "
                "AND table_name LIKE 'symbl_responses%'",
                [RAW_SCHEMA],
            ).fetchall()
        )
        assert kinds == {"symbl_responses": "VIEW", "symbl_responses_parts": "BASE TABLE"}
        assert con.execute(f"SELECT * FROM {RAW_SCHEMA}.{table.name} ORDER BY endpoint").fetchall() == before
        assert con.execute(f"SELECT count(*) FROM {RAW_SCHEMA}.symbl_responses_parts").fetchone()[0] > 3


def test_the_pipeline_writes_row_groups_of_at_most_row_group_size_rows(tmp_path: Path) -> None:
    warehouse = WarehouseResource(path=str(tmp_path / "live.duckdb"))
    table = TABLES["symbl_responses"]
    rows = [{**sample_row(table, n % 50), "body": json.dumps({"text": "x" * 100})} for n in range(5000)]
    with warehouse.writer() as writer:
        writer.insert("symbl_responses", rows)
    with duckdb.connect(warehouse.path, read_only=True) as con:
        groups = con.execute(
            "SELECT row_group_id, sum(count) FROM pragma_storage_info('raw.symbl_responses_parts') "
            "WHERE column_name = 'text_part' AND column_path = '[5]' GROUP BY row_group_id"
        ).fetchall()
    assert max(n for _, n in groups) == duckdb_store.ROW_GROUP_SIZE  # DuckDB's default would be one group
    assert sum(n for _, n in groups) == 5000


def test_deleting_answers_counts_whole_answers_not_parts(tmp_path: Path) -> None:
    warehouse = WarehouseResource(path=str(tmp_path / "live.duckdb"))
    table = TABLES["symbl_responses"]
    rows = [{**sample_row(table, n), "body": json.dumps({"text": "y" * 20_000})} for n in range(3)]
    with warehouse.writer() as writer:
        writer.insert("symbl_responses", rows)
    with warehouse.writer() as writer:
        assert writer.delete("symbl_responses", "endpoint <> ?", [rows[0]["endpoint"]]) == 2
    assert [r["endpoint"] for r in warehouse.query("SELECT endpoint FROM raw.symbl_responses")] == [
        rows[0]["endpoint"]
    ]
