"""Schema set-up: a complete file is left alone (one catalog query), anything missing is made again."""

from pathlib import Path

import duckdb
import pyarrow as pa
import pytest

from orchestration.defs.warehouse import duckdb_store


def test_set_up_once_then_skipped_and_redone_when_the_file_is_replaced_or_altered(tmp_path: Path) -> None:
    path = tmp_path / "live.duckdb"
    with duckdb.connect(str(path)) as con:
        assert not duckdb_store._schema_complete(con)
        duckdb_store.ensure_schema(con)
        assert duckdb_store._schema_complete(con)
        con.execute("ALTER TABLE raw.symbl_messages DROP COLUMN word_count")
        duckdb_store.ensure_schema(con)  # an older file: the column comes back
        assert "word_count" in [r[0] for r in con.execute("DESCRIBE raw.symbl_messages").fetchall()]
    path.unlink()
    with duckdb.connect(str(path)) as con:  # a new file at the same path is set up again
        duckdb_store.ensure_schema(con)
        assert duckdb_store._schema_complete(con)


def test_rows_land_typed_and_odd_values_still_land(tmp_path: Path) -> None:
    with duckdb.connect(str(tmp_path / "live.duckdb")) as con:
        duckdb_store.ensure_schema(con)
        rows = [
            {"conversation_id": "c1", "message_id": "m1", "partition_date": "2026-04-07", "text": "hi",
             "start_time": "2026-04-07T14:00:00Z", "word_count": 1},
            {"conversation_id": "c1", "message_id": "m2", "partition_date": "2026-04-07", "text": "yo",
             "start_time": None, "word_count": None},
        ]  # fmt: skip
        assert duckdb_store.insert_rows(con, "symbl_messages", rows) == 2
        got = con.execute(
            "SELECT message_id, CAST(partition_date AS VARCHAR), start_time IS NULL, word_count "
            "FROM raw.symbl_messages ORDER BY 1"
        ).fetchall()
        assert got == [("m1", "2026-04-07", False, 1), ("m2", "2026-04-07", True, None)]
        assert duckdb_store.arrow_rows("symbl_messages", rows).schema.field("word_count").type == pa.int32()
        with pytest.raises(ValueError, match="unknown columns: \\['nope'\\]"):
            duckdb_store.insert_rows(con, "symbl_messages", [{**rows[0], "nope": 1}])


def test_a_key_only_later_rows_carry_is_not_lost(tmp_path: Path) -> None:
    # Arrow's converter takes its columns from the first row: a sentiment only the second message has must land.
    rows = [
        {"conversation_id": "c1", "message_id": "m1", "partition_date": "2026-04-07", "text": "hi"},
        {"conversation_id": "c1", "message_id": "m2", "partition_date": "2026-04-07", "text": "yo",
         "sentiment_score": -0.5},
    ]  # fmt: skip
    table = duckdb_store.arrow_rows("symbl_messages", rows)
    assert table.column("sentiment_score").to_pylist() == [None, -0.5]
    assert table.schema.field("sentiment_score").type == pa.float64()
